"""Step Functions → Lambda on the embedded server: the task's call carries the execution's trace.

moto's interpreter invokes a function (``arn:aws:states:::lambda:invoke`` or a function ARN as
``Resource``) with a boto3 client of its own, over HTTP to the server, and takes the error name from
the payload's ``errorType``, so ``Retry``/``Catch`` on a handler's error type work as on AWS (the
functional tests check it). What it leaves out is the trace: the call has no ``X-Amzn-Trace-Id``, so
the function's segments are not linked to the execution. :func:`install_sfn_lambda` adds it: for an
execution started with a trace header (:mod:`.sfn_segments`), the invocation is sent with
``Root`` = the execution's, ``Parent`` = the id :mod:`.sfn_segments` gives the task's ``Lambda``
subsegment, so ``get_trace_tree`` shows state machine → task → ``AWS::Lambda`` → function.

Inside a ``Parallel`` or ``Map`` state the parent is the latest task scheduled in the execution,
which may be another branch's.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from .sfn_segments import _segment_id
from .trace_context import header_fields

__all__ = ["install_sfn_lambda", "task_header"]

_HEADER = "X-Amzn-Trace-Id"
_SCHEDULED = ("TaskScheduled", "LambdaFunctionScheduled")
_headers: OrderedDict[str, str] = OrderedDict()
_headers_lock = threading.Lock()
_local = threading.local()


def _remember(execution_arn: str, header: str) -> None:
    with _headers_lock:
        _headers[execution_arn] = header
        while len(_headers) > 1000:
            _headers.popitem(last=False)


def task_header(execution_arn: str, events: list[Any]) -> str | None:
    """The header a task's invocation carries (None: the execution is not traced)."""
    with _headers_lock:
        header = _headers.get(execution_arn)
    if not header:
        return None
    parts = header_fields(header)
    if not parts.get("root") or parts.get("sampled") == "0":
        return None
    for event in reversed(events):
        kind = str(getattr(event.get("type"), "value", event.get("type")) or "")
        if kind in _SCHEDULED:
            parent = _segment_id(execution_arn, "task", event.get("id"))
            return f"Root={parts['root']};Parent={parent};Sampled=1"
    return None


@contextmanager
def _in_task(env: Any) -> Iterator[None]:
    try:
        execution_arn = str(env.states.context_object.context_object_data["Execution"]["Id"])
        events = list(getattr(env.event_manager, "_history_event_list", []))
        header = task_header(execution_arn, events)
    except (AttributeError, KeyError, TypeError):
        header = None
    previous = getattr(_local, "header", None)
    _local.header = header
    try:
        yield
    finally:
        _local.header = previous


def _add_header(request: Any, **_: Any) -> None:
    header = getattr(_local, "header", None)
    if header:
        request.headers[_HEADER] = header


def install_sfn_lambda() -> None:
    """Send the execution's trace with each Lambda task's invocation (idempotent)."""
    from moto.stepfunctions.parser.asl.component.state.exec.state_task import lambda_eval_utils as moto_utils
    from moto.stepfunctions.parser.backend.execution import Execution

    lambda_eval_utils: Any = moto_utils
    if getattr(lambda_eval_utils, "_iatk_traced", False):
        return
    original_start = Execution.start
    original_integration = lambda_eval_utils.execute_lambda_function_integration
    original_client = lambda_eval_utils.boto_client_for

    def start(self: Any) -> None:
        header = getattr(self, "trace_header", None)
        if header:
            _remember(str(self.exec_arn), str(header))
        original_start(self)

    def integration(env: Any, parameters: dict[str, Any], region: str, state_credentials: Any) -> None:
        with _in_task(env):
            original_integration(env=env, parameters=parameters, region=region, state_credentials=state_credentials)

    def client_for(region: str, service: str, state_credentials: Any = None) -> Any:
        client = original_client(region=region, service=service, state_credentials=state_credentials)
        if service == "lambda":
            client.meta.events.register("before-sign.lambda.Invoke", _add_header)
        return client

    Execution.start = start  # type: ignore[method-assign]
    lambda_eval_utils.execute_lambda_function_integration = integration
    lambda_eval_utils.boto_client_for = client_for
    lambda_eval_utils._iatk_traced = True
