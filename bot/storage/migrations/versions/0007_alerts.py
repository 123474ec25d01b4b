"""Alerts from Alertmanager: groups, the firings of their alerts, storms; when an incident's impact began

Revision ID: 0007
Revises: 0006
"""
import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

AT = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "alert_storms",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("started_at", AT, nullable=False, index=True),
        sa.Column("channel", sa.String(), nullable=False),
        sa.Column("ts", sa.String(), nullable=True),
    )
    op.create_table(
        "alert_groups",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("key_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("group_key", sa.String(), nullable=False),
        sa.Column("labels", sa.JSON(), nullable=False),
        sa.Column("incident_id", sa.Integer(), sa.ForeignKey("incidents.id"), nullable=True, index=True),
        sa.Column("opened_incident", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("truncated", sa.Integer(), nullable=False),
        sa.Column("ask_channel", sa.String(), nullable=True),
        sa.Column("ask_ts", sa.String(), nullable=True),
        sa.Column("room_ts", sa.String(), nullable=True),
        sa.Column("silence_id", sa.String(), nullable=True),
        sa.Column("silenced_until", AT, nullable=True),
        sa.Column("silenced_by", sa.String(), nullable=True),
        sa.Column("acknowledged_by", sa.String(), nullable=True),
        sa.Column("acted_at", AT, nullable=True),
        sa.Column("storm_id", sa.Integer(), sa.ForeignKey("alert_storms.id"), nullable=True, index=True),
        sa.Column("created_at", AT, nullable=False),
        sa.Column("updated_at", AT, nullable=False),
    )
    op.create_table(
        "alerts",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("group_id", sa.Integer(), sa.ForeignKey("alert_groups.id"), nullable=False, index=True),
        sa.Column("fingerprint", sa.String(64), nullable=False),
        sa.Column("starts_at", AT, nullable=False),
        sa.Column("ends_at", AT, nullable=True),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("alertname", sa.String(200), nullable=False, index=True),
        sa.Column("labels", sa.JSON(), nullable=False),
        sa.Column("annotations", sa.JSON(), nullable=False),
        sa.Column("generator_url", sa.String(), nullable=False),
        sa.Column("received_at", AT, nullable=False),
        sa.UniqueConstraint("group_id", "fingerprint", "starts_at", name="uq_alerts_firing"),
    )
    with op.batch_alter_table("incidents") as batch:
        batch.add_column(sa.Column("impact_started_at", AT, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("incidents") as batch:
        batch.drop_column("impact_started_at")
    op.drop_table("alerts")
    op.drop_table("alert_groups")
    op.drop_table("alert_storms")
