"""Real-AWS tests: opt-in with IATK_TEST_AWS=1 (they create and delete a small stack in your account)."""

from __future__ import annotations

import os

import pytest

ENABLED = os.environ.get("IATK_TEST_AWS") == "1"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if ENABLED:
        return
    skip = pytest.mark.skip(reason="real AWS: set IATK_TEST_AWS=1 (and AWS credentials) to run")
    for item in items:
        if "tests/e2e/" in item.nodeid.replace("\\", "/") or item.nodeid.startswith("e2e/"):
            item.add_marker(skip)
