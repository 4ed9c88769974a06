"""The store contract's fixtures (`store`: one test run per kind of store) for core modules
that keep their state in the store."""

from tests.store.conftest import mongo_store_uri, operations, store, store_uri  # noqa: F401
