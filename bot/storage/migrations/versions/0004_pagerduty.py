"""PagerDuty mirror: the PagerDuty incident of each incident, who acknowledged the page; outbox lanes

Revision ID: 0004
Revises: 0003
"""
import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("incidents") as batch:
        batch.add_column(sa.Column("acknowledged_by", sa.String(), nullable=True))
        batch.add_column(sa.Column("pagerduty_id", sa.String(), nullable=True))
        batch.add_column(sa.Column("pagerduty_url", sa.String(), nullable=True))
        batch.add_column(sa.Column("pagerduty_state", sa.String(), nullable=False, server_default=""))
        batch.create_index("ix_incidents_pagerduty_id", ["pagerduty_id"])
    with op.batch_alter_table("outbox") as batch:
        batch.add_column(sa.Column("lane", sa.String(), nullable=False, server_default="main"))


def downgrade() -> None:
    with op.batch_alter_table("outbox") as batch:
        batch.drop_column("lane")
    with op.batch_alter_table("incidents") as batch:
        batch.drop_index("ix_incidents_pagerduty_id")
        for column in ("pagerduty_state", "pagerduty_url", "pagerduty_id", "acknowledged_by"):
            batch.drop_column(column)
