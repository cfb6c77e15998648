"""Shared test helpers: where Azure's recorded fixtures live, and skipping when they are absent."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
FIXTURES = (REPO.parent / "shared" / "fixtures").resolve()


@pytest.fixture
def fixtures() -> Path:
    """The recorded Azure data; skips the test with the reason when it is not checked out."""
    if not FIXTURES.is_dir():
        pytest.skip(f"recorded Azure fixtures not found at {FIXTURES} (../shared/fixtures)")
    return FIXTURES
