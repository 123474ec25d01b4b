"""SLA: maintenance announced from Slack, breach notices given once, incidents whose post-mortem an SLA breach
made mandatory

Revision ID: 0008
Revises: 0007
"""
import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

AT = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "sla_maintenance",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("service", sa.String(80), nullable=False),
        sa.Column("start_at", AT, nullable=False),
        sa.Column("end_at", AT, nullable=False),
        sa.Column("announced_at", AT, nullable=False),
        sa.Column("announced_by", sa.String(), nullable=False),
        sa.Column("request_key", sa.String(200), nullable=False, unique=True),
    )
    op.create_table(
        "sla_notices",
        sa.Column("key", sa.String(200), primary_key=True),
        sa.Column("at", AT, nullable=False),
    )
    with op.batch_alter_table("incidents") as batch:
        batch.add_column(sa.Column("postmortem_mandatory", sa.Boolean(), nullable=False, server_default=sa.false()))


def downgrade() -> None:
    with op.batch_alter_table("incidents") as batch:
        batch.drop_column("postmortem_mandatory")
    op.drop_table("sla_notices")
    op.drop_table("sla_maintenance")
