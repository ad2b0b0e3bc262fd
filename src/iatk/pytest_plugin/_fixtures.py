"""The ten ``iatk_*`` fixtures: module-level functions, this module being registered as a plugin.

Each imports the core it wraps when first used, so ``import iatk.pytest_plugin`` loads no boto3.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from iatk import _config, _tags
from iatk._config import Settings
from iatk.exceptions import ConfigError, ListenerError

from ._report import KEPT_PROPERTY, TRACE_KEY
from ._run import RUN_KEY

if TYPE_CHECKING:
    import boto3

    from iatk.listener import Listener
    from iatk.stack import Stack
    from iatk.states import StateTester
    from iatk.trace import TraceHelper


@pytest.fixture(name="iatk_settings", scope="session")
def _iatk_settings(pytestconfig: pytest.Config) -> Settings:
    """The run's resolved settings (argument > option > ini > env > default)."""
    return pytestconfig.stash[RUN_KEY].settings


@pytest.fixture(name="iatk_session", scope="session")
def _iatk_session(iatk_settings: Settings) -> boto3.Session:
    """The run's boto3 Session: real AWS, or the embedded moto server (its clients go there too)."""
    from iatk._aws import default_session

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
    from iatk.stack import Stack

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
    from iatk.stack import deploy_once

    def deploy(template: str | Path, name: str, parameters: dict[str, str] | None = None) -> Stack:
        __tracebackhide__ = True
        return deploy_once(template, name, parameters, session=iatk_session)

    return deploy


@pytest.fixture(name="iatk_listener")
def _iatk_listener(
    request: pytest.FixtureRequest, iatk_session: boto3.Session, iatk_settings: Settings
) -> Iterator[Callable[..., Listener]]:
    """Factory: ``iatk_listener(bus, rule=... | pattern=..., target=None)`` → a started :class:`iatk.Listener`.

    Every listener made in the test is closed at teardown, also when the test fails or is
    interrupted; ``--iatk-keep`` keeps them and prints their ARNs. Each wait is recorded for the SLA
    table and as a junit property (``iatk_wait``, JSON).
    """
    from iatk.listener import Listener

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


@pytest.fixture(name="iatk_put_events")
def _iatk_put_events(iatk_session: boto3.Session) -> Callable[..., list[str]]:
    """Put events on a bus with the run's session; raises PutEventsError on any rejected entry."""
    from iatk.events import put_events

    def put(*entries: Any, bus: str = "default") -> list[str]:
        __tracebackhide__ = True
        return put_events(*entries, bus=bus, session=iatk_session)

    return put


@pytest.fixture(name="iatk_trace")
def _iatk_trace(request: pytest.FixtureRequest, iatk_session: boto3.Session) -> Iterator[TraceHelper]:
    """Trace helpers for one test: new headers, patched clients, get_tree with the run's deadline.

    On a failed test, the last tree it fetched (or why it was incomplete) goes into the report.
    """
    from iatk.trace import TraceHelper

    helper = TraceHelper(session=iatk_session)  # within=None: trace_timeout, marker-aware at call time
    request.node.stash[TRACE_KEY] = helper
    with helper:  # unpatches every client it patched
        yield helper


@pytest.fixture(name="iatk_mock_event", scope="session")
def _iatk_mock_event(iatk_session: boto3.Session) -> Callable[..., dict[str, Any]]:
    """Factory over :func:`iatk.mock_event` with the run's session; each schema is read once per run.

    ``iatk_mock_event(registry="video", schema="PluginTriggered")`` or
    ``iatk_mock_event(schema_file="schemas/trigger.json", overrides={...})``; every keyword of
    ``mock_event`` (event_ref, skip_optional, overrides, contexts, seed) is accepted; ``session=`` reads
    the registry with another session than the run's. ``iatk_mock_event.many(n, ...)`` gives ``n``
    distinct events (:func:`iatk.mock_events.mock_events`: ``boundary=True`` for the schema's edges).
    """
    from iatk.mock_events import EventSchema, load_schema, mock_event, mock_events

    files: dict[Path, EventSchema] = {}

    def resolve(
        registry: str | None,
        schema: str | EventSchema | None,
        version: str | int | None,
        schema_file: str | Path | None,
        options: dict[str, Any],
    ) -> tuple[str | EventSchema | None, str | Path | None]:
        """A schema file is read once per run; registry schemas are cached by the core, per session."""
        only_file = registry is None and schema is None and version is None and options.get("schema_text") is None
        if schema_file is not None and only_file:
            path = Path(schema_file).resolve()
            if path not in files:
                files[path] = load_schema(schema_file=path)
            return files[path], None
        return schema, schema_file

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
        schema, schema_file = resolve(registry, schema, version, schema_file, options)
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
        schema, schema_file = resolve(registry, schema, version, schema_file, options)
        chosen = session if session is not None else iatk_session
        return mock_events(n, registry, schema, version, schema_file=schema_file, session=chosen, **options)

    make.many = many  # type: ignore[attr-defined]
    return make


@pytest.fixture(name="iatk_states", scope="session")
def _iatk_states(iatk_session: boto3.Session) -> StateTester:
    """``iatk_states.test_state(...)`` / ``iatk_states.walk_states(...)`` on the run's session."""
    from iatk.states import StateTester

    return StateTester(iatk_session)
