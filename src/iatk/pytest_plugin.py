"""The pytest adapter: options, ini keys, the ``iatk`` marker, fixtures and reports.

Wiring only; every AWS action lives in the core. Importing this module makes no AWS call and imports
no boto3: that happens when a fixture is first used, or at configure time when the run asked for the
embedded backend (``--iatk-backend=moto``).
"""

from __future__ import annotations

import os
import re
import sys
import tempfile
from collections.abc import Callable, Generator, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from . import _config, _tags
from ._config import SPECS, Settings, resolve_settings
from ._text import truncate
from .exceptions import ConfigError, ListenerError

if TYPE_CHECKING:
    import boto3

    from .embedded import EmbeddedBackend
    from .listener import Listener
    from .stack import Stack
    from .states import StateTester
    from .trace import TraceHelper

SETTINGS_KEY = pytest.StashKey[Settings]()
BACKEND_KEY: pytest.StashKey[EmbeddedBackend | None] = pytest.StashKey()
RECORDS_KEY: pytest.StashKey[Records] = pytest.StashKey()
PREVIOUS_KEY: pytest.StashKey[tuple[Any, Any, Any]] = pytest.StashKey()
#: Keywords the ``@pytest.mark.iatk(...)`` marker takes.
MARKER_KEYS = ("sla", "stack", "trace_timeout", "ttl")


class Records:
    """What the run did, for the terminal summary: waits, kept and leftover resources."""

    def __init__(self) -> None:
        self.waits: list[tuple[str, Any]] = []
        self.kept: list[str] = []
        self.swept: list[str] = []
        self.leftover: list[str] = []
        self.teardown_errors: list[str] = []


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


def _resolve(config: pytest.Config) -> Settings:
    options = {spec.name: config.getoption(f"iatk_{spec.name}") for spec in SPECS}
    ini = {spec.name: config.getini(spec.ini) for spec in SPECS}
    return resolve_settings(options=options, ini=ini)


def _is_worker(config: pytest.Config) -> bool:
    return hasattr(config, "workerinput")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "iatk(sla=None, stack=None, trace_timeout=None, ttl=None): per-test iatk settings "
        "(e.g. @pytest.mark.iatk(sla=20))",
    )
    try:
        settings = _resolve(config)
    except ConfigError as err:
        raise pytest.UsageError(f"iatk: {err}") from None
    workerinput: dict[str, Any] | None = getattr(config, "workerinput", None)
    if workerinput is not None and workerinput.get("iatk_run_id"):
        run_id = str(workerinput["iatk_run_id"])
    else:
        run_id = os.environ.get("IATK_RUN_ID") or _tags.new_run_id()
    # Remember what was there, so an in-process nested run (pytester) hands it back at unconfigure.
    aws_module = sys.modules.get("iatk._aws")  # never imported here: it imports boto3
    previous_session = getattr(aws_module, "_default_session", None)
    config.stash[PREVIOUS_KEY] = (_tags._run_id, _config._current, previous_session)
    _tags.set_run_id(run_id)
    config.stash[SETTINGS_KEY] = settings
    config.stash[RECORDS_KEY] = Records()
    config.pluginmanager.register(_WaitCollector(config.stash[RECORDS_KEY]), f"iatk-waits-{id(config)}")
    config.stash[BACKEND_KEY] = None
    _config.set_current_settings(settings)
    if settings.backend == "moto":
        try:
            _start_backend(config, settings, workerinput)
        except Exception as err:  # a usage error with the reason, not an INTERNALERROR traceback
            raise pytest.UsageError(
                f"iatk: cannot start the embedded backend (--iatk-backend=moto): {_why(err)}"
            ) from err
    if config.pluginmanager.hasplugin("xdist"):
        config.pluginmanager.register(_XdistHooks(), "iatk-xdist")


def _start_backend(config: pytest.Config, settings: Settings, workerinput: dict[str, Any] | None) -> None:
    from . import _aws
    from .embedded import EmbeddedBackend

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
    config.stash[BACKEND_KEY] = backend
    _aws.set_default_session(session)


