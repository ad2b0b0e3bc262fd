"""Where the run's AWS calls go: the embedded moto server (started and stopped here) or AWS (its
session built before any test), and the xdist hand-over of the run id and the server to each worker."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pytest

from iatk import _tags
from iatk.exceptions import ConfigError

from ._run import RunPlugin, why

if TYPE_CHECKING:
    from iatk.embedded import EmbeddedBackend


class Backend(RunPlugin):
    """The run's backend: ``embedded`` is the moto server under ``--iatk-backend=moto``, else None (AWS)."""

    def __init__(self, config: pytest.Config) -> None:
        super().__init__(config)
        self.embedded: EmbeddedBackend | None = None
        self._restore_env: Callable[[], None] | None = None

    def start(self) -> None:
        """Start the embedded server (an xdist worker joins the controller's) and make its session the default."""
        try:
            self._start()
        except Exception as err:  # a usage error with the reason, not an INTERNALERROR traceback
            raise pytest.UsageError(
                f"iatk: cannot start the embedded backend (--iatk-backend=moto): {why(err)}"
            ) from err

    def _start(self) -> None:
        from iatk import _aws
        from iatk.embedded import EmbeddedBackend

        settings, workerinput = self.run.settings, self.run.workerinput
        if workerinput is not None and workerinput.get("iatk_embedded_url"):
            backend = EmbeddedBackend(
                settings.region, url=workerinput["iatk_embedded_url"], xray_address=workerinput.get("iatk_xray_address")
            )
        else:
            backend = EmbeddedBackend(settings.region)
        try:
            backend.start()
            session = backend.session()
        except BaseException:
            backend.stop()  # whatever half started (server thread, relay, environment) goes
            raise
        self.embedded = backend
        _aws.set_default_session(session)
        if not settings.keep_env and backend.url:
            # Plain boto3 in tests, helpers, xdist workers and child processes reaches the server.
            from iatk._backend.moto.environment import export_environment

            self._restore_env = export_environment(backend.url, backend.region)

    @pytest.hookimpl(tryfirst=True)
    def pytest_sessionstart(self, session: pytest.Session) -> None:
        """Build the run's AWS session before any test, so a bad profile or setting stops the run with
        its message. Only when the run asked for iatk on AWS (the embedded one is built at configure):
        a project that merely has iatk installed imports no boto3 here."""
        if self.run.worker or self.embedded is not None or not self.run.asked_for_iatk:
            return
        from iatk._aws import default_session

        try:
            default_session()
        except ConfigError as err:
            raise pytest.UsageError(f"iatk: {err}") from err

    def pytest_unconfigure(self, config: pytest.Config) -> None:
        if self._restore_env is not None:
            self._restore_env()
            self._restore_env = None
        if self.embedded is not None:
            self.embedded.stop()
            self.embedded = None


class XdistHooks:
    """Registered only when xdist is present: hands the run id and the server to each worker."""

    def __init__(self, backend: Backend) -> None:
        self.backend = backend

    @pytest.hookimpl
    def pytest_configure_node(self, node: Any) -> None:
        node.workerinput["iatk_run_id"] = _tags.current_run_id()
        embedded = self.backend.embedded
        if embedded is not None:
            node.workerinput["iatk_embedded_url"] = embedded.url
            node.workerinput["iatk_xray_address"] = embedded.xray_address
