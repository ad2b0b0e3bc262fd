"""Step Functions service segments offline: the ``AWS::StepFunctions::StateMachine`` segment X-Ray shows.

On AWS, an execution started with a trace header (or of a state machine with tracing enabled)
records a segment named after the state machine, origin ``AWS::StepFunctions::StateMachine``, with
one subsegment per state entered (``aws.state_type``) and, under each Task state, a subsegment for
the integration it called (``Lambda`` / ``Invoke``, ``SNS`` / ``Publish``, ``SQS`` /
``SendMessage``...) in namespace ``aws``. moto records none of it, and its ``StartExecution`` drops
the ``traceHeader`` parameter (and ``DescribeExecution`` answers none). :func:`record_sfn_segments`
fixes both, in this process:

- ``StartExecution`` passes ``traceHeader`` to the interpreter, or the request's
  ``X-Amzn-Trace-Id`` header (what :func:`iatk.trace_client` sends), or, for a state machine with
  ``tracingConfiguration.enabled``, a new sampled header; ``DescribeExecution`` answers it;
- when an execution with a header ends, its history becomes the segment (built by
  :func:`execution_documents`) in moto's X-Ray store, with ``parent_id`` from the header's ``Parent``.

- the services a Task calls get the execution's header with the task's subsegment as ``Parent``
  (``X-Amzn-Trace-Id`` on the interpreter's requests, as Step Functions passes it on AWS), so a
  queue's message carries it as ``AWSTraceHeader``, an event its bus's targets, a topic its
  subscribers, and a Lambda function or a nested execution continues the trace under the task.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import json
import logging
import re
import secrets
import threading
import time
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from .trace_context import header_fields

log = logging.getLogger("iatk.embedded")

ORIGIN = "AWS::StepFunctions::StateMachine"
_HEADER = "X-Amzn-Trace-Id"
#: The interpreter's modules that make the Task states' service calls (each imports ``boto_client_for``).
_CALLERS = (
    "moto.stepfunctions.parser.asl.component.state.exec.state_task.lambda_eval_utils",
    *(
        f"moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_{name}"
        for name in ("aws_sdk", "batch", "dynamodb", "ecs", "events", "glue", "sfn", "sns", "sqs", "unsupported")
    ),
)
_task = threading.local()  # the Task state this interpreter thread is running: its Environment
#: Optimised integrations ``arn:aws:states:::<service>:<action>``: the subsegment's name.
_SERVICE_NAMES = {
    "lambda": "Lambda",
    "sns": "SNS",
    "sqs": "SQS",
    "events": "Events",
    "dynamodb": "DynamoDB",
    "states": "StepFunctions",
    "ecs": "ECS",
    "glue": "Glue",
    "batch": "Batch",
    "apigateway": "API Gateway",
    "s3": "S3",
}


def _segment_id(*parts: object) -> str:
    """A stable 16-hex id for one part of an execution (the same history gives the same ids)."""
    return hashlib.sha256("\x1f".join(map(str, parts)).encode()).hexdigest()[:16]


def _epoch(value: Any) -> float | None:
    if hasattr(value, "timestamp"):
        return float(value.timestamp())
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, str):  # the interpreter's history: "2026-12-04T18:19:10.969Z"
        try:
            return dt.datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
        except ValueError:
            return None
    return None


def integration(resource: str, operation_hint: str | None = None) -> tuple[str, str | None]:
    """The downstream subsegment's name and ``aws.operation`` for a Task's ``Resource``."""
    if resource.startswith("arn:aws:lambda:") or re.match(r"arn:[\w-]+:lambda:", resource):
        return "Lambda", "Invoke"
    found = re.match(r"arn:[\w-]+:states:::(aws-sdk:)?([\w-]+):(\w+)", resource)
    if found:
        service, action = found.group(2), found.group(3).split(".")[0]
        name = _SERVICE_NAMES.get(service.lower(), service[:1].upper() + service[1:])
        return name, action[:1].upper() + action[1:]
    return "Activity" if ":activity:" in resource else resource.rsplit(":", 1)[-1], operation_hint


def execution_documents(
    *,
    trace_header: str,
    state_machine_name: str,
    execution_arn: str,
    state_machine_arn: str,
    events: Sequence[Mapping[str, Any]],
    region: str,
    started: float,
    stopped: float | None,
    status: str,
) -> list[dict[str, Any]]:
    """The segment document of one execution, from its history events (as GetExecutionHistory gives them)."""
    parts = header_fields(trace_header)
    root = parts.get("root")
    if not root:
        return []
    segment_id = _segment_id(execution_arn, "segment")
    end = stopped if stopped is not None else time.time()
    states: list[dict[str, Any]] = []
    open_states: dict[str, dict[str, Any]] = {}  # state name -> its subsegment while it runs
    open_tasks: dict[str, dict[str, Any]] = {}
    for event in events:
        kind = str(getattr(event.get("type"), "value", event.get("type")) or "")  # an enum in the interpreter
        at, ident = _epoch(event.get("timestamp")), event.get("id")
        if at is None:
            continue
        if kind.endswith("StateEntered"):
            details = event.get("stateEnteredEventDetails") or {}
            name = str(details.get("name") or "?")
            state_type = kind[: -len("StateEntered")] or "State"
            # The history's timestamps can tie (moto's clock steps coarsely): a state entered after
            # another starts strictly after it, so the tree keeps the order the states ran in.
            if states and at <= states[-1]["start_time"]:
                at = states[-1]["start_time"] + 1e-6
            sub: dict[str, Any] = {
                "id": _segment_id(execution_arn, "state", ident),
                "name": name,
                "start_time": at,
                "aws": {"state_type": state_type},
            }
            states.append(sub)
            open_states[name] = sub
        elif kind.endswith("StateExited"):
            details = event.get("stateExitedEventDetails") or {}
            exited = open_states.pop(str(details.get("name") or "?"), None)
            if exited is not None:
                exited["end_time"] = max(at, exited["start_time"])
        elif kind in ("TaskScheduled", "LambdaFunctionScheduled", "ActivityScheduled"):
            details = (
                event.get("taskScheduledEventDetails")
                or event.get("lambdaFunctionScheduledEventDetails")
                or event.get("activityScheduledEventDetails")
                or {}
            )
            resource_type = str(details.get("resourceType") or "")
            resource = str(details.get("resource") or "")
            if resource_type and not resource.startswith("arn:"):
                resource = f"arn:aws:states:::{resource_type}:{resource}"
            name, operation = integration(resource)
            call: dict[str, Any] = {
                "id": _segment_id(execution_arn, "task", ident),
                "name": name,
                "namespace": "aws",
                "start_time": at,
                "aws": {k: v for k, v in (("operation", operation), ("region", details.get("region") or region)) if v},
            }
            parameters = details.get("parameters")
            try:
                given = json.loads(parameters) if isinstance(parameters, str) else {}
            except ValueError:
                given = {}
            for key, field in (("FunctionName", "function_name"), ("TopicArn", "topic_arn"), ("QueueUrl", "queue_url")):
                if isinstance(given, dict) and isinstance(given.get(key), str):
                    call["aws"][field] = given[key]
            if states:
                states[-1].setdefault("subsegments", []).append(call)
            open_tasks[states[-1]["name"] if states else ""] = call
        elif kind.startswith(("Task", "LambdaFunction", "Activity")) and kind.endswith(
            ("Succeeded", "Failed", "TimedOut", "Aborted")
        ):
            call_open = open_tasks.pop(states[-1]["name"] if states else "", None)
            if call_open is not None:
                call_open["end_time"] = at
                if not kind.endswith("Succeeded"):
                    call_open["fault"] = True
    for sub in states:  # a state still open at the end (a failed execution) ends with it
        sub.setdefault("end_time", end)
        for call in sub.get("subsegments", ()):
            call.setdefault("end_time", sub["end_time"])
    document: dict[str, Any] = {
        "id": segment_id,
        "trace_id": root,
        "name": state_machine_name,
        "origin": ORIGIN,
        "start_time": started,
        "end_time": end,
        "aws": {"execution_arn": execution_arn, "state_machine_arn": state_machine_arn},
        "annotations": {"aws:execution_arn": execution_arn},
    }
    if parts.get("parent"):
        document["parent_id"] = parts["parent"]
    if status in ("FAILED", "TIMED_OUT", "ABORTED"):
        document["fault"] = True
    if states:
        document["subsegments"] = states
    return [document]


def new_header() -> str:
    """A fresh sampled header, as Step Functions starts for a traced state machine without one."""
    return f"Root=1-{int(time.time()):08x}-{secrets.token_hex(12)};Sampled=1"


def _store(execution: Any, documents: Sequence[Mapping[str, Any]]) -> None:
    from moto.xray.exceptions import BadSegmentException
    from moto.xray.models import xray_backends

    backend = xray_backends[execution.account_id][execution.region_name]
    for document in documents:
        try:
            backend.process_segment(json.dumps(document, default=str))
        except BadSegmentException as err:
            log.warning("Step Functions segment of %s rejected: %s", execution.exec_arn, err.message)


def _on_terminated(execution: Any) -> None:
    header = getattr(execution, "trace_header", None)
    if not header or header_fields(str(header)).get("sampled") == "0":
        return
    history = execution.to_history_output()
    machine = execution.state_machine
    documents = execution_documents(
        trace_header=str(header),
        state_machine_name=str(machine.name),
        execution_arn=str(execution.exec_arn),
        state_machine_arn=str(getattr(machine, "source_arn", None) or machine.arn),
        events=history.get("events") or [],
        region=str(execution.region_name),
        started=_epoch(execution.start_date) or time.time(),
        stopped=_epoch(execution.stop_date),
        status=str(getattr(execution.exec_status, "value", execution.exec_status)),
    )
    _store(execution, documents)


def _traced(machine: Any) -> bool:
    config = getattr(machine, "tracing_config", None) or getattr(machine, "tracingConfiguration", None)
    return bool(isinstance(config, Mapping) and config.get("enabled"))


def task_header(env: Any) -> str | None:
    """The header a Task's service call carries: the execution's, with the task's subsegment as ``Parent``.

    The task's subsegment id is the one :func:`execution_documents` gives it, from the id of its
    ``TaskScheduled`` (or ``LambdaFunctionScheduled``) event: the ``previousEventId`` of the
    ``…Started`` event the interpreter published last in this branch.
    """
    from moto.stepfunctions.parser.models import stepfunctions_parser_backends

    execution_arn = str(env.states.context_object.context_object_data["Execution"]["Id"])
    region, account = execution_arn.split(":")[3:5]
    try:
        execution = stepfunctions_parser_backends[account][region].describe_execution(execution_arn)
    except Exception:  # an execution moto no longer has: nothing to carry
        return None
    header = getattr(execution, "trace_header", None)
    if not header:
        return None
    parts = header_fields(str(header))
    if parts.get("sampled") == "0" or not parts.get("root"):
        return str(header)
    started_id = env.event_history_context.source_event_id
    started = next((e for e in reversed(env.event_manager.get_event_history()) if e.get("id") == started_id), None)
    if started is None or not str(getattr(started.get("type"), "value", started.get("type"))).endswith("Started"):
        return str(header)
    parent = _segment_id(execution.execution_arn, "task", started.get("previousEventId"))
    return f"Root={parts['root']};Parent={parent};Sampled=1"


def _add_task_header(request: Any, **_: Any) -> None:
    env = getattr(_task, "env", None)
    if env is None:
        return
    try:
        header = task_header(env)
    except Exception:  # a header must never break the call it rides on
        log.exception("could not make the trace header of a Task's call")
        return
    if header:
        request.headers[_HEADER] = header


def _propagate_task_headers() -> None:
    """Make the interpreter's Task calls carry the execution's trace header (idempotent)."""
    import importlib

    from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service import (
        StateTaskService,
    )
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.state_task_lambda import StateTaskLambda

    def running(original: Any) -> Any:
        @functools.wraps(original)
        def _eval_execution(self: Any, env: Any) -> None:
            previous = getattr(_task, "env", None)
            _task.env = env
            try:
                original(self, env)
            finally:
                _task.env = previous

        return _eval_execution

    for cls in (StateTaskService, StateTaskLambda):
        cls._eval_execution = running(cls._eval_execution)  # type: ignore[method-assign]

    def traced_client(original: Any) -> Any:
        @functools.wraps(original)
        def boto_client_for(*args: Any, **kwargs: Any) -> Any:
            client = original(*args, **kwargs)
            client.meta.events.register("before-sign.*.*", _add_task_header)
            return client

        return boto_client_for

    for name in _CALLERS:
        try:
            module = importlib.import_module(name)
        except ImportError:  # another moto version's layout: those calls go untraced
            log.debug("no %s in this moto: its calls carry no trace header", name)
            continue
        if hasattr(module, "boto_client_for"):
            setattr(module, "boto_client_for", traced_client(module.boto_client_for))  # noqa: B010 - a module global


def record_sfn_segments() -> None:
    """Pass trace headers to moto's interpreter and record each traced execution's segment (idempotent)."""
    from moto.stepfunctions.parser.backend.execution import BaseExecutionWorkerCommunication
    from moto.stepfunctions.parser.models import StepFunctionsParserBackend
    from moto.stepfunctions.responses import StepFunctionResponse

    if getattr(StepFunctionResponse, "_iatk_traced", False):
        return
    original_start = StepFunctionResponse.start_execution
    original_describe = StepFunctionResponse.describe_execution
    original_terminated = BaseExecutionWorkerCommunication.terminated

    def start_execution(self: Any) -> Any:
        backend = self.stepfunction_backend
        if not isinstance(backend, StepFunctionsParserBackend):
            return original_start(self)
        header = self._get_param("traceHeader") or self.headers.get(_HEADER)
        arn = self._get_param("stateMachineArn")
        if not header and _traced(backend.describe_state_machine(arn)):
            header = new_header()
        if not header:
            return original_start(self)
        from moto.core.responses import ActionResult

        name = self._get_param("name") or str(uuid.uuid4())  # AWS names an unnamed execution with a UUID
        execution = backend.start_execution(arn, name, self._get_param("input", if_none="{}"), trace_header=header)
        return ActionResult({"executionArn": execution.execution_arn, "startDate": execution.start_date})

    def describe_execution(self: Any) -> Any:
        answer = original_describe(self)
        backend = self.stepfunction_backend
        if isinstance(backend, StepFunctionsParserBackend) and isinstance(answer.result, dict):
            header = getattr(backend.describe_execution(self._get_param("executionArn")), "trace_header", None)
            if header:
                answer.result["traceHeader"] = header
        return answer

    def terminated(self: Any) -> None:
        original_terminated(self)
        try:
            _on_terminated(self.execution)
        except Exception:  # a segment must never break the execution it describes
            log.exception("could not record the Step Functions segment of %s", self.execution.exec_arn)

    StepFunctionResponse.start_execution = start_execution  # type: ignore[method-assign]
    StepFunctionResponse.describe_execution = describe_execution  # type: ignore[method-assign]
    BaseExecutionWorkerCommunication.terminated = terminated  # type: ignore[method-assign]
    _propagate_task_headers()
    StepFunctionResponse._iatk_traced = True  # type: ignore[attr-defined]