def _why(err: BaseException) -> str:
    """An error's message; with its type when it is not one of iatk's (whose messages stand alone)."""
    from .exceptions import IatkError

    return str(err) if isinstance(err, IatkError) else f"{type(err).__name__}: {err}"


def _iatk_configured(settings: Settings) -> bool:
    """Whether the run asked for iatk (any iatk option, ini key or IATK_* variable), not merely has it installed."""
    return any(source != "default" for source in (settings.sources or {}).values())


@pytest.hookimpl(tryfirst=True)
def pytest_sessionstart(session: pytest.Session) -> None:
    """Build the run's AWS session before any test, so a bad profile or setting stops the run with
    its message. Only when the run asked for iatk on AWS (the embedded one is built at configure):
    a project that merely has iatk installed imports no boto3 here."""
    config = session.config
    settings = config.stash.get(SETTINGS_KEY, None)
    if settings is None or _is_worker(config) or config.stash.get(BACKEND_KEY, None) is not None:
        return
    if not _iatk_configured(settings):
        return
    from ._aws import default_session

    try:
        default_session()
    except ConfigError as err:
        raise pytest.UsageError(f"iatk: {err}") from err


class _XdistHooks:
    """Registered only when xdist is present: hands the run id and the server to each worker."""

    @pytest.hookimpl
    def pytest_configure_node(self, node: Any) -> None:
        node.workerinput["iatk_run_id"] = _tags.current_run_id()
        backend = node.config.stash.get(BACKEND_KEY, None)
        if backend is not None:
            node.workerinput["iatk_embedded_url"] = backend.url
            node.workerinput["iatk_xray_address"] = backend.xray_address


def pytest_unconfigure(config: pytest.Config) -> None:
    backend = config.stash.get(BACKEND_KEY, None)
    if backend is not None:
        backend.stop()
        config.stash[BACKEND_KEY] = None
    previous = config.stash.get(PREVIOUS_KEY, None)
    if previous is not None:
        run_id, settings, session = previous
        _tags._run_id = run_id
        _config.set_current_settings(settings)
        if "iatk._aws" in sys.modules:
            sys.modules["iatk._aws"].set_default_session(session)


# -- report ------------------------------------------------------------------------------------
def pytest_report_header(config: pytest.Config) -> list[str]:
    settings = config.stash.get(SETTINGS_KEY, None)
    if settings is None or _is_worker(config):
        return []
    backend = config.stash.get(BACKEND_KEY, None)
    if backend is not None:
        where = f"moto (embedded, {backend.url})"
        region, account = backend.region, _account()
    elif _iatk_configured(settings):
        where = "aws" + (f" via {settings.endpoint_url}" if settings.endpoint_url else "")
        region, account = _session_region(), _account()
    else:  # iatk installed but not asked for: no boto3, no AWS call
        where = "aws"
        region = settings.region or os.environ.get("AWS_DEFAULT_REGION") or "(the AWS profile's, else AWS_REGION)"
        account = "- (not read: no iatk setting given)"
    line = f"iatk: backend {where}, region {region}, account {account}, stack {settings.stack or '-'}"
    return [f"{line}, run id {_tags.current_run_id()}"]


def _session_region() -> str:
    """The region the run's session really uses (settings, boto3's chain, then AWS_REGION)."""
    from ._aws import default_session

    try:
        return default_session().region_name or "? (none: set --iatk-region or AWS_REGION)"
    except Exception as err:  # the header must never break a run
        return f"? ({_short(err)})"


def _account() -> str:
    """The account id from one quick STS call, or ``?`` and why (the header must never break a run)."""
    from ._aws import read_account

    try:
        return read_account()
    except Exception as err:
        return f"? ({_short(err)})"


def _short(err: BaseException, limit: int = 100) -> str:
    return truncate(" ".join(str(err).split()), limit, ellipsis="...")


