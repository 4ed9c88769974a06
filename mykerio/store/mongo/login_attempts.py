"""MongoDB repository of logins waiting for their second factor.

An attempt is its `login_attempts` document, whose `guesses` is the count it was added with,
plus one `login_guesses` document per later guess, numbered from there on. A unique index on
(attempt, number) makes counting atomic without transactions or server-side increments: a
guess inserts the next free number, and of concurrent inserts of one number only one succeeds.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime

from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import DuplicateKeyError

from mykerio.errors import NotFound
from mykerio.models import LoginAttempt
from mykerio.store.base import OperationObserver
from mykerio.store.codecs import LOGIN_ATTEMPTS
from mykerio.store.mongo.indexes import Document, duplicates_conflict
from mykerio.store.observed import observed
from mykerio.store.values import to_utc_millis


class MongoLoginAttempts:
    """`LoginAttemptRepository` on `login_attempts` (`_id` is the id's hash) and
    `login_guesses`.
    """

    domain = "login_attempts"

    def __init__(
        self,
        attempts: AsyncCollection[Document],
        guesses: AsyncCollection[Document],
        on_operation: OperationObserver | None,
    ) -> None:
        self._attempts = attempts
        self._guesses = guesses
        self.on_operation = on_operation

    @observed
    async def add(self, attempt: LoginAttempt) -> LoginAttempt:
        """Store a new attempt and return it as stored; `Conflict` if the hash is taken."""
        document = LOGIN_ATTEMPTS.mongo.encode(attempt)
        with duplicates_conflict("a login attempt with this id"):
            await self._attempts.insert_one(document)
        return LOGIN_ATTEMPTS.mongo.decode(document)

    @observed
    async def get(self, id_hash: str) -> LoginAttempt | None:
        """The attempt with this id hash, or `None`."""
        document = await self._attempts.find_one({"_id": id_hash})
        if document is None:
            return None
        attempt = LOGIN_ATTEMPTS.mongo.decode(document)
        # The document keeps the count the attempt started with; each later guess is its own.
        later = await self._guesses.count_documents({"attempt": id_hash})
        return dataclasses.replace(attempt, guesses=attempt.guesses + later)

    @observed
    async def add_guess(self, id_hash: str) -> int:
        """Atomically count one more guess and return the new count; `NotFound` if gone.

        Numbers are taken in order and never given back, so the documents are always numbered
        without gaps and their count plus the starting count is the next number to try.
        """
        document = await self._attempts.find_one({"_id": id_hash})
        if document is None:
            raise NotFound("login attempt")
        number = document["guesses"] + await self._guesses.count_documents({"attempt": id_hash})
        while True:
            number += 1
            try:
                await self._guesses.insert_one(
                    # `created_at` lets `delete_older_than` find guesses that outlived a delete.
                    {"attempt": id_hash, "number": number, "created_at": document["created_at"]}
                )
            except DuplicateKeyError:
                continue
            return int(number)

    @observed
    async def set_sms_code(self, id_hash: str, code_hash: str, expires_at: datetime) -> None:
        """Bind an SMS code valid until `expires_at` to the attempt; `NotFound` if gone."""
        changes = {"sms_code_hash": code_hash, "sms_expires_at": to_utc_millis(expires_at)}
        result = await self._attempts.update_one({"_id": id_hash}, {"$set": changes})
        if not result.matched_count:
            raise NotFound("login attempt")

    @observed
    async def delete(self, id_hash: str) -> bool:
        """Delete the attempt and its guesses; `True` if it existed."""
        deleted = await self._attempts.delete_one({"_id": id_hash})
        await self._guesses.delete_many({"attempt": id_hash})
        return deleted.deleted_count > 0

    @observed
    async def delete_older_than(self, at: datetime) -> int:
        """Delete the attempts created before `at`, with their guesses; return how many."""
        query = {"created_at": {"$lt": to_utc_millis(at)}}
        deleted = await self._attempts.delete_many(query)
        await self._guesses.delete_many(query)
        return deleted.deleted_count
