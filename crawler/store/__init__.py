"""The store: records, the database and its Alembic migrations, key binding, tokens, deliveries,
leases. All database access goes through :class:`crawler.store.database.Store`."""
