"""The pytest fixture's helper: :class:`TraceHelper` (what ``iatk_trace`` gives)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from iatk.exceptions import ConfigError, TraceIncomplete, WaitTimeout

from ._get import get_trace_tree
from ._header import TraceHeader, new_trace_header
from ._model import TraceTree
from ._patch import trace_client, untrace_client

if TYPE_CHECKING:
    import boto3
    from botocore.client import BaseClient


class TraceHelper:
    """Per-test trace helper (what the ``iatk_trace`` fixture gives).

    It keeps one current header for the test, patches clients with it, reads trees with the run's
    deadline, and remembers the last tree (or the last "incomplete" report) for the failure report.
    ``close()`` (or leaving the ``with`` block) unpatches every client it patched.

    Example::

        def test_flow(iatk_trace, iatk_session):
            sfn = iatk_trace.patch(iatk_session.client("stepfunctions"))
            sfn.start_execution(stateMachineArn=arn, input="{}")
            tree = iatk_trace.get_tree(until=lambda t: t.find(origin="AWS::Lambda::Function"))
            tree.assert_path(["AWS::StepFunctions::StateMachine", ..., "AWS::Lambda::Function"])
    """

    def __init__(
        self, *, session: boto3.Session | None = None, within: float | str | None = None, follow_links: bool = False
    ) -> None:
        self.session = session
        self.within = within
        self.follow_links = follow_links
        self.header: TraceHeader | None = None
        self.last_tree: TraceTree | None = None
        self.last_report: str | None = None
        self._clients: list[Any] = []

    def new_header(self, sampled: bool = True) -> TraceHeader:
        """Make a new header and make it the current one (used by :meth:`patch` and :meth:`get_tree`)."""
        self.header = new_trace_header(sampled)
        return self.header

    def patch(self, client: BaseClient, header: TraceHeader | str | None = None) -> Any:
        """Send a trace header on every call of ``client`` (default: the current header, made if needed).

        Returns:
            The same client, so ``sfn = iatk_trace.patch(session.client("stepfunctions"))`` reads well.
        """
        if header is not None:
            self.header = TraceHeader.parse(header)
        elif self.header is None:
            self.new_header()
        trace_client(client, self.header)
        if all(c is not client for c in self._clients):
            self._clients.append(client)
        return client

    def get_tree(
        self,
        trace: str | TraceHeader | Mapping[str, Any] | None = None,
        *,
        within: float | str | None = None,
        until: Callable[[TraceTree], object] | None = None,
        follow_links: bool | None = None,
    ) -> TraceTree:
        """:func:`get_trace_tree` for ``trace`` (default: the current header), remembering the result.

        IAM permissions:
            ``xray:BatchGetTraces``.
        """
        __tracebackhide__ = True
        target = trace if trace is not None else self.header
        if target is None:
            raise ConfigError("no trace yet: call new_header() or patch(client) first, or pass a trace id")
        try:
            tree = get_trace_tree(
                target,
                within=self.within if within is None else within,
                until=until,
                follow_links=self.follow_links if follow_links is None else follow_links,
                session=self.session,
            )
        except WaitTimeout as err:
            if isinstance(err.last, TraceTree):
                self.last_tree = err.last
            self.last_report = str(err)
            raise
        except TraceIncomplete as err:
            self.last_report = str(err)
            raise
        self.last_tree = tree
        self.last_report = tree.render()
        return tree

    def report(self) -> str | None:
        """Text for a failed test's report: the last tree fetched (or why it was incomplete)."""
        return self.last_report

    def close(self) -> None:
        """Unpatch every client this helper patched."""
        while self._clients:
            untrace_client(self._clients.pop())

    def __enter__(self) -> TraceHelper:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
