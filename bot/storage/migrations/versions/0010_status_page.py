"""The status page: incidents as customers see them, and their public updates

Revision ID: 0010
Revises: 0009
"""
import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

AT = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "public_incidents",
        sa.Column("incident_id", sa.Integer(), sa.ForeignKey("incidents.id"), primary_key=True),
        sa.Column("title", sa.String(), nullable=False),
        sa.Column("impact", sa.String(), nullable=False),
        sa.Column("components", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("published_at", AT, nullable=False, index=True),
        sa.Column("resolved_at", AT, nullable=True, index=True),
        sa.Column("last_update_at", AT, nullable=True),
        sa.Column("changed_at", AT, nullable=False),
        sa.Column("statuspage_id", sa.String(), nullable=True),
    )
    op.create_table(
        "public_updates",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("incident_id", sa.Integer(), sa.ForeignKey("incidents.id"), nullable=False, index=True),
        sa.Column("at", AT, nullable=False),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("text", sa.String(), nullable=False),
        sa.Column("actor", sa.String(), nullable=False),
        sa.Column("request_key", sa.String(200), nullable=True, unique=True),
    )


def downgrade() -> None:
    op.drop_table("public_updates")
    op.drop_table("public_incidents")