# -- per-test settings (the marker) ------------------------------------------------------------
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        for marker in item.iter_markers("iatk"):
            unknown = sorted(set(marker.kwargs) - set(MARKER_KEYS))
            if marker.args or unknown:
                bad = ", ".join(unknown) if unknown else f"positional {marker.args!r}"
                raise pytest.UsageError(
                    f"{item.nodeid}: @pytest.mark.iatk got {bad}; it takes keywords: {', '.join(MARKER_KEYS)}"
                )
    settings = config.stash.get(SETTINGS_KEY, None)
    if settings is None:
        return
    for item in items:  # bad values (sla="soon") stop the run here, not when the test runs
        overrides = _marker_overrides(item)
        if overrides:
            try:
                settings.with_overrides(**overrides)
            except ConfigError as err:
                raise pytest.UsageError(f"{item.nodeid}: @pytest.mark.iatk: {err}") from None


def _marker_overrides(item: pytest.Item) -> dict[str, Any]:
    overrides: dict[str, Any] = {}
    for marker in reversed(list(item.iter_markers("iatk"))):  # closest marker wins
        overrides.update(marker.kwargs)
    return overrides


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> Generator[None, object, object]:
    from .waiting import subscribe_waits  # no boto3: the registry lives outside the listener

    # Every listener wait during the item (setup, call, teardown), whoever made the listener, goes to
    # the SLA table and to junit; the teardown report carries it, so xdist workers' waits reach it too.
    unsubscribe = subscribe_waits(
        lambda _listener, record: item.user_properties.append((WAIT_PROPERTY, _wait_row(record)))
    )
    try:
        settings = item.config.stash.get(SETTINGS_KEY, None)
        overrides = _marker_overrides(item) if settings is not None else {}
        if not overrides or settings is None:
            return (yield)
        try:
            _config.set_current_settings(settings.with_overrides(**overrides))
        except ConfigError as err:
            raise pytest.UsageError(f"{item.nodeid}: @pytest.mark.iatk: {err}") from None
        try:
            return (yield)
        finally:
            _config.set_current_settings(settings)
    finally:
        unsubscribe()


# -- fixtures ----------------------------------------------------------------------------------
@pytest.fixture(name="iatk_settings", scope="session")
def _iatk_settings(pytestconfig: pytest.Config) -> Settings:
    """The run's resolved settings (argument > option > ini > env > default)."""
    return pytestconfig.stash[SETTINGS_KEY]


@pytest.fixture(name="iatk_session", scope="session")
def _iatk_session(iatk_settings: Settings) -> boto3.Session:
    """The run's boto3 Session: real AWS, or the embedded moto server (its clients go there too)."""
    from ._aws import default_session

    try:
        return default_session()
    except ConfigError as err:
        pytest.fail(f"iatk: {err}", pytrace=False)


@pytest.fixture(name="iatk_run_id", scope="session")
def _iatk_run_id(iatk_settings: Settings) -> str:
    """One id per test run, the same in every xdist worker; tagged on every harness resource."""
    return _tags.current_run_id()


@pytest.fixture(name="iatk_stack", scope="session")
def _iatk_stack(iatk_session: boto3.Session) -> Callable[..., Stack]:
    """Factory: ``iatk_stack()`` is the ``--iatk-stack`` stack, ``iatk_stack("name")`` any other."""
    from .stack import Stack

    cache: dict[str, Stack] = {}

    def get(name: str | None = None) -> Stack:
        __tracebackhide__ = True
        chosen = name or _config.current_settings().stack
        if not chosen:
            raise ConfigError(
                "no stack given: call iatk_stack('name'), or set --iatk-stack / iatk_stack (ini) / IATK_STACK"
            )
        if chosen not in cache:
            cache[chosen] = Stack(chosen, session=iatk_session)
        return cache[chosen]

    return get


