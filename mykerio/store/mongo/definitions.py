"""MongoDB repository of the organizations' shared definitions (`definition_versions`)."""

from __future__ import annotations

from pymongo import DESCENDING
from pymongo.asynchronous.collection import AsyncCollection

from mykerio.models import DefinitionVersion, definition_version_id
from mykerio.store.base import OperationObserver
from mykerio.store.codecs import DEFINITION_VERSIONS
from mykerio.store.mongo.indexes import Document, duplicates_conflict
from mykerio.store.observed import observed
from mykerio.store.values import require_positive


class MongoDefinitions:
    """`DefinitionRepository` on the `definition_versions` collection.

    The `_id` holds (org, kind, version): of two inserts of one version only one succeeds,
    which is atomic on FerretDB too (no transactions needed). The trim after an insert removes
    versions older than the newest `keep`; concurrent trims only ever remove old ones.
    """

    domain = "definitions"

    def __init__(
        self, collection: AsyncCollection[Document], on_operation: OperationObserver | None
    ) -> None:
        self._collection = collection
        self.on_operation = on_operation

    @observed
    async def add(self, version: DefinitionVersion, keep: int) -> None:
        """Store a new version, then keep the `keep` newest; `Conflict` if it exists."""
        require_positive("keep", keep)
        assert version.id == definition_version_id(version.org_id, version.kind, version.version)
        with duplicates_conflict(f"version {version.version} of {version.kind}"):
            await self._collection.insert_one(DEFINITION_VERSIONS.mongo.encode(version))
        await self._collection.delete_many(
            {
                "org_id": version.org_id,
                "kind": version.kind,
                "version": {"$lte": version.version - keep},
            }
        )

    @observed
    async def current(self, org_id: str, kind: str) -> DefinitionVersion | None:
        """The newest version of that kind, or None."""
        found = await self._newest(org_id, kind, 1)
        return found[0] if found else None

    @observed
    async def version(self, org_id: str, kind: str, version: int) -> DefinitionVersion | None:
        """One version, or None."""
        document = await self._collection.find_one(
            {"_id": definition_version_id(org_id, kind, version)}
        )
        return None if document is None else DEFINITION_VERSIONS.mongo.decode(document)

    @observed
    async def history(self, org_id: str, kind: str, limit: int) -> list[DefinitionVersion]:
        """At most `limit` versions, newest first."""
        require_positive("limit", limit)
        return await self._newest(org_id, kind, limit)

    @observed
    async def delete_organization(self, org_id: str) -> int:
        """Delete every version of the organization."""
        result = await self._collection.delete_many({"org_id": org_id})
        return result.deleted_count

    async def _newest(self, org_id: str, kind: str, limit: int) -> list[DefinitionVersion]:
        found = (
            self._collection.find({"org_id": org_id, "kind": kind})
            .sort([("version", DESCENDING)])
            .limit(limit)
        )
        return [DEFINITION_VERSIONS.mongo.decode(document) async for document in found]
