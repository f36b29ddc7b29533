"""Alembic environment of the node's database (run through adapters.store.migrate)."""