@pytest.fixture(name="iatk_deploy", scope="session")
def _iatk_deploy(iatk_session: boto3.Session) -> Callable[..., Stack]:
    """Factory: ``iatk_deploy(template, name, parameters=None)`` deploys once per run, shared by xdist workers.

    The first worker to ask deploys (under a file lock keyed by run id and stack name); the others
    reuse the stack. Stacks deployed on AWS are deleted at the end of the run unless ``--iatk-keep``.
    """
    from .stack import deploy_once

    def deploy(template: str | Path, name: str, parameters: dict[str, str] | None = None) -> Stack:
        __tracebackhide__ = True
        return deploy_once(template, name, parameters, session=iatk_session)

    return deploy


WAIT_PROPERTY = "iatk_wait"
KEPT_PROPERTY = "iatk_kept"


@pytest.fixture(name="iatk_listener")
def _iatk_listener(
    request: pytest.FixtureRequest, iatk_session: boto3.Session, iatk_settings: Settings
) -> Iterator[Callable[..., Listener]]:
    """Factory: ``iatk_listener(bus, rule=... | pattern=..., target=None)`` → a started :class:`iatk.Listener`.

    Every listener made in the test is closed at teardown, also when the test fails or is
    interrupted; ``--iatk-keep`` keeps them and prints their ARNs. Each wait is recorded for the SLA
    table and as a junit property (``iatk_wait``, JSON).
    """
    from .listener import Listener

    made: list[Listener] = []

    def make(
        bus: str, *, rule: str | None = None, pattern: Any = None, target: str | None = None, **kwargs: Any
    ) -> Listener:
        __tracebackhide__ = True
        listener = Listener(bus, rule=rule, pattern=pattern, target=target, session=iatk_session, **kwargs)
        made.append(listener)  # start() removes what it made if it fails half way
        listener.start()
        return listener

    try:
        yield make
    finally:
        problems: list[str] = []
        for listener in reversed(made):
            if not listener.started or listener.closed:
                continue
            if iatk_settings.keep:  # reported through the test report, so xdist workers' reach the summary
                request.node.user_properties.extend((KEPT_PROPERTY, arn) for arn in listener.arns)
                continue
            try:
                listener.close()
            except Exception as err:  # every listener gets its close; failures are reported together
                problems.append(f"{listener.id}: {err}")
        if problems:
            raise ListenerError("could not close listener(s) at teardown:\n" + "\n".join(problems))


def _wait_row(record: Any) -> str:
    """A listener wait as the JSON of an ``iatk_wait`` junit property (and a row of the SLA table)."""
    import json

    row = {
        "awaited": f"{record.kind}: {record.description}",
        "sla": record.sla,
        "latency": record.latency,
        "elapsed": round(record.elapsed, 3),
        "outcome": record.outcome,
    }
    return json.dumps(row)


class _WaitCollector:
    """Collects the waits recorded in reports' user_properties (so the xdist controller sees the workers')."""

    def __init__(self, records: Records) -> None:
        self.records = records

    @pytest.hookimpl
    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if report.when != "teardown":
            return
        import json

        for name, value in report.user_properties:
            if name == WAIT_PROPERTY:
                self.records.waits.append((report.nodeid, json.loads(str(value))))
            elif name == KEPT_PROPERTY:
                self.records.kept.append(str(value))


@pytest.fixture(name="iatk_put_events")
def _iatk_put_events(iatk_session: boto3.Session) -> Callable[..., list[str]]:
    """Put events on a bus with the run's session; raises PutEventsError on any rejected entry."""
    from .events import put_events

    def put(*entries: Any, bus: str = "default") -> list[str]:
        __tracebackhide__ = True
        return put_events(*entries, bus=bus, session=iatk_session)

    return put


TRACE_KEY: pytest.StashKey[Any] = pytest.StashKey()


@pytest.fixture(name="iatk_trace")
def _iatk_trace(request: pytest.FixtureRequest, iatk_session: boto3.Session) -> Iterator[TraceHelper]:
    """Trace helpers for one test: new headers, patched clients, get_tree with the run's deadline.

    On a failed test, the last tree it fetched (or why it was incomplete) goes into the report.
    """
    from .trace import TraceHelper

    helper = TraceHelper(session=iatk_session)  # within=None: trace_timeout, marker-aware at call time
    request.node.stash[TRACE_KEY] = helper
    with helper:  # unpatches every client it patched
        yield helper


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Generator[None, Any, Any]:
    report = yield
    helper = item.stash.get(TRACE_KEY, None)
    if helper is not None and report.failed and report.when == "call":
        text = helper.report()
        if text:
            report.sections.append(("iatk: last X-Ray trace", text))
    return report


