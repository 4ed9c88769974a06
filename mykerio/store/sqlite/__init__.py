"""The SQLite adapter of the store: stdlib `sqlite3` on one worker thread, WAL, migrations."""

from mykerio.store.sqlite.store import SqliteStore, open_sqlite_store

__all__ = ["SqliteStore", "open_sqlite_store"]
