"""The CLI tests' own fixtures."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def own_serve_record(tmp_path_factory, monkeypatch):
    """Each test has its own folder for `iatk serve`'s record, so none finds a server another process runs."""
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path_factory.mktemp("runtime")))
