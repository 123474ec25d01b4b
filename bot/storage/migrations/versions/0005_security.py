"""Security: post-mortem versions (a published one is never replaced), why a command run was refused, and
which process ran a command (so that a restart can tell an interrupted run); same-title declarations are
recognised by a key of the whole title, no longer by its slug

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
    with op.batch_alter_table("incidents") as batch:
        batch.drop_index("ix_incidents_title_slug")
        batch.alter_column("title_slug", new_column_name="title_key")
    op.create_index("ix_incidents_title_key", "incidents", ["title_key"])
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
    op.drop_index("ix_incidents_title_key", "incidents")
    with op.batch_alter_table("incidents") as batch:
        batch.alter_column("title_key", new_column_name="title_slug")
    op.create_index("ix_incidents_title_slug", "incidents", ["title_slug"])