@pytest.fixture(name="iatk_mock_event", scope="session")
def _iatk_mock_event(iatk_session: boto3.Session) -> Callable[..., dict[str, Any]]:
    """Factory over :func:`iatk.mock_event` with the run's session; each schema is read once per run.

    ``iatk_mock_event(registry="video", schema="PluginTriggered")`` or
    ``iatk_mock_event(schema_file="schemas/trigger.json", overrides={...})``; every keyword of
    ``mock_event`` (event_ref, skip_optional, overrides, contexts, seed) is accepted; ``session=`` reads
    the registry with another session than the run's. ``iatk_mock_event.many(n, ...)`` gives ``n``
    distinct events (:func:`iatk.mock_events.mock_events`: ``boundary=True`` for the schema's edges).
    """
    from .mock_events import EventSchema, load_schema, mock_event

    files: dict[Path, EventSchema] = {}

    def make(
        registry: str | None = None,
        schema: str | EventSchema | None = None,
        version: str | int | None = None,
        *,
        schema_file: str | Path | None = None,
        session: boto3.Session | None = None,
        **options: Any,
    ) -> dict[str, Any]:
        __tracebackhide__ = True
        only_file = registry is None and schema is None and version is None and options.get("schema_text") is None
        if schema_file is not None and only_file:
            path = Path(schema_file).resolve()
            if path not in files:
                files[path] = load_schema(schema_file=path)
            schema, schema_file = files[path], None
        # registry schemas are cached by the core, per session, for the whole process
        chosen = session if session is not None else iatk_session  # an explicit session wins
        return mock_event(registry, schema, version, schema_file=schema_file, session=chosen, **options)

    def many(
        n: int,
        registry: str | None = None,
        schema: str | EventSchema | None = None,
        version: str | int | None = None,
        *,
        schema_file: str | Path | None = None,
        session: boto3.Session | None = None,
        **options: Any,
    ) -> list[dict[str, Any]]:
        """``iatk_mock_event.many(n, ...)``: :func:`iatk.mock_events.mock_events` with the run's session."""
        __tracebackhide__ = True
        from .mock_events import mock_events

        only_file = registry is None and schema is None and version is None and options.get("schema_text") is None
        if schema_file is not None and only_file:
            path = Path(schema_file).resolve()
            if path not in files:
                files[path] = load_schema(schema_file=path)
            schema, schema_file = files[path], None
        chosen = session if session is not None else iatk_session
        return mock_events(n, registry, schema, version, schema_file=schema_file, session=chosen, **options)

    make.many = many  # type: ignore[attr-defined]
    return make


@pytest.fixture(name="iatk_states", scope="session")
def _iatk_states(iatk_session: boto3.Session) -> StateTester:
    """``iatk_states.test_state(...)`` / ``iatk_states.walk_states(...)`` on the run's session."""
    from .states import StateTester

    return StateTester(iatk_session)


# Cleanup wiring (core: iatk.cleanup). Hook functions carry unique names and name their hook with
# ``specname`` so they never shadow another section's hook of the same name.
class _CleanupState:
    """Per run and process: whether iatk touched AWS, what the session end deleted, the SIGTERM handler."""

    def __init__(self) -> None:
        self.used_aws = False
        self.stacks_deleted: list[str] = []
        self.previous_sigterm: Any = None
        self.installed_sigterm = False


CLEANUP_STATE_KEY: pytest.StashKey[_CleanupState] = pytest.StashKey()


def _cleanup_state(config: pytest.Config) -> _CleanupState:
    state = config.stash.get(CLEANUP_STATE_KEY, None)
    if state is None:
        state = config.stash[CLEANUP_STATE_KEY] = _CleanupState()
    return state


