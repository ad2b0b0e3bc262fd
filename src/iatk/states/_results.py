"""The outcome of a state test: :class:`StateResult`, :class:`StatePath`, :class:`StateInspection`.

Each is built from a TestState response (``from_api``) or, offline, from what the embedded backend's
emulator found; the ``expect_*`` checks assert on them and show the whole result when they fail.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from iatk._json import loads_or_keep

__all__ = ["STATUSES", "StateInspection", "StatePath", "StateResult"]

STATUSES = ("SUCCEEDED", "FAILED", "RETRIABLE", "CAUGHT_ERROR")
_MAX_SHOWN = 1500  # characters of one value in a rendered result

_INSPECTION_FIELDS = {
    "input": "input",
    "afterInputPath": "after_input_path",
    "afterParameters": "after_parameters",
    "afterArguments": "after_arguments",
    "result": "result",
    "afterResultSelector": "after_result_selector",
    "afterResultPath": "after_result_path",
    "variables": "variables",
    "afterItemsPath": "after_items_path",
    "afterItemSelector": "after_item_selector",
    "afterItemBatcher": "after_item_batcher",
    "afterItemsPointer": "after_items_pointer",
    "maxConcurrency": "max_concurrency",
    "toleratedFailureCount": "tolerated_failure_count",
    "toleratedFailurePercentage": "tolerated_failure_percentage",
}


@dataclass(frozen=True, slots=True)
class StateInspection:
    """What happened inside the state, stage by stage (TestState's ``inspectionData``, parsed).

    Each stage is the parsed JSON value, or None when TestState did not report it (INFO level, a
    state type without that stage, or offline where the embedded backend cannot see it).

    Attributes:
        input: The state's raw input.
        after_input_path: After ``InputPath``.
        after_parameters: After ``Parameters`` (the request a Task sends).
        after_arguments: After ``Arguments`` (JSONata states).
        result: The Task's result (the service's response, or the mock's).
        after_result_selector: After ``ResultSelector``.
        after_result_path: After ``ResultPath`` (before ``OutputPath``).
        variables: The workflow variables after the state (those given and those it assigned), as a dict.
        after_items_path: A Map's items after ``ItemsPath`` (JSONPath).
        after_item_selector: A Map's items after ``ItemSelector``, one per iteration.
        after_item_batcher: A Map's batches after ``ItemBatcher``.
        after_items_pointer: A Distributed Map's items after ``ItemsPointer``.
        max_concurrency: A Map's ``MaxConcurrency`` (0: no limit).
        tolerated_failure_count: A Map's ``ToleratedFailureCount``, when it has one.
        tolerated_failure_percentage: A Map's ``ToleratedFailurePercentage``, when it has one.
        error_details: ``catchIndex`` / ``retryIndex`` / ``retryBackoffIntervalSeconds`` when a
            Catch or Retry handled an error.
        request: The HTTP request (TRACE level, HTTP Tasks).
        response: The HTTP response (TRACE level, HTTP Tasks).
        raw: The inspection data as the API returned it (JSON strings unparsed).
    """

    input: Any = None
    after_input_path: Any = None
    after_parameters: Any = None
    after_arguments: Any = None
    result: Any = None
    after_result_selector: Any = None
    after_result_path: Any = None
    variables: Any = None
    after_items_path: Any = None
    after_item_selector: Any = None
    after_item_batcher: Any = None
    after_items_pointer: Any = None
    max_concurrency: Any = None
    tolerated_failure_count: Any = None
    tolerated_failure_percentage: Any = None
    error_details: Mapping[str, Any] | None = None
    request: Mapping[str, Any] | None = None
    response: Mapping[str, Any] | None = None
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_api(cls, data: Mapping[str, Any] | None) -> StateInspection:
        """Build from TestState's ``inspectionData`` (its JSON strings are parsed)."""
        if not data:
            return cls()
        values: dict[str, Any] = {name: loads_or_keep(data.get(key)) for key, name in _INSPECTION_FIELDS.items()}
        for key, name in (("errorDetails", "error_details"), ("request", "request"), ("response", "response")):
            values[name] = dict(data[key]) if isinstance(data.get(key), Mapping) else None
        return cls(**values, raw=dict(data))

    def stages(self) -> Iterator[tuple[str, Any]]:
        """``(name, value)`` for every stage that was reported, in data-flow order."""
        for name in (*_INSPECTION_FIELDS.values(), "error_details", "request", "response"):
            value = getattr(self, name)
            if value is not None:
                yield name, value


@dataclass(frozen=True, slots=True)
class StateResult:
    """The outcome of testing one state.

    Attributes:
        state: The state's name.
        status: ``SUCCEEDED``, ``FAILED``, ``RETRIABLE`` (a Retry would run the state again) or
            ``CAUGHT_ERROR`` (a Catch routed the error to ``next_state``).
        next_state: The state that would run next; None after an end state or a failure.
        output: The state's output, parsed from JSON (None when it failed).
        error: The error name, e.g. ``States.TaskFailed`` (failed, caught or retriable states).
        cause: The error's cause.
        inspection: The data-flow stages, see :class:`StateInspection`.
        state_type: The state's ``Type`` in the definition (``Task``, ``Choice``...).
        offline: True when it ran on the embedded backend's interpreter rather than TestState.
        raw: The TestState response (offline: the execution's description and history).
    """

    state: str
    status: str
    next_state: str | None = None
    output: Any = None
    error: str | None = None
    cause: str | None = None
    inspection: StateInspection = field(default_factory=StateInspection)
    state_type: str | None = None
    offline: bool = False
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_api(cls, state: str, response: Mapping[str, Any], *, state_type: str | None = None) -> StateResult:
        """Build from a TestState response; ``output`` and the inspection stages are parsed."""
        raw = {k: v for k, v in response.items() if k != "ResponseMetadata"}
        return cls(
            state=state,
            status=str(raw.get("status", "")),
            next_state=raw.get("nextState") or None,
            output=loads_or_keep(raw.get("output")),
            error=raw.get("error") or None,
            cause=raw.get("cause") or None,
            inspection=StateInspection.from_api(raw.get("inspectionData")),
            state_type=state_type,
            raw=raw,
        )

    @property
    def succeeded(self) -> bool:
        """Whether the status is ``SUCCEEDED``."""
        return self.status == "SUCCEEDED"

    def expect_next(self, name: str | None) -> StateResult:
        """Assert the next state is ``name`` (None: the state ends the workflow). Returns self.

        Raises:
            AssertionError: With the whole result shown.
        """
        __tracebackhide__ = True
        if self.next_state != name:
            want = "no next state (an end)" if name is None else f"next state {name!r}"
            raise AssertionError(f"expected {want}, got {self.next_state!r}\n{self.render()}")
        return self

    def expect_output(self, subset: Any) -> StateResult:
        """Assert the output contains ``subset``. Returns self.

        Objects match when every key of ``subset`` is in the output with a matching value (extra
        keys are fine, at every depth); lists match element by element and must have the same
        length; anything else must be equal.

        Raises:
            AssertionError: Naming the first difference, with the whole result shown.
        """
        __tracebackhide__ = True
        if self.status not in ("SUCCEEDED", "CAUGHT_ERROR"):
            raise AssertionError(f"expected an output, but the state ended {self.status}\n{self.render()}")
        mismatch = _subset_mismatch(subset, self.output, "$")
        if mismatch:
            raise AssertionError(f"output does not match: {mismatch}\n{self.render()}")
        return self

    def expect_error(self, code: str, cause: str | None = None) -> StateResult:
        """Assert the state failed, was caught or is retriable with error ``code``. Returns self.

        Args:
            code: The error name, e.g. ``"States.TaskFailed"``.
            cause: When given, a text the cause must contain.

        Raises:
            AssertionError: With the whole result shown.
        """
        __tracebackhide__ = True
        if self.error != code:
            got = f"error {self.error!r}" if self.error else f"no error (status {self.status})"
            raise AssertionError(f"expected error {code!r}, got {got}\n{self.render()}")
        if cause is not None and cause not in (self.cause or ""):
            raise AssertionError(f"expected the cause to contain {cause!r}, got {self.cause!r}\n{self.render()}")
        return self

    def render(self) -> str:
        """A multi-line text of the whole result, as assertion messages show it."""
        kind = f" ({self.state_type})" if self.state_type else ""
        if self.next_state:
            after = f", next {self.next_state!r}"
        elif self.status == "SUCCEEDED":
            after = ", end of the workflow"
        elif self.status == "RETRIABLE":
            after = ", a Retry would run it again"
        else:
            after = ""
        where = " [offline: embedded backend]" if self.offline else ""
        lines = [f"state {self.state!r}{kind} → {self.status}{after}{where}"]
        if self.error or self.cause:
            lines.append(
                f"  error: {self.error}" + (f" — cause: {_show(self.cause, text_as_is=True)}" if self.cause else "")
            )
        lines.append(f"  output: {_show(self.output)}")
        lines.extend(f"  {name}: {_show(value)}" for name, value in self.inspection.stages())
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.render()


class StatePath(list[StateResult]):
    """The states a :func:`walk_states` went through, in order (a ``list`` of :class:`StateResult`)."""

    @property
    def names(self) -> list[str]:
        """The state names, in order (a state retried appears once per attempt)."""
        return [result.state for result in self]

    @property
    def last(self) -> StateResult:
        """The final step."""
        if not self:
            raise IndexError("the path is empty")
        return self[-1]

    def expect_path(self, names: Sequence[str]) -> StatePath:
        """Assert the walk went through exactly ``names``. Returns self.

        Raises:
            AssertionError: With the path and every step shown.
        """
        __tracebackhide__ = True
        if self.names != list(names):
            raise AssertionError(
                f"expected the path {' → '.join(names)}\n     got the path {' → '.join(self.names)}\n{self.render()}"
            )
        return self

    def render(self) -> str:
        """The path on one line, then every step."""
        return " → ".join(self.names) + "\n" + "\n".join(result.render() for result in self)


def _show(value: Any, *, text_as_is: bool = False) -> str:
    """JSON of ``value`` (a str as is with ``text_as_is``), cut to a readable length."""
    text = value if text_as_is and isinstance(value, str) else json.dumps(value, default=str)
    return text if len(text) <= _MAX_SHOWN else text[:_MAX_SHOWN] + f"… ({len(text)} characters)"


def _subset_mismatch(expected: Any, actual: Any, path: str) -> str | None:
    """The first place where ``actual`` does not contain ``expected``, or None."""
    if isinstance(expected, Mapping):
        if not isinstance(actual, Mapping):
            return f"{path}: expected an object, got {_show(actual)}"
        for key, value in expected.items():
            where = f"{path}.{key}"
            if key not in actual:
                return f"{where}: missing (keys there: {', '.join(map(str, actual)) or 'none'})"
            found = _subset_mismatch(value, actual[key], where)
            if found:
                return found
        return None
    if isinstance(expected, (list, tuple)):
        if not isinstance(actual, list) or len(actual) != len(expected):
            return f"{path}: expected a list of {len(expected)}, got {_show(actual)}"
        for index, (want, got) in enumerate(zip(expected, actual, strict=True)):
            found = _subset_mismatch(want, got, f"{path}[{index}]")
            if found:
                return found
        return None
    # 1 == True in Python, but not in JSON
    if expected != actual or isinstance(expected, bool) != isinstance(actual, bool):
        return f"{path}: expected {_show(expected)}, got {_show(actual)}"
    return None
