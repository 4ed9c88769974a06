"""Password hashing off the event loop: Argon2id runs in an executor, never on the loop."""

from __future__ import annotations

import asyncio
from concurrent.futures import Executor

from mykerio.security.passwords import PasswordHasher


class AsyncPasswords:
    """Awaitable wrappers around `PasswordHasher`; each hash runs in `executor`."""

    def __init__(self, hasher: PasswordHasher, executor: Executor | None = None) -> None:
        self._hasher = hasher
        self._executor = executor

    async def hash(self, password: str) -> str:
        """An Argon2id hash of `password`."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, self._hasher.hash, password)

    async def verify(self, password_hash: str, password: str) -> bool:
        """Whether `password` matches `password_hash` (compared in full, no truncation)."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(
            self._executor, self._hasher.verify, password_hash, password
        )

    async def dummy_verify(self, password: str) -> None:
        """Spend the time a real verification takes (for unknown accounts)."""
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(self._executor, self._hasher.dummy_verify, password)

    def needs_rehash(self, password_hash: str) -> bool:
        """Whether the hash was made with weaker parameters than today's."""
        return self._hasher.needs_rehash(password_hash)
