"""aws-iatk compatibility: the names of ``aws_iatk.poll_events``, so
``from aws_iatk.poll_events import InvalidParamException`` ports as
``from iatk.poll_events import InvalidParamException``.

``InvalidParamException`` is what ``AwsIatk.wait_until_event_matched`` raises for a
``timeout_seconds`` outside 1..999 (before any AWS call); here it is also an ``IatkException``
(``error_code`` 400) and a ``ValueError``. The types live in :mod:`iatk.compat`; iatk's own
listener API is :mod:`iatk.listener`.
"""

from __future__ import annotations

from .compat import InvalidParamException, PollEventsOutput

__all__ = ["InvalidParamException", "PollEventsOutput"]
