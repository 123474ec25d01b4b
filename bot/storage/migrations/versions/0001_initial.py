"""incidents, timeline, outbox, processed requests

Revision ID: 0001
Revises:
"""
import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

AT = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "incidents",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("title", sa.String(), nullable=False),
        sa.Column("title_slug", sa.String(), nullable=False, index=True),
        sa.Column("severity", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(), nullable=False, index=True),
        sa.Column("description", sa.String(), nullable=False),
        sa.Column("service", sa.String(), nullable=False),
        sa.Column("declared_by", sa.String(), nullable=False),
        sa.Column("declared_at", AT, nullable=False),
        sa.Column("commander", sa.String(), nullable=True),
        sa.Column("communicator", sa.String(), nullable=True),
        sa.Column("responders", sa.JSON(), nullable=False),
        sa.Column("paged", sa.JSON(), nullable=False),
        sa.Column("acknowledged_at", AT, nullable=True),
        sa.Column("identified_at", AT, nullable=True),
        sa.Column("mitigated_at", AT, nullable=True),
        sa.Column("resolved_at", AT, nullable=True),
        sa.Column("summary", sa.String(), nullable=False),
        sa.Column("channel_name", sa.String(80), nullable=False, unique=True),
        sa.Column("channel_id", sa.String(), nullable=True, index=True),
        sa.Column("card_ts", sa.String(), nullable=True),
        sa.Column("announce_ts", sa.String(), nullable=True),
        sa.Column("is_drill", sa.Boolean(), nullable=False),
        sa.Column("request_key", sa.String(200), nullable=True, unique=True),
    )
    op.create_table(
        "timeline",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("incident_id", sa.Integer(), sa.ForeignKey("incidents.id"), nullable=False, index=True),
        sa.Column("at", AT, nullable=False),
        sa.Column("actor", sa.String(), nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("text", sa.String(), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("dedup_key", sa.String(200), nullable=True, unique=True),
    )
    op.create_table(
        "outbox",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("incident_id", sa.Integer(), sa.ForeignKey("incidents.id"), nullable=True, index=True),
        sa.Column("wave", sa.Integer(), nullable=False),
        sa.Column("target", sa.String(), nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("due_at", AT, nullable=False),
        sa.Column("lease_until", AT, nullable=True),
        sa.Column("lease_owner", sa.String(), nullable=True),
        sa.Column("last_error", sa.String(), nullable=True),
        sa.Column("created_at", AT, nullable=False),
        sa.Column("done_at", AT, nullable=True),
    )
    op.create_index("ix_outbox_ready", "outbox", ["status", "due_at"])
    op.create_table(
        "processed_requests",
        sa.Column("key", sa.String(200), primary_key=True),
        sa.Column("at", AT, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("processed_requests")
    op.drop_index("ix_outbox_ready", table_name="outbox")
    op.drop_table("outbox")
    op.drop_table("timeline")
    op.drop_table("incidents")
