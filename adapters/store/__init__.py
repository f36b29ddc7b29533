"""SQLAlchemy storage: SQLite by default (WAL), PostgreSQL by URL."""
