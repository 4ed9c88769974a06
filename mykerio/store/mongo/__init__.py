"""The MongoDB adapter of the store: `pymongo.AsyncMongoClient`, no transactions needed."""

from mykerio.store.mongo.store import MongoStore, open_mongo_store

__all__ = ["MongoStore", "open_mongo_store"]
