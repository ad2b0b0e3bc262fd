"""aws-iatk compatibility: the names of ``aws_iatk.xray``, so ``from aws_iatk.xray import Segment``
ports as ``from iatk.xray import Segment``.

The types live in :mod:`iatk.compat`; this module only gives them aws-iatk's module path. iatk's own
trace API is :mod:`iatk.trace`.
"""

from __future__ import annotations

from .compat import (
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

# aws-iatk calls the exception record of a cause ``xray.Exception``; the name shadows the builtin in
# this module only, as it does in aws-iatk's.
Exception = CauseException

__all__ = [
    "Cause",
    "CauseException",
    "Exception",
    "Http",
    "Link",
    "LinkAttributes",
    "ReferenceType",
    "Request",
    "Response",
    "Segment",
    "Sql",
    "StackFrame",
    "Subsegment",
    "Trace",
    "Tree",
]
