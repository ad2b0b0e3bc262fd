"""Per-test settings: ``@pytest.mark.iatk(sla=..., stack=..., trace_timeout=..., ttl=...)``."""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

import pytest

from iatk import _config
from iatk.exceptions import ConfigError

from ._run import RunPlugin

#: Keywords the ``@pytest.mark.iatk(...)`` marker takes.
MARKER_KEYS = ("sla", "stack", "trace_timeout", "ttl")
#: The marker's line in ``pytest --markers``.
MARKER_HELP = (
    "iatk(sla=None, stack=None, trace_timeout=None, ttl=None): per-test iatk settings (e.g. @pytest.mark.iatk(sla=20))"
)


def marker_overrides(item: pytest.Item) -> dict[str, Any]:
    """The item's ``iatk`` marker keywords, the closest marker winning."""
    overrides: dict[str, Any] = {}
    for marker in reversed(list(item.iter_markers("iatk"))):  # closest marker wins
        overrides.update(marker.kwargs)
    return overrides


class Marker(RunPlugin):
    """Checks every ``iatk`` marker at collection and installs each test's settings while it runs."""

    def pytest_collection_modifyitems(self, config: pytest.Config, items: list[pytest.Item]) -> None:
        for item in items:
            for marker in item.iter_markers("iatk"):
                unknown = sorted(set(marker.kwargs) - set(MARKER_KEYS))
                if marker.args or unknown:
                    bad = ", ".join(unknown) if unknown else f"positional {marker.args!r}"
                    raise pytest.UsageError(
                        f"{item.nodeid}: @pytest.mark.iatk got {bad}; it takes keywords: {', '.join(MARKER_KEYS)}"
                    )
        for item in items:  # bad values (sla="soon") stop the run here, not when the test runs
            overrides = marker_overrides(item)
            if overrides:
                try:
                    self.run.settings.with_overrides(**overrides)
                except ConfigError as err:
                    raise pytest.UsageError(f"{item.nodeid}: @pytest.mark.iatk: {err}") from None

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_protocol(
        self, item: pytest.Item, nextitem: pytest.Item | None
    ) -> Generator[None, object, object]:
        overrides = marker_overrides(item)
        if not overrides:
            return (yield)
        try:
            settings = self.run.settings.with_overrides(**overrides)
        except ConfigError as err:
            raise pytest.UsageError(f"{item.nodeid}: @pytest.mark.iatk: {err}") from None
        with _config.override(settings):
            return (yield)
