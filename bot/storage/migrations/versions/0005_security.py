"""Security: post-mortem versions (a published one is never replaced), why a command run was refused, and
which process ran a command (so that a restart can tell an interrupted run)

Revision ID: 0005
Revises: 0004
"""
import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("postmortems") as batch:
        batch.add_column(sa.Column("version", sa.Integer(), nullable=False, server_default="1"))
    with op.batch_alter_table("command_executions") as batch:
        batch.add_column(sa.Column("reason", sa.String(), nullable=True))
        batch.add_column(sa.Column("runner", sa.String(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("command_executions") as batch:
        batch.drop_column("runner")
        batch.drop_column("reason")
    with op.batch_alter_table("postmortems") as batch:
        batch.drop_column("version")
