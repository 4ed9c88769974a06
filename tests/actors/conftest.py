"""Fixtures of the actor tests: an embedded (SQLite) store in the test's temporary directory."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from mykerio.store import Store, open_store


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    """A fresh SQLite store, closed after the test."""
    opened = await open_store("", tmp_path)
    try:
        yield opened
    finally:
        await opened.close()
