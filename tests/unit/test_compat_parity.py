"""The drop-in against aws-iatk 0.1.0's own Python classes, run offline on the same inputs.

aws-iatk is in the dev extra; every test here skips when it is not installed. Its Go binary is not
used (it needs AWS); these are the parts of aws-iatk that are pure Python: the client's
signatures, ``retry_until`` (on a fake clock), ``patch_aws_client``'s registration and
``_apply_contexts``.
"""

from __future__ import annotations

import inspect
import json
import typing
from datetime import datetime, timedelta
from types import SimpleNamespace
from typing import Any

import boto3
import pytest

import iatk
from iatk import AwsIatk, IatkException

aws_iatk = pytest.importorskip("aws_iatk")


class FakeTime:
    """One fake clock for both tools: aws-iatk reads ``datetime.now()`` and sleeps with ``time.sleep``."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds

    def datetime_now(self) -> datetime:
        return datetime(2024, 1, 1) + timedelta(seconds=self.now)


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> FakeTime:
    clock = FakeTime()
    monkeypatch.setattr(aws_iatk, "time", SimpleNamespace(sleep=clock.sleep))
    monkeypatch.setattr(aws_iatk, "datetime", SimpleNamespace(now=clock.datetime_now))
    return clock


def run_both(fake: FakeTime, condition: Any, **options: Any) -> list[tuple[bool, int, float]]:
    """The same counter through aws-iatk's retry_until and the drop-in's: (result, attempts, seconds)."""
    results = []
    for kit in (
        aws_iatk.AwsIatk(),
        AwsIatk(session=boto3.Session(aws_access_key_id="x", aws_secret_access_key="x", region_name="us-east-1")),
    ):
        if isinstance(kit, AwsIatk):
            kit._clock, kit._sleep = fake.monotonic, fake.sleep
        calls: list[int] = []
        start = fake.now

        def count(calls: list[int] = calls) -> int:
            calls.append(1)
            return len(calls)

        results.append(
            (kit.retry_until(assertion_fn=condition, **options)(count)(), len(calls), round(fake.now - start, 6))
        )
    return results


def at_least(n: int) -> Any:
    def condition(value: int) -> None:
        assert value >= n

    return condition


def test_retry_until_attempts_are_aws_iatk_s(fake):
    """Default timeout, never true: 7 attempts for both (aws-iatk's suite asserts the count is not 10)."""
    (theirs_ok, theirs_n, theirs_s), (ours_ok, ours_n, ours_s) = run_both(fake, at_least(10**6))
    assert (theirs_ok, ours_ok) == (False, False)
    assert theirs_n == ours_n == 7
    assert theirs_s == pytest.approx(12.7)  # aws-iatk overslept its 10 s
    assert ours_s == pytest.approx(10.0)  # the drop-in stops at the deadline, after the same attempts


@pytest.mark.parametrize(("needed", "timeout"), [(5, 10), (5, 5), (3, 1), (9, 0), (8, 60.5)])
def test_retry_until_outcomes_and_counts_match(fake, needed, timeout):
    """Passing or timing out, both tools make the same number of attempts with the same result."""
    theirs, ours = run_both(fake, at_least(needed), timeout=timeout)
    assert theirs[:2] == ours[:2]


def test_retry_until_pauses_until_the_deadline_are_aws_iatk_s(fake):
    """Before the deadline the pauses are aws-iatk's (0.1, 0.2, 0.4 ...); only the last is cut."""
    run_both(fake, at_least(10**6), timeout=10)
    theirs, ours = fake.sleeps[:7], fake.sleeps[7:]
    assert ours[:-1] == pytest.approx(theirs[:-1])
    assert ours[-1] < theirs[-1]


@pytest.mark.parametrize("service", ["lambda", "apigateway", "stepfunctions", "events"])
def test_patch_aws_client_registers_where_aws_iatk_does(service):
    """aws-iatk's unit tests look up 'before-sign.<service>.*' in the client's alias cache."""
    names = []
    for patch in (aws_iatk.AwsIatk().patch_aws_client, AwsIatk.patch_aws_client.__get__(object())):
        client = boto3.client(service, region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
        cache = client.meta.events.__dict__.get("_alias_name_cache")
        before = set(cache)
        assert patch(client) is client
        names.append(set(cache) - before)
    # the drop-in also unregisters iatk's own trace_client handler (so one header is sent), which
    # botocore caches under the service id's name: one extra key, never aws-iatk's key missing
    assert names[0] == {f"before-sign.{service}.*"}
    assert names[0] <= names[1]
    assert len(names[1]) == 2


def _normal(annotation: Any) -> str:
    """An annotation's text with module paths dropped (aws-iatk's classes vs the drop-in's)."""
    if annotation is inspect.Parameter.empty:
        return "-"
    if isinstance(annotation, type):
        return annotation.__name__
    text = str(annotation)
    for prefix in ("aws_iatk.remove_listeners.", "iatk.compat._outputs.", "aws_iatk.get_trace_tree.", "typing."):
        text = text.replace(prefix, "")
    return text


def _shape(function: Any) -> list[tuple[str, Any, str, str]]:
    signature = inspect.signature(function)
    shape = []
    for parameter in signature.parameters.values():
        default = parameter.default
        if isinstance(default, tuple):  # retry_until's (RetryableException,): each tool's own class
            default = tuple(d.__name__ for d in default)
        shape.append((parameter.name, parameter.kind, repr(default), _normal(parameter.annotation)))
    shape.append(("return", None, "", _normal(signature.return_annotation)))
    return shape


PUBLIC = sorted(n for n in dir(aws_iatk.AwsIatk) if not n.startswith("_") and callable(getattr(aws_iatk.AwsIatk, n)))


def test_public_methods_are_aws_iatk_s_exactly():
    """The same public callables: aws-iatk's contract test counts them against its RPC spec."""
    ours = sorted(n for n in dir(AwsIatk) if not n.startswith("_") and callable(getattr(AwsIatk, n)))
    assert ours == PUBLIC


@pytest.mark.parametrize("name", [*PUBLIC, "_get_trace_tree", "_apply_contexts"])
def test_signatures_are_aws_iatk_s(name):
    """Names, kinds, defaults and annotations (aws-iatk's typing objects, not strings) match."""
    assert _shape(getattr(AwsIatk, name)) == _shape(getattr(aws_iatk.AwsIatk, name))


def test_annotations_are_objects_as_aws_iatk_s_contract_test_reads_them():
    """signature.return_annotation is the output class (inspect.get_annotations works on it), and
    typing.get_type_hints resolves every method but patch_aws_client (quoted "boto3.client" in both)."""
    for name in PUBLIC:
        returned = inspect.signature(getattr(AwsIatk, name)).return_annotation
        if isinstance(returned, type) and returned is not bool:
            assert list(inspect.get_annotations(returned)) == list(
                inspect.get_annotations(inspect.signature(getattr(aws_iatk.AwsIatk, name)).return_annotation)
            ), name
        if name != "patch_aws_client":
            assert _normal(typing.get_type_hints(getattr(AwsIatk, name)).get("return", inspect.Parameter.empty)) == (
                _normal(typing.get_type_hints(getattr(aws_iatk.AwsIatk, name)).get("return", inspect.Parameter.empty))
            ), name


def _set_like(event: dict) -> dict:
    event["tags"] = {1}
    return event


def _returns_none(event: dict) -> None:
    event["x"] = 1


def _override(event: dict) -> dict:
    event["test"] = "after"
    return event


@pytest.mark.parametrize(
    ("event", "contexts"),
    [
        ({"test": "before"}, [_override]),
        ({}, [_override, _override]),
        ({"test": {"test1": "before"}}, [_override]),
        ({"test": "before"}, [_returns_none]),
        ({"test": "before"}, [_set_like]),
        ({"keep": 1}, ["context_generation"]),
    ],
)
def test_apply_contexts_behaves_as_aws_iatk_s(event, contexts):
    """aws-iatk's unit tests call _apply_contexts: same result, or the same message and error_code."""
    from aws_iatk import context_generation as their_contexts

    from iatk import context_generation as our_contexts

    outcomes = []
    for kit, module, exception in (
        (aws_iatk.AwsIatk(), their_contexts, aws_iatk.IatkException),
        (
            AwsIatk(session=boto3.Session(aws_access_key_id="x", aws_secret_access_key="x", region_name="us-east-1")),
            our_contexts,
            IatkException,
        ),
    ):
        functions = [module.eventbridge_event_context if f == "context_generation" else f for f in contexts]
        try:
            result = kit._apply_contexts(generated_event=json.loads(json.dumps(event)), callable_contexts=functions)
        except exception as err:
            outcomes.append(("error", str(err), err.error_code))
        else:
            volatile = {"id", "time"} if "context_generation" in contexts else set()
            outcomes.append(("event", sorted(result), {k: v for k, v in result.items() if k not in volatile}))
    assert outcomes[0] == outcomes[1]


def test_poll_events_module_path_is_aws_iatk_s():
    """`from aws_iatk.poll_events import InvalidParamException` ports to iatk.poll_events."""
    from iatk.poll_events import InvalidParamException

    assert InvalidParamException is iatk.InvalidParamException
    with pytest.raises(InvalidParamException, match="timeout_seconds must be between 1 and 999"):
        AwsIatk(
            session=boto3.Session(aws_access_key_id="x", aws_secret_access_key="x", region_name="us-east-1")
        ).wait_until_event_matched("iatk_eb_9m4e2mr0ui3e8a215n4g", lambda event: None, timeout_seconds=10000)
    with pytest.raises(aws_iatk.poll_events.InvalidParamException, match="timeout_seconds must be between 1 and 999"):
        aws_iatk.AwsIatk().wait_until_event_matched("iatk_eb_9m4e2mr0ui3e8a215n4g", lambda event: None, 10000)
