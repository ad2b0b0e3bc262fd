"""The run's files and pages: ``--iatk-artifacts DIR``, ``--iatk-sla-log FILE``, the pytest-html section
of each test, and the GitHub Actions job summary. The rendering is :mod:`iatk.reports`'s; this wires it.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Generator
from pathlib import Path
from typing import Any

import pytest

from iatk import _tags

from ._backend import Backend
from ._report import TRACE_KEY, WAIT_PROPERTY, Records
from ._run import RunPlugin

#: (option, ini key, help); each also reads ``IATK_<NAME>`` (option > ini > env).
OUTPUT_OPTIONS = (
    (
        "--iatk-artifacts",
        "iatk_artifacts",
        (
            "write, per failed test, its trace (trace.json as X-Ray returns it, timeline.svg) and the events its "
            "failed wait received (events.jsonl) into DIR/<test>/ [env: IATK_ARTIFACTS]"
        ),
    ),
    (
        "--iatk-sla-log",
        "iatk_sla_log",
        (
            "write every listener wait of the run (test, awaited, SLA, latency, outcome, run id, backend, commit) "
            "to FILE as JSON lines, for `iatk report` [env: IATK_SLA_LOG]"
        ),
    ),
)
#: What a failed test's call left for the reports: its failed wait and trace tree.
FAILED_KEY = pytest.StashKey[Any]()


def _path_setting(config: pytest.Config, ini: str) -> Path | None:
    value = config.getoption(ini, None) or config.getini(ini) or os.environ.get(ini.upper())
    return Path(str(value)) if value else None


def _safe(nodeid: str) -> str:
    """A folder name for a test id (``tests/test_a.py::test_b[x]`` → ``tests_test_a.py__test_b_x_``)."""
    return re.sub(r"[^A-Za-z0-9_.-]", "_", nodeid)[:180]


def xray_response(tree: Any) -> dict[str, Any]:
    """The tree's traces in BatchGetTraces' response shape (each segment's document as JSON text)."""
    traces = [tree.source_trace, *getattr(tree, "linked_traces", ())]
    return {
        "Traces": [
            {
                "Id": trace.id,
                "Duration": trace.duration,
                "LimitExceeded": trace.limit_exceeded,
                "Segments": [{"Id": doc.get("id"), "Document": json.dumps(doc)} for doc in trace.documents],
            }
            for trace in traces
        ],
        "UnprocessedTraceIds": [],
    }


def _tree_of(item: pytest.Item) -> Any:
    helper = item.stash.get(TRACE_KEY, None)
    tree = None if helper is None else helper.last_tree
    return tree if hasattr(tree, "roots") and hasattr(tree, "source_trace") else None


class Outputs(RunPlugin):
    """Per test: the failed wait and trace for the HTML section and the artifacts; per run: the SLA log and summary."""

    def __init__(self, config: pytest.Config, records: Records, backend: Backend) -> None:
        super().__init__(config)
        self.records = records
        self.backend = backend
        self.run_id = ""
        self.backend_label = "aws"

    def pytest_sessionstart(self, session: pytest.Session) -> None:
        self.run_id = _tags.current_run_id()
        embedded = self.backend.embedded  # read now: the server is stopped before the summary is written
        if embedded is not None:
            self.backend_label = f"moto (embedded, {embedded.url})"

    @property
    def backend_name(self) -> str:
        return "moto" if self.backend.embedded is not None else "aws"

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_makereport(self, item: pytest.Item, call: pytest.CallInfo[None]) -> Generator[None, Any, Any]:
        report = yield
        if report.when != "call":
            return report
        failed_wait = None
        if report.failed and call.excinfo is not None:
            from iatk.reports import FailedWait

            failed_wait = FailedWait.from_error(call.excinfo.value)
        tree = _tree_of(item)
        if report.failed:
            item.stash[FAILED_KEY] = failed_wait
            folder = _path_setting(self.config, "iatk_artifacts")
            if folder is not None and (failed_wait is not None or tree is not None):
                self._write_artifacts(folder / _safe(item.nodeid), failed_wait, tree)
        if self.config.pluginmanager.hasplugin("html"):
            self._html_extras(item, report, failed_wait, tree)
        return report

    def _write_artifacts(self, folder: Path, failed_wait: Any, tree: Any) -> None:
        from iatk.reports import timeline_svg

        folder.mkdir(parents=True, exist_ok=True)
        if tree is not None:
            (folder / "trace.json").write_text(json.dumps(xray_response(tree), indent=2), encoding="utf-8")
            (folder / "timeline.svg").write_text(timeline_svg(tree), encoding="utf-8")
        if failed_wait is not None:
            (folder / "events.jsonl").write_text(failed_wait.events_jsonl(), encoding="utf-8")
            (folder / "wait.txt").write_text(failed_wait.message + "\n", encoding="utf-8")

    def _html_extras(self, item: pytest.Item, report: pytest.TestReport, failed_wait: Any, tree: Any) -> None:
        from pytest_html import extras  # type: ignore[import-untyped]

        from iatk.reports import html_section

        waits = [json.loads(str(value)) for name, value in item.user_properties if name == WAIT_PROPERTY]
        helper = item.stash.get(TRACE_KEY, None)
        text = None if helper is None else helper.report()
        section = html_section(waits, [failed_wait] if failed_wait else [], tree, text)
        if section:
            report.extras = [*getattr(report, "extras", []), extras.html(section)]  # type: ignore[attr-defined]

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        """The SLA log, written when the run's waits are all in (the xdist controller has the workers')."""
        if self.run.worker:
            return
        path = _path_setting(self.config, "iatk_sla_log")
        if path is None:
            return
        from iatk.reports import ci_commit, sla_log_line

        commit = ci_commit()
        lines = [
            json.dumps(sla_log_line(nodeid, row, run_id=self.run_id, backend=self.backend_name, commit=commit))
            for nodeid, row in self.records.waits
        ]
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")

    def pytest_unconfigure(self, config: pytest.Config) -> None:
        """On GitHub Actions (``GITHUB_STEP_SUMMARY`` set), append the run's Markdown summary to the job's."""
        target = os.environ.get("GITHUB_STEP_SUMMARY")
        if not target or self.run.worker or not self.run_id:
            return
        records = self.records
        used = records.waits or records.leftover or records.swept or records.teardown_errors
        if not (used or self.run.asked_for_iatk):
            return  # iatk installed, not used: nothing to say
        from iatk.reports import markdown_summary

        text = markdown_summary(
            backend=self.backend_label,
            run_id=self.run_id,
            waits=[(nodeid.split("::", 1)[-1], row) for nodeid, row in records.waits],
            leftover=records.leftover,
            cleanup={
                "Swept (expired, --iatk-sweep)": records.swept,
                "Test stacks deleted at session end": records.stacks_deleted,
                "Cleanup errors (run `iatk cleanup --run-id ...`)": records.teardown_errors,
            },
        )
        with open(target, "a", encoding="utf-8") as handle:
            handle.write(text)
