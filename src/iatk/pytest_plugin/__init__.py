"""The pytest adapter: options, ini keys, the ``iatk`` marker, fixtures and reports.

Wiring only; every AWS action lives in the core. Importing this package makes no AWS call and imports
no boto3: that happens when a fixture is first used, or at configure time when the run asked for the
embedded backend (``--iatk-backend=moto``).

Like pytest-xdist, this module holds the options and one ``pytest_configure``, which resolves the
settings and the run id; each behaviour is a plugin object, registered with this module:

- ``_fixtures``: the ten ``iatk_*`` fixtures (a module registered as a plugin);
- ``_marker.Marker``: ``@pytest.mark.iatk`` checked at collection, its settings installed per test;
- ``_report.Report``: the header line, failed tests' traces, the SLA table, junit properties, the summary;
- ``_cleanup.SessionCleanup``: SIGTERM as Ctrl-C, ``--iatk-sweep``, the session-end cleanup;
- ``_backend.Backend`` (+ ``XdistHooks``): the embedded server or the AWS session; the xdist hand-over;
- ``_redact.CredentialRedaction``: credentials redacted from every log record while the run goes;
- ``_outputs``: the files and pages of the run (``--iatk-artifacts``, ``--iatk-sla-log``, pytest-html,
  the GitHub Actions summary).

For conftests and plugins: :func:`get_run` (any time after configure) and the hook
``pytest_iatk_configured(config, run)`` (``_hooks``), both giving an :class:`IatkRun` (``_access``).
"""

from __future__ import annotations

import os
import sys
from contextlib import ExitStack
from typing import TYPE_CHECKING

import pytest

from iatk import _config, _tags
from iatk._config import SPECS, Settings, resolve_settings
from iatk.exceptions import ConfigError

from . import _fixtures, _hooks
from ._access import IatkRun
from ._backend import Backend, XdistHooks
from ._cleanup import SessionCleanup
from ._marker import MARKER_HELP, Marker
from ._outputs import OUTPUT_OPTIONS, Outputs
from ._redact import CredentialRedaction
from ._report import Records, Report
from ._run import RUN_KEY, Run

if TYPE_CHECKING:
    import boto3

#: Hands back, at unconfigure, the run id, settings and session that were there before configure.
RESTORE_KEY = pytest.StashKey[ExitStack]()
#: The run's backend object (registered with the others; configure starts the embedded server).
BACKEND_KEY = pytest.StashKey[Backend]()
#: What :func:`get_run` hands out, made at the end of configure.
ACCESS_KEY = pytest.StashKey[IatkRun]()

__all__ = ["IatkRun", "get_run"]


def get_run(config: pytest.Config) -> IatkRun:
    """The run as iatk configured it: settings, run id, backend and session (for conftests and plugins).

    Call it from any hook after iatk's ``pytest_configure`` (``pytest_iatk_configured``, which gets
    the same object, collection hooks, ``pytest_sessionstart``, fixtures). A conftest's own
    ``pytest_configure`` runs before iatk's: use the ``pytest_iatk_configured`` hook there.

    Raises:
        pytest.UsageError: iatk has not configured this run yet (or is disabled with ``-p no:iatk``).
    """
    found = config.stash.get(ACCESS_KEY, None)
    if found is None:
        raise pytest.UsageError(
            "iatk.pytest_plugin.get_run(config): iatk has not configured this run yet. A conftest's "
            "pytest_configure runs before iatk's: implement pytest_iatk_configured(config, run) instead, "
            "or call get_run from a later hook (pytest_collection_modifyitems, pytest_sessionstart, a fixture)"
        )
    return found


def pytest_addhooks(pluginmanager: pytest.PytestPluginManager) -> None:
    pluginmanager.add_hookspecs(_hooks)


# -- options -----------------------------------------------------------------------------------
def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("iatk", "iatk: integration tests for deployed AWS apps")
    for spec in SPECS:
        dest = f"iatk_{spec.name}"
        text = f"{spec.help} [ini: {spec.ini}, env: {spec.env}]"
        if spec.flag:
            group.addoption(spec.option, dest=dest, action="store_const", const=True, default=None, help=text)
        elif spec.name == "backend":
            group.addoption(spec.option, dest=dest, choices=_config.BACKENDS, default=None, help=text)
        else:
            group.addoption(spec.option, dest=dest, default=None, help=text)
        parser.addini(spec.ini, help=f"{spec.help} (default: {spec.default!r})", type="string", default="")
    for option, ini, text in OUTPUT_OPTIONS:
        group.addoption(option, dest=ini, default=None, metavar="PATH", help=f"{text} [ini: {ini}]")
        parser.addini(ini, help=text, type="string", default="")


