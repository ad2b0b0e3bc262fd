"""The aws-iatk 0.1.0 drop-in: ``AwsIatk`` with aws-iatk's method names, arguments and result shapes.

An existing suite ports by changing its import (``from iatk import AwsIatk`` or
``import iatk as aws_iatk``). Every method maps onto the core (``Stack``, ``Listener``,
``get_trace_tree``, ``load_schema``, ``cleanup``); this module holds no AWS logic of its own.

Where aws-iatk's observable behaviour and iatk's differ, aws-iatk's wins here: the public methods'
signatures and annotations are aws-iatk 0.1.0's exactly (``inspect`` comparisons hold), mock events
have aws-iatk's placeholder values (``""``, ``0``, ``[]``...), ``retry_until`` keeps aws-iatk's pause
schedule, ``patch_aws_client`` registers on ``before-sign.<service>.*``, messages suites compare are
aws-iatk's words (iatk's explanation is an exception note, printed after them), and
``_get_trace_tree`` / ``_apply_contexts`` exist for suites that patch or call them. aws-iatk's bugs
that no suite can depend on stay fixed (AWS-IATK.md §8):

- errors carry a real code (aws-iatk's ``error_code`` is always 0) and are also ``IatkError``;
- ``get_stack_outputs`` accepts a stack ARN or id and names the missing key;
- ``add_listener`` checks PutTargets' failed entries and rejects reserved tag keys up front;
- ``remove_listeners()`` with no argument is an error, and a rule whose queue is gone is removed;
- ``poll_events`` makes one ReceiveMessage per call (the queue URL is cached);
- ``wait_until_event_matched`` treats a falsy return as "no match", keeps unmatched events for later
  calls, and keeps its deadline;
- ``get_trace_tree`` never hangs and waits (10 s) for a trace still arriving; ``limit_exceeded`` is real;
- ``retry_until`` never sleeps past its deadline and pauses on retryable errors (no tight loop);
- ``generate_mock_event`` gives placeholders where aws-iatk failed (booleans, untyped properties,
  allOf/oneOf, several types) and applies tuples of contexts;
- ``patch_aws_client`` starts each call's trace with a real trace id (sent once per request), which
  :func:`trace_header_of` reads back;
- trace trees keep aws-iatk's nested types (``seg.http.request.url``, ``seg.cause.exceptions``,
  ``link.attributes.reference_type``) and add ``children``, ``inferred``, ``resource_arn``.

``error_code`` values: 400 a bad argument (found before any AWS call), 404 something asked for does
not exist (stack, output, resource, bus, rule, listener, schema), 408 a wait ran out of time (a trace
still incomplete), 500 an AWS call or a cleanup failed. The AWS error code, when there is one, is in
``aws_code`` (and ``code``, as on every :class:`iatk.IatkError`).

Where things live: :mod:`._errors` (``IatkException`` and the translation of core errors),
:mod:`._outputs` (the result records), :mod:`._xray_records` (the trace records, also
:mod:`iatk.xray`), :mod:`._client` (``AwsIatk``), whose method groups are :mod:`._listeners`,
:mod:`._traces`, :mod:`._retry` and :mod:`._mock_events` (with :mod:`._barebone`, aws-iatk's
placeholder generator).
"""

from __future__ import annotations

from ._client import AwsIatk
from ._errors import IatkException, InvalidParamException, RetryableException, error_code_for as error_code_for
from ._outputs import (
    AddEbListener_Resource,
    AddEbListenerOutput,
    GenerateBareboneEventOutput,
    GenerateMockEventOutput,
    GetStackOutputsOutput,
    GetTraceTreeOutput,
    GetTraceTreeParams,
    PhysicalIdFromStackOutput,
    PollEventsOutput,
    RemoveListeners_TagFilter,
    RemoveListenersOutput,
)
from ._retry import RETRY_FIRST_DELAY as RETRY_FIRST_DELAY, RETRY_MAX_DELAY as RETRY_MAX_DELAY
from ._traces import TRACE_TREE_TIMEOUT as TRACE_TREE_TIMEOUT, trace_header_of
from ._xray_records import (
    Cause,
    CauseException,
    Http,
    Link,
    LinkAttributes,
    ReferenceType,
    Request,
    Response,
    Segment,
    Sql,
    StackFrame,
    Subsegment,
    Trace,
    Tree,
)

__all__ = [
    "AddEbListenerOutput",
    "AddEbListener_Resource",
    "AwsIatk",
    "Cause",
    "CauseException",
    "GenerateBareboneEventOutput",
    "GenerateMockEventOutput",
    "GetStackOutputsOutput",
    "GetTraceTreeOutput",
    "GetTraceTreeParams",
    "Http",
    "IatkException",
    "InvalidParamException",
    "Link",
    "LinkAttributes",
    "PhysicalIdFromStackOutput",
    "PollEventsOutput",
    "ReferenceType",
    "RemoveListenersOutput",
    "RemoveListeners_TagFilter",
    "Request",
    "Response",
    "RetryableException",
    "Segment",
    "Sql",
    "StackFrame",
    "Subsegment",
    "Trace",
    "Tree",
    "trace_header_of",
]
