"""Automated remediation: the audit of every alert firing a policy answered, and the pause switch

Revision ID: 0009
Revises: 0008
"""
import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

AT = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "remediation_runs",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("policy", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("reason", sa.String(), nullable=False),
        sa.Column("fingerprint", sa.String(200), nullable=False),
        sa.Column("starts_at", AT, nullable=False),
        sa.Column("labels", sa.JSON(), nullable=False),
        sa.Column("target", sa.String(300), nullable=False),
        sa.Column("group_id", sa.Integer(), sa.ForeignKey("alert_groups.id"), nullable=True),
        sa.Column("incident_id", sa.Integer(), sa.ForeignKey("incidents.id"), nullable=True, index=True),
        sa.Column("covered_by", sa.Integer(), nullable=True, index=True),
        sa.Column("request", sa.JSON(), nullable=False),
        sa.Column("exit_code", sa.Integer(), nullable=True),
        sa.Column("http_status", sa.Integer(), nullable=True),
        sa.Column("output", sa.String(), nullable=False),
        sa.Column("decided_at", AT, nullable=False),
        sa.Column("started_at", AT, nullable=True),
        sa.Column("finished_at", AT, nullable=True),
        sa.Column("runner", sa.String(), nullable=True),
        sa.Column("verify_at", AT, nullable=True),
        sa.Column("watch_until", AT, nullable=True, index=True),
        sa.Column("verification", sa.String(), nullable=True),
        sa.Column("escalated_at", AT, nullable=True),
        sa.Column("escalation", sa.String(), nullable=False),
        sa.UniqueConstraint("policy", "fingerprint", "starts_at", name="uq_remediation_firing"),
    )
    op.create_index("ix_remediation_policy_decided", "remediation_runs", ["policy", "decided_at"])
    op.create_table(
        "remediation_switches",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("at", AT, nullable=False),
        sa.Column("actor", sa.String(), nullable=False),
        sa.Column("paused", sa.Boolean(), nullable=False),
        sa.Column("why", sa.String(), nullable=False),
        sa.Column("request_key", sa.String(200), nullable=False, unique=True),
    )


def downgrade() -> None:
    op.drop_table("remediation_switches")
    op.drop_index("ix_remediation_policy_decided", "remediation_runs")
    op.drop_table("remediation_runs")
