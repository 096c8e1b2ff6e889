from alembic import context

from alerts.schema import metadata

connection = context.config.attributes["connection"]
# render_as_batch lets later migrations alter tables on SQLite, which has no ALTER COLUMN.
context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
