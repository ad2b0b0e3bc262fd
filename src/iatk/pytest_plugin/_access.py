"""What conftests and other plugins get of the run: :class:`IatkRun` (``get_run(config)``, the hook)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pytest

from iatk._config import Settings

if TYPE_CHECKING:
    import boto3

    from iatk.embedded import EmbeddedBackend


@dataclass(frozen=True)
class IatkRun:
    """The run as iatk configured it, for conftests and plugins.

    Attributes:
        config: The pytest config.
        settings: The resolved settings (``--iatk-*``, ini, ``IATK_*``).
        run_id: The run id (tag ``iatk:run-id``).
        backend: The embedded backend under ``--iatk-backend=moto`` (its ``url``, ``xray_address``,
            ``reset()``), None on AWS.
    """

    config: pytest.Config
    settings: Settings
    run_id: str
    backend: EmbeddedBackend | None
    _session: list[Any] = field(default_factory=list, repr=False, compare=False)

    @property
    def backend_name(self) -> str:
        """``moto`` or ``aws``."""
        return "moto" if self.backend is not None else "aws"

    @property
    def session(self) -> boto3.Session:
        """The run's boto3 Session (what the ``iatk_session`` fixture gives), built on first use.

        Raises:
            pytest.UsageError: The session cannot be built (no region, an unknown profile...).
        """
        if not self._session:
            from iatk._aws import default_session
            from iatk.exceptions import ConfigError

            try:
                self._session.append(default_session())
            except ConfigError as err:
                raise pytest.UsageError(f"iatk: {err}") from err
        session: boto3.Session = self._session[0]
        return session

    def env(self) -> dict[str, str]:
        """Environment variables that point a child process at the run's backend (``iatk.session_env``)."""
        from iatk._aws import session_env

        return session_env(self.session)
