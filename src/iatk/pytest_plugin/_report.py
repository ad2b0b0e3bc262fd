"""What the run reports: the header line, each failed test's last trace, the waits (SLA table and the
``iatk_wait`` junit property), kept resources (``iatk_kept``) and the cleanup summary."""

from __future__ import annotations

import os
import re
from collections.abc import Generator
from typing import Any

import pytest

from iatk import _tags
from iatk._text import truncate

from ._backend import Backend
from ._run import RunPlugin

WAIT_PROPERTY = "iatk_wait"
KEPT_PROPERTY = "iatk_kept"
#: The iatk_trace fixture's helper, on the item, for a failed test's report section.
TRACE_KEY: pytest.StashKey[Any] = pytest.StashKey()


class Records:
    """What the run did, for the terminal summary: waits, kept, swept and leftover resources, cleanup errors."""

    def __init__(self) -> None:
        self.waits: list[tuple[str, Any]] = []
        self.kept: list[str] = []
        self.swept: list[str] = []
        self.leftover: list[str] = []
        self.stacks_deleted: list[str] = []
        self.teardown_errors: list[str] = []


def wait_row(record: Any) -> str:
    """A listener wait as the JSON of an ``iatk_wait`` junit property (and a row of the SLA table)."""
    import json

    row = {
        "awaited": f"{record.kind}: {record.description}",
        "sla": record.sla,
        "latency": record.latency,
        "elapsed": round(record.elapsed, 3),
        "outcome": record.outcome,
        "started_at": record.started_at.isoformat(),
    }
    return json.dumps(row)


