"""Traces: start a trace, send its header from boto3 clients, read it back as a tree (X-Ray or Transaction Search).

The road::

    header = iatk.new_trace_header()                  # Root=1-<8 hex>-<24 hex>;Sampled=1
    sfn = iatk.trace_client(boto3.client("stepfunctions"), header)  # every call carries it
    ...
    tree = iatk.get_trace_tree(header, within=30, until=lambda t: len(t.paths) >= 2)
    tree.assert_path(["AWS::StepFunctions::StateMachine", ..., "AWS::Lambda::Function"])
    print(tree.render())

Where the parts live:

- ``_header.py``: :class:`TraceHeader`, :func:`new_trace_header`, aws-xray-sdk's model classes
  loaded without its recorder;
- ``_patch.py``: :func:`trace_client` / :func:`untrace_client` (a botocore ``before-sign`` handler);
- ``_model.py``: :class:`Link`, :class:`Subsegment`, :class:`Segment`, :class:`Trace`,
  :class:`TraceTree` (frozen records built from segment documents);
- ``_render.py``: a tree's text form and the path pattern of ``assert_path``;
- ``_source.py``: the :class:`TraceSource` seam (trace ids in, raw traces out) and ``RawTrace``;
- ``_assemble.py``: raw traces into a tree (parents, separate subsegments, links), for every source;
- ``_xray.py``: the X-Ray source (``BatchGetTraces`` batches of 5, pages, ``Document`` parsing);
- ``_transaction_search.py``: the Transaction Search source (``StartTraceRetrieval`` /
  ``ListRetrievedTraces``, polled on ``RetrievalStatus``, cancelled at the end);
- ``_choose.py``: :func:`choose_trace_source`: the ``trace_source`` setting, or the account's
  ``GetTraceSegmentDestination`` (once per session, X-Ray when it fails);
- ``_get.py``: :func:`get_trace_tree`: a source, a deadline with backoff, ``until``;
- ``_helper.py``: :class:`TraceHelper`, the ``iatk_trace`` fixture's object.
"""

from __future__ import annotations

from ._assemble import MAX_LINK_DEPTH
from ._choose import TraceSourceChoice, choose_trace_source, forget_trace_source
from ._get import get_trace_tree
from ._header import TraceHeader, new_trace_header
from ._helper import TraceHelper
from ._model import Link, Segment, Subsegment, Trace, TraceTree
from ._patch import trace_client, untrace_client

__all__ = [
    "MAX_LINK_DEPTH",
    "Link",
    "Segment",
    "Subsegment",
    "Trace",
    "TraceHeader",
    "TraceHelper",
    "TraceSourceChoice",
    "TraceTree",
    "choose_trace_source",
    "forget_trace_source",
    "get_trace_tree",
    "new_trace_header",
    "trace_client",
    "untrace_client",
]
