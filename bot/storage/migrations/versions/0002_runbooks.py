"""runbook runs with their progress, and the command execution audit log

Revision ID: 0002
Revises: 0001
"""
import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

AT = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "runbook_runs",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("incident_id", sa.Integer(), sa.ForeignKey("incidents.id"), nullable=False, index=True),
        sa.Column("runbook_id", sa.String(), nullable=False),
        sa.Column("snapshot", sa.JSON(), nullable=False),
        sa.Column("started_by", sa.String(), nullable=False),
        sa.Column("started_at", AT, nullable=False),
        sa.Column("finished_at", AT, nullable=True),
        sa.Column("header_ts", sa.String(), nullable=True),
        sa.Column("summary_ts", sa.String(), nullable=True),
        sa.Column("progress", sa.JSON(), nullable=False),
    )
    op.create_table(
        "command_executions",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("run_id", sa.Integer(), sa.ForeignKey("runbook_runs.id"), nullable=False, index=True),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("command_id", sa.String(), nullable=False),
        sa.Column("argv", sa.JSON(), nullable=False),
        sa.Column("category", sa.String(), nullable=False),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("requested_by", sa.String(), nullable=False),
        sa.Column("approved_by", sa.String(), nullable=True),
        sa.Column("requested_at", AT, nullable=False),
        sa.Column("started_at", AT, nullable=True),
        sa.Column("finished_at", AT, nullable=True),
        sa.Column("exit_code", sa.Integer(), nullable=True),
        sa.Column("output", sa.String(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("command_executions")
    op.drop_table("runbook_runs")
