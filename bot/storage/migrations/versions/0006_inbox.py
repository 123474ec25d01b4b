"""The inbox: Slack envelopes are committed before they are acknowledged; the last resolved incidents are
found by an index

Revision ID: 0006
Revises: 0005
"""
import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

AT = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "inbox",
        sa.Column("envelope_id", sa.String(100), primary_key=True),
        sa.Column("type", sa.String(), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("retry_attempt", sa.Integer(), nullable=False),
        sa.Column("retry_reason", sa.String(), nullable=False),
        sa.Column("received_at", AT, nullable=False),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("due_at", AT, nullable=False),
        sa.Column("lease_until", AT, nullable=True),
        sa.Column("lease_owner", sa.String(), nullable=True),
        sa.Column("last_error", sa.String(), nullable=True),
    )
    op.create_index("ix_inbox_due", "inbox", ["status", "due_at"])
    op.create_index("ix_incidents_resolved", "incidents", ["status", "resolved_at"])


def downgrade() -> None:
    op.drop_index("ix_incidents_resolved", "incidents")
    op.drop_index("ix_inbox_due", "inbox")
    op.drop_table("inbox")