def _sigterm_as_interrupt(signum: int, frame: Any) -> None:
    # KeyboardInterrupt takes pytest's Ctrl-C path: the session still finishes, so every fixture's
    # finalizer (listener teardown) and the session-end cleanup below run before the process exits.
    raise KeyboardInterrupt(f"iatk: received signal {signum} (SIGTERM); tearing down as for Ctrl-C")


@pytest.hookimpl(specname="pytest_configure")
def pytest_iatk_cleanup_configure(config: pytest.Config) -> None:
    """Make SIGTERM behave like Ctrl-C (controller and xdist workers; main thread; default handler only)."""
    import signal
    import threading

    state = _cleanup_state(config)
    if threading.current_thread() is not threading.main_thread():
        return  # signal handlers can only be set from the main thread
    if signal.getsignal(signal.SIGTERM) in (signal.SIG_DFL, None):  # never replace someone else's handler
        state.previous_sigterm = signal.signal(signal.SIGTERM, _sigterm_as_interrupt)
        state.installed_sigterm = True


@pytest.hookimpl(specname="pytest_unconfigure")
def pytest_iatk_cleanup_unconfigure(config: pytest.Config) -> None:
    import signal

    state = config.stash.get(CLEANUP_STATE_KEY, None)
    if state is not None and state.installed_sigterm and signal.getsignal(signal.SIGTERM) is _sigterm_as_interrupt:
        signal.signal(signal.SIGTERM, state.previous_sigterm or signal.SIG_DFL)
        state.installed_sigterm = False


def _aws_used_marker() -> Path:
    """A file an xdist worker touches when it uses AWS: the controller sees it even if the worker is
    interrupted or killed before its workeroutput (the other channel) reaches the controller."""
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in _tags.current_run_id())
    return Path(tempfile.gettempdir()) / f"iatk-{safe}-used-aws"


@pytest.hookimpl(specname="pytest_fixture_setup")
def pytest_iatk_cleanup_fixture_setup(fixturedef: Any, request: Any) -> None:
    # Every AWS-facing fixture depends on iatk_session: its setup is the signal that the run used AWS.
    if fixturedef.argname == "iatk_session":
        _cleanup_state(request.config).used_aws = True
        if _is_worker(request.config):
            _aws_used_marker().touch()


@pytest.hookimpl(specname="pytest_testnodedown", optionalhook=True)
def pytest_iatk_cleanup_testnodedown(node: Any, error: Any) -> None:
    # xdist controller: a worker that used AWS says so in its workeroutput.
    if getattr(node, "workeroutput", {}).get("iatk_used_aws"):
        _cleanup_state(node.config).used_aws = True


@pytest.hookimpl(specname="pytest_sessionstart", tryfirst=True)
def pytest_iatk_cleanup_sessionstart(session: pytest.Session) -> None:
    """--iatk-sweep: remove expired harness resources (any run's) before tests start; controller only."""
    config = session.config
    settings = config.stash.get(SETTINGS_KEY, None)
    if settings is None or _is_worker(config):
        return
    _aws_used_marker().unlink(missing_ok=True)  # a stale one, from an earlier run with the same IATK_RUN_ID
    if not settings.sweep:
        return  # no sweep asked: no AWS call at all
    from ._aws import default_session
    from .cleanup import cleanup

    records = config.stash[RECORDS_KEY]
    try:
        report = cleanup(expired=True, session=default_session(), check=False)
    except Exception as err:  # reported in the summary, never an INTERNALERROR
        records.teardown_errors.append(f"--iatk-sweep: {_why(err)}")
        return
    records.swept += [f"{r.kind} {r.arn} (run {r.run_id or 'none: aws-iatk'})" for r in report.deleted]
    records.teardown_errors += [f"--iatk-sweep: {f.resource.arn}: {f.error}" for f in report.failed]


