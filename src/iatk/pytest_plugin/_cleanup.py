"""Cleanup wiring (the core is :mod:`iatk.cleanup`): SIGTERM as Ctrl-C, ``--iatk-sweep`` at session
start, and removal of what the run left at session end."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import pytest

from iatk import _tags

from ._backend import Backend
from ._report import Records
from ._run import RunPlugin, why


def _sigterm_as_interrupt(signum: int, frame: Any) -> None:
    # KeyboardInterrupt takes pytest's Ctrl-C path: the session still finishes, so every fixture's
    # finalizer (listener teardown) and the session-end cleanup below run before the process exits.
    raise KeyboardInterrupt(f"iatk: received signal {signum} (SIGTERM); tearing down as for Ctrl-C")


def _aws_used_marker() -> Path:
    """A file an xdist worker touches when it uses AWS: the controller sees it even if the worker is
    interrupted or killed before its workeroutput (the other channel) reaches the controller."""
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in _tags.current_run_id())
    return Path(tempfile.gettempdir()) / f"iatk-{safe}-used-aws"


class SessionCleanup(RunPlugin):
    """Per run and process: whether iatk touched AWS, the SIGTERM handler, the sweep and the session-end cleanup.

    What it swept, removed or failed to remove goes to the run's :class:`Records` (the summary's).
    """

    def __init__(self, config: pytest.Config, records: Records, backend: Backend) -> None:
        super().__init__(config)
        self.records = records
        self.backend = backend
        self.used_aws = False
        self.previous_sigterm: Any = None
        self.installed_sigterm = False

    def pytest_configure(self, config: pytest.Config) -> None:
        """Make SIGTERM behave like Ctrl-C (controller and xdist workers; main thread; default handler only)."""
        import signal
        import threading

        if threading.current_thread() is not threading.main_thread():
            return  # signal handlers can only be set from the main thread
        if signal.getsignal(signal.SIGTERM) in (signal.SIG_DFL, None):  # never replace someone else's handler
            self.previous_sigterm = signal.signal(signal.SIGTERM, _sigterm_as_interrupt)
            self.installed_sigterm = True

    def pytest_unconfigure(self, config: pytest.Config) -> None:
        import signal

        if self.installed_sigterm and signal.getsignal(signal.SIGTERM) is _sigterm_as_interrupt:
            signal.signal(signal.SIGTERM, self.previous_sigterm or signal.SIG_DFL)
            self.installed_sigterm = False

    def pytest_fixture_setup(self, fixturedef: Any, request: Any) -> None:
        # Every AWS-facing fixture depends on iatk_session: its setup is the signal that the run used AWS.
        if fixturedef.argname == "iatk_session":
            self.used_aws = True
            if self.run.worker:
                _aws_used_marker().touch()

    @pytest.hookimpl(optionalhook=True)
    def pytest_testnodedown(self, node: Any, error: Any) -> None:
        # xdist controller: a worker that used AWS says so in its workeroutput.
        if getattr(node, "workeroutput", {}).get("iatk_used_aws"):
            self.used_aws = True

    @pytest.hookimpl(tryfirst=True)
    def pytest_sessionstart(self, session: pytest.Session) -> None:
        """--iatk-sweep: remove expired harness resources (any run's) before tests start; controller only."""
        if self.run.worker:
            return
        _aws_used_marker().unlink(missing_ok=True)  # a stale one, from an earlier run with the same IATK_RUN_ID
        if not self.run.settings.sweep:
            return  # no sweep asked: no AWS call at all
        from iatk._aws import default_session
        from iatk.cleanup import cleanup

        records = self.records
        try:
            report = cleanup(expired=True, session=default_session(), check=False)
        except Exception as err:  # reported in the summary, never an INTERNALERROR
            records.teardown_errors.append(f"--iatk-sweep: {why(err)}")
            return
        records.swept += [f"{r.kind} {r.arn} (run {r.run_id or 'none: aws-iatk'})" for r in report.deleted]
        records.teardown_errors += [f"--iatk-sweep: {f.resource.arn}: {f.error}" for f in report.failed]

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        """Remove what this run left (after every fixture finalizer ran: trylast), unless --iatk-keep.

        Controller (or single process) only, and only when the run may have made resources (an iatk
        fixture was used, here or in an xdist worker, or the embedded backend runs), so a run that never
        touched AWS makes no AWS call here.
        """
        config = session.config
        if self.run.worker:
            config.workeroutput["iatk_used_aws"] = self.used_aws  # type: ignore[attr-defined]
            return
        settings = self.run.settings
        embedded = self.backend.embedded is not None
        marker = _aws_used_marker()
        if marker.exists():
            self.used_aws = True
            marker.unlink(missing_ok=True)
        if not (self.used_aws or embedded):
            return
        from iatk._aws import default_session
        from iatk.cleanup import STACK, cleanup, find_harness_resources

        records = self.records
        run_id = _tags.current_run_id()
        # The embedded server (and its stacks) goes away with the run; on AWS this run's test stacks go too.
        types = ("queue", "rule") if embedded else None
        try:
            if settings.keep:
                kept = find_harness_resources(run_id=run_id, session=default_session(), types=types)
                records.kept += [r.arn for r in kept if r.arn not in records.kept]
                return
            report = cleanup(run_id=run_id, session=default_session(), types=types, check=False)
        except Exception as err:  # a bad session or setting here is reported in the summary, not a traceback
            records.teardown_errors.append(f"session-end cleanup of run {run_id}: {why(err)}")
        else:
            records.leftover += [r.arn for r in report.deleted if r.type != STACK]
            records.stacks_deleted += [r.arn for r in report.deleted if r.type == STACK]
            records.teardown_errors += [f"session-end cleanup: {f.resource.arn}: {f.error}" for f in report.failed]
            if not report.failed:
                return
        if session.exitstatus == pytest.ExitCode.OK:
            session.exitstatus = pytest.ExitCode.TESTS_FAILED  # resources are leaking: the run must not pass
