"""Root conftest: the project's own test suite loads pytester (used by tests/plugin)."""

from __future__ import annotations
