"""Shared fixtures for iatk's own tests: one embedded moto server per test process."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

DATA = Path(__file__).parent / "data"


@pytest.fixture(scope="session")
def embedded() -> Iterator[object]:
    """An embedded backend (moto server + X-Ray relay) shared by this process's tests."""
    from iatk.embedded import EmbeddedBackend

    with EmbeddedBackend() as backend:
        yield backend


@pytest.fixture(scope="session")
def moto_session(embedded):
    """A boto3 Session whose clients go to the shared embedded server."""
    return embedded.session()


@pytest.fixture(scope="session")
def data_dir() -> Path:
    """tests/data."""
    return DATA
