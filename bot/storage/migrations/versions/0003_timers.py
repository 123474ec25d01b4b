"""timers for reminders and nudges; when an incident last had a status update; post-mortems; action items

Revision ID: 0003
Revises: 0002
"""
import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

AT = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "timers",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("key", sa.String(200), nullable=False, unique=True),
        sa.Column("incident_id", sa.Integer(), sa.ForeignKey("incidents.id"), nullable=True, index=True),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("due_at", AT, nullable=False),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("lease_until", AT, nullable=True),
        sa.Column("lease_owner", sa.String(), nullable=True),
        sa.Column("fired", sa.Integer(), nullable=False),
    )
    op.create_index("ix_timers_due", "timers", ["status", "due_at"])
    with op.batch_alter_table("incidents") as batch:
        batch.add_column(sa.Column("last_update_at", AT, nullable=True))
    op.create_table(
        "postmortems",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("incident_id", sa.Integer(), sa.ForeignKey("incidents.id"), nullable=False, unique=True),
        sa.Column("state", sa.String(), nullable=False),
        sa.Column("content", sa.String(), nullable=False),
        sa.Column("flags", sa.JSON(), nullable=False),
        sa.Column("canvas_id", sa.String(), nullable=True),
        sa.Column("file_id", sa.String(), nullable=True),
        sa.Column("due_at", AT, nullable=True),
        sa.Column("created_at", AT, nullable=False),
        sa.Column("updated_at", AT, nullable=False),
    )
    op.create_table(
        "action_items",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("incident_id", sa.Integer(), sa.ForeignKey("incidents.id"), nullable=False, index=True),
        sa.Column("text", sa.String(), nullable=False),
        sa.Column("owner", sa.String(), nullable=True, index=True),
        sa.Column("due", sa.Date(), nullable=True),
        sa.Column("priority", sa.String(), nullable=False),
        sa.Column("created_by", sa.String(), nullable=False),
        sa.Column("created_at", AT, nullable=False),
        sa.Column("done_by", sa.String(), nullable=True),
        sa.Column("done_at", AT, nullable=True),
    )


def downgrade() -> None:
    op.drop_table("action_items")
    op.drop_table("postmortems")
    with op.batch_alter_table("incidents") as batch:
        batch.drop_column("last_update_at")
    op.drop_index("ix_timers_due", table_name="timers")
    op.drop_table("timers")
