"""What every part of the plugin shares about one run: its settings and this process's role in it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from iatk._config import Settings
from iatk.exceptions import IatkError


@dataclass(frozen=True)
class Run:
    """One run as this process sees it, fixed at configure time (see ``pytest_plugin.pytest_configure``)."""

    settings: Settings
    #: The xdist controller's hand-over (run id, embedded server), or None: not an xdist worker.
    workerinput: dict[str, Any] | None = None

    @classmethod
    def of(cls, config: pytest.Config, settings: Settings) -> Run:
        return cls(settings, getattr(config, "workerinput", None))

    @property
    def worker(self) -> bool:
        """Whether this process is an xdist worker (the controller reports and cleans up)."""
        return self.workerinput is not None

    @property
    def asked_for_iatk(self) -> bool:
        """Whether the run asked for iatk (any iatk option, ini key or IATK_* variable), not merely has it installed."""
        return any(source != "default" for source in (self.settings.sources or {}).values())


#: The run, set at configure (the fixtures, module-level functions, find it on the config too).
RUN_KEY = pytest.StashKey[Run]()


class RunPlugin:
    """Base of the plugin objects: made when the plugin module is registered, before configure
    resolves the run, so they read it from the config when a hook needs it."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config

    @property
    def run(self) -> Run:
        return self.config.stash[RUN_KEY]


def why(err: BaseException) -> str:
    """An error's message; with its type when it is not one of iatk's (whose messages stand alone)."""
    return str(err) if isinstance(err, IatkError) else f"{type(err).__name__}: {err}"
