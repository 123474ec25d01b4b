"""Alembic environment: run by bot.storage.database.upgrade with a live connection."""

from alembic import context

from bot.storage.tables import SQLModel

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=SQLModel.metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