class Report(RunPlugin):
    """The plugin object that reports; it reads the run's backend for the header line."""

    def __init__(self, config: pytest.Config, records: Records, backend: Backend) -> None:
        super().__init__(config)
        self.records = records
        self.backend = backend

    # -- header --------------------------------------------------------------------------------
    def pytest_report_header(self, config: pytest.Config) -> list[str]:
        if self.run.worker:
            return []
        settings = self.run.settings
        backend = self.backend.embedded
        if backend is not None:
            where = f"moto (embedded, {backend.url})"
            region, account = backend.region, _account()
        elif self.run.asked_for_iatk:
            where = "aws" + (f" via {settings.endpoint_url}" if settings.endpoint_url else "")
            region, account = _session_region(), _account()
        else:  # iatk installed but not asked for: no boto3, no AWS call
            where = "aws"
            region = settings.region or os.environ.get("AWS_DEFAULT_REGION") or "(the AWS profile's, else AWS_REGION)"
            account = "- (not read: no iatk setting given)"
        line = f"iatk: backend {where}, region {region}, account {account}, stack {settings.stack or '-'}"
        lines = [f"{line}, run id {_tags.current_run_id()}"]
        if backend is not None or self.run.asked_for_iatk:
            lines.append(_traces_line(account))
        return lines

    # -- per test ------------------------------------------------------------------------------
    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_protocol(
        self, item: pytest.Item, nextitem: pytest.Item | None
    ) -> Generator[None, object, object]:
        from iatk.waiting import subscribe_waits  # no boto3: the registry lives outside the listener

        # Every listener wait during the item (setup, call, teardown), whoever made the listener, goes to
        # the SLA table and to junit; the teardown report carries it, so xdist workers' waits reach it too.
        unsubscribe = subscribe_waits(
            lambda _listener, record: item.user_properties.append((WAIT_PROPERTY, wait_row(record)))
        )
        try:
            return (yield)
        finally:
            unsubscribe()

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_makereport(self, item: pytest.Item, call: pytest.CallInfo[None]) -> Generator[None, Any, Any]:
        report = yield
        helper = item.stash.get(TRACE_KEY, None)
        if helper is not None and report.failed and report.when == "call":
            text = helper.report()
            if text:
                report.sections.append(("iatk: last X-Ray trace", text))
        return report

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        """Collect waits and kept resources from reports' user_properties (the xdist controller sees the workers')."""
        if report.when != "teardown":
            return
        import json

        for name, value in report.user_properties:
            if name == WAIT_PROPERTY:
                self.records.waits.append((report.nodeid, json.loads(str(value))))
            elif name == KEPT_PROPERTY:
                self.records.kept.append(str(value))

    # -- summary -------------------------------------------------------------------------------
    def pytest_terminal_summary(self, terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
        records = self.records
        _sla_summary(terminalreporter, records)
        _cleanup_summary(terminalreporter, records)
        if records.kept:
            terminalreporter.section("iatk: kept harness resources (--iatk-keep)")
            for arn in records.kept:
                terminalreporter.line(arn)


def _session_region() -> str:
    """The region the run's session really uses (settings, boto3's chain, then AWS_REGION)."""
    from iatk._aws import default_session

    try:
        return default_session().region_name or "? (none: set --iatk-region or AWS_REGION)"
    except Exception as err:  # the header must never break a run
        return f"? ({_short(err)})"


def _account() -> str:
    """The account id from one quick STS call, or ``?`` and why (the header must never break a run)."""
    from iatk._aws import read_account

    try:
        return read_account()
    except Exception as err:
        return f"? ({_short(err)})"


def _traces_line(account: str) -> str:
    """Where this run reads traces from, and why (``auto`` asks the account once; the answer is cached).

    When the account could not be read, the backend is unreachable: nothing more is asked, so the
    header never waits on a second dead call.
    """
    if account.startswith("?"):
        return "iatk: traces: not chosen at start (no answer from AWS); chosen at the first trace read"
    from iatk.trace import choose_trace_source

    try:
        choice = choose_trace_source()
    except Exception as err:  # the header must never break a run
        return f"iatk: traces: ? ({_short(err)})"
    return f"iatk: {choice.describe()}"


def _short(err: BaseException, limit: int = 100) -> str:
    return truncate(" ".join(str(err).split()), limit, ellipsis="...")


def _cleanup_summary(terminalreporter: Any, records: Records) -> None:
    sections: tuple[tuple[list[str], str, dict[str, bool]], ...] = (
        (records.swept, "iatk: swept expired harness resources (--iatk-sweep)", {}),
        (records.leftover, "iatk: harness resources left behind by this run (removed at session end)", {}),
        (records.stacks_deleted, "iatk: test stacks of this run (deleted at session end)", {}),
        (
            records.teardown_errors,
            "iatk: cleanup errors (resources may be left: run `iatk cleanup --run-id ...`)",
            {"red": True},
        ),
    )
    for lines, title, markup in sections:
        if lines:
            terminalreporter.section(title)
            for line in lines:
                terminalreporter.line(line, **markup)


#: The SLA table's "awaited" column wraps at this width (the whole text is in the ``iatk_wait`` junit property).
AWAITED_WIDTH = 60


def _sla_summary(terminalreporter: Any, records: Records) -> None:
    import textwrap

    if not records.waits:
        return
    terminalreporter.section("iatk: waits and SLAs")
    rows: list[tuple[str, list[str], str, str, str]] = [("test", ["awaited"], "SLA s", "latency s", "outcome")]
    for nodeid, row in records.waits:
        latency = "-" if row.get("latency") is None else f"{row['latency']:.3f}"
        awaited = re.sub(r" on listener iatk_eb_\w+", "", str(row.get("awaited", ""))).replace("an event matching ", "")
        lines = textwrap.wrap(awaited, AWAITED_WIDTH, break_on_hyphens=False) or [""]
        rows.append((nodeid.split("::", 1)[-1], lines, f"{row.get('sla', 0):g}", latency, str(row.get("outcome"))))
    widths = [
        max(len(r[0]) for r in rows),
        max(len(line) for r in rows for line in r[1]),
        *(max(len(r[i]) for r in rows) for i in (2, 3, 4)),
    ]
    for test, lines, sla, latency, outcome in rows:
        for index, part in enumerate(lines):  # a long "awaited" continues on the next lines, in its column
            cells = (test, part, sla, latency, outcome) if index == 0 else ("", part, "", "", "")
            terminalreporter.line("  ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)).rstrip())