@pytest.hookimpl(specname="pytest_sessionfinish", trylast=True)
def pytest_iatk_cleanup_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Remove what this run left (after every fixture finalizer ran: trylast), unless --iatk-keep.

    Controller (or single process) only, and only when the run may have made resources (an iatk
    fixture was used, here or in an xdist worker, or the embedded backend runs), so a run that never
    touched AWS makes no AWS call here.
    """
    config = session.config
    state = _cleanup_state(config)
    if _is_worker(config):
        config.workeroutput["iatk_used_aws"] = state.used_aws  # type: ignore[attr-defined]
        return
    settings = config.stash.get(SETTINGS_KEY, None)
    embedded = config.stash.get(BACKEND_KEY, None) is not None
    if settings is None:
        return
    marker = _aws_used_marker()
    if marker.exists():
        state.used_aws = True
        marker.unlink(missing_ok=True)
    if not (state.used_aws or embedded):
        return
    from ._aws import default_session
    from .cleanup import STACK, cleanup, find_harness_resources

    records = config.stash[RECORDS_KEY]
    run_id = _tags.current_run_id()
    # The embedded server (and its stacks) goes away with the run; on AWS this run's test stacks go too.
    types = ("queue", "rule") if embedded else None
    try:
        if settings.keep:
            kept = find_harness_resources(run_id=run_id, session=default_session(), types=types)
            records.kept += [r.arn for r in kept if r.arn not in records.kept]
            return
        report = cleanup(run_id=run_id, session=default_session(), types=types, check=False)
    except Exception as err:  # a bad session or setting here is reported in the summary, not a traceback
        records.teardown_errors.append(f"session-end cleanup of run {run_id}: {_why(err)}")
    else:
        records.leftover += [r.arn for r in report.deleted if r.type != STACK]
        state.stacks_deleted += [r.arn for r in report.deleted if r.type == STACK]
        records.teardown_errors += [f"session-end cleanup: {f.resource.arn}: {f.error}" for f in report.failed]
        if not report.failed:
            return
    if session.exitstatus == pytest.ExitCode.OK:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED  # resources are leaking: the run must not pass


def _cleanup_summary(terminalreporter: Any, config: pytest.Config, records: Records) -> None:
    if records.swept:
        terminalreporter.section("iatk: swept expired harness resources (--iatk-sweep)")
        for line in records.swept:
            terminalreporter.line(line)
    if records.leftover:
        terminalreporter.section("iatk: harness resources left behind by this run (removed at session end)")
        for arn in records.leftover:
            terminalreporter.line(arn)
    state = config.stash.get(CLEANUP_STATE_KEY, None)
    if state is not None and state.stacks_deleted:
        terminalreporter.section("iatk: test stacks of this run (deleted at session end)")
        for arn in state.stacks_deleted:
            terminalreporter.line(arn)
    if records.teardown_errors:
        terminalreporter.section("iatk: cleanup errors (resources may be left: run `iatk cleanup --run-id ...`)")
        for line in records.teardown_errors:
            terminalreporter.line(line, red=True)


def _sla_summary(terminalreporter: Any, records: Records) -> None:
    if not records.waits:
        return
    terminalreporter.section("iatk: waits and SLAs")
    rows = [("test", "awaited", "SLA s", "latency s", "outcome")]
    for nodeid, row in records.waits:
        latency = "-" if row.get("latency") is None else f"{row['latency']:.3f}"
        awaited = re.sub(r" on listener iatk_eb_\w+", "", str(row.get("awaited", ""))).replace("an event matching ", "")
        rows.append(
            (nodeid.split("::", 1)[-1], awaited[:70], f"{row.get('sla', 0):g}", latency, str(row.get("outcome")))
        )
    widths = [max(len(r[i]) for r in rows) for i in range(5)]
    for row in rows:
        terminalreporter.line("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    records = config.stash.get(RECORDS_KEY, None)
    if records is None:
        return
    _sla_summary(terminalreporter, records)
    _cleanup_summary(terminalreporter, config, records)
    if records.kept:
        terminalreporter.section("iatk: kept harness resources (--iatk-keep)")
        for arn in records.kept:
            terminalreporter.line(arn)