def _resolve(config: pytest.Config) -> Settings:
    options = {spec.name: config.getoption(f"iatk_{spec.name}") for spec in SPECS}
    ini = {spec.name: config.getini(spec.ini) for spec in SPECS}
    return resolve_settings(options=options, ini=ini)


# -- the run -----------------------------------------------------------------------------------
def pytest_plugin_registered(plugin: object, manager: pytest.PytestPluginManager) -> None:
    # The plugin objects are registered right after this module, when it is registered (before any
    # conftest.py), not at configure: pluggy calls the plugin registered last first, so this keeps
    # every hook's place among other plugins' as when the plugin was one module (a conftest's header
    # lines come after iatk's; its deselection in pytest_collection_modifyitems runs before the marker
    # check). Registered at configure, they would come after every conftest.
    if plugin is sys.modules[__name__] and isinstance(config := manager.get_plugin("pytestconfig"), pytest.Config):
        _register(config)


def _register(config: pytest.Config) -> Backend:
    """Register one plugin object per behaviour (once per config); the backend, for configure."""
    backend = config.stash.get(BACKEND_KEY, None)
    if backend is not None:
        return backend
    records = Records()
    backend = config.stash[BACKEND_KEY] = Backend(config)
    plugins = config.pluginmanager
    # This order is the order of the hooks' effects (the last registered is called first):
    plugins.register(_fixtures, "iatk-fixtures")
    plugins.register(Marker(config), "iatk-marker")
    plugins.register(Report(config, records, backend), "iatk-report")  # its wait recording wraps the marker's settings
    plugins.register(Outputs(config, records, backend), "iatk-outputs")
    plugins.register(SessionCleanup(config, records, backend), "iatk-cleanup")  # SIGTERM before this configure
    plugins.register(backend, "iatk-backend")  # its sessionstart (the AWS session) runs before the sweep
    plugins.register(CredentialRedaction(), "iatk-redact")  # from the first configure hook to the last unconfigure
    return backend


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", MARKER_HELP)
    try:
        settings = _resolve(config)
    except ConfigError as err:
        raise pytest.UsageError(f"iatk: {err}") from None
    run = Run.of(config, settings)
    if run.workerinput is not None and run.workerinput.get("iatk_run_id"):
        run_id = str(run.workerinput["iatk_run_id"])
    else:
        run_id = os.environ.get("IATK_RUN_ID") or _tags.new_run_id()
    # The owner (iatk:owner) is the run's root process: an xdist worker gets its controller's.
    owner = str((run.workerinput or {}).get("iatk_owner") or _tags.new_owner())
    # Install the run's id and settings (and, on moto, session) until unconfigure, which hands back
    # what was there: an in-process nested run (pytester) gives the outer run its own back.
    restore = ExitStack()
    restore.callback(_restore_session, _installed_session())
    restore.enter_context(_config.override(settings))
    restore.enter_context(_tags.override_run_id(run_id))
    restore.enter_context(_tags.override_owner(owner))
    config.stash[RESTORE_KEY] = restore
    config.stash[RUN_KEY] = run
    backend = _register(config)  # already done, unless this module was registered after configure began
    if settings.backend == "moto":
        backend.start()
    if config.pluginmanager.hasplugin("xdist"):
        config.pluginmanager.register(XdistHooks(backend), "iatk-xdist")
    access = config.stash[ACCESS_KEY] = IatkRun(config, settings, run_id, backend.embedded)
    config.hook.pytest_iatk_configured.call_historic(kwargs={"config": config, "run": access})


def pytest_unconfigure(config: pytest.Config) -> None:
    # After the plugin objects' (registered later, so called first): the embedded server is stopped.
    restore = config.stash.get(RESTORE_KEY, None)
    if restore is not None:
        restore.close()


def _installed_session() -> boto3.Session | None:
    aws = sys.modules.get("iatk._aws")  # never imported here: it imports boto3
    return None if aws is None else aws.installed_session()


def _restore_session(session: boto3.Session | None) -> None:
    aws = sys.modules.get("iatk._aws")
    if aws is not None:
        aws.set_default_session(session)
