"""Cleanup wiring (the core is :mod:`iatk.cleanup`): SIGTERM as Ctrl-C, ``--iatk-sweep`` at session
start, and removal of what the run left at session end: only what it owns (its ``iatk:owner``), so
two jobs that share an ``IATK_RUN_ID`` do not remove each other's live resources; a live run with the
same id is detected at start and warned about."""

from __future__ import annotations

import os
import tempfile
import warnings
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
        self.twin_checked = False

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
            if not self.twin_checked:
                self.twin_checked = True
                self._warn_about_a_live_twin()

    @pytest.hookimpl(optionalhook=True)
    def pytest_configure_node(self, node: Any) -> None:
        # xdist controller: the workers' resources are the controller's (one owner per run).
        node.workerinput["iatk_owner"] = _tags.current_owner()

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

    def _warn_about_a_live_twin(self) -> None:
        """With ``IATK_RUN_ID`` set on AWS: warn when resources of another owner carry the same run id.

        A run id made by iatk is fresh (and the embedded server is new per run), so only an id from the
        environment can be shared; then, when the run first uses AWS (its first ``iatk_session``), the
        queues and stacks with that run id are listed, once per run on this host (the xdist workers
        share a marker file). A twin on this host whose process is gone is a killed run, not a live
        one: its leftovers are only mentioned.
        """
        run_id = os.environ.get("IATK_RUN_ID")
        if not run_id or self.backend.embedded is not None:
            return
        try:
            marker = _owner_marker("twin-checked")
            with marker.open("x"):  # the first process of the run on this host checks
                pass
        except OSError:
            return
        from iatk._aws import default_session
        from iatk.cleanup import find_harness_resources

        owner = _tags.current_owner()
        try:
            found = find_harness_resources(run_id=run_id, session=default_session(), types=("queue", "stack"))
        except Exception as err:  # the check only warns: never stop a run for it
            self.records.teardown_errors.append(f"checking for another run with run id {run_id}: {why(err)}")
            return
        live: set[str] = set()
        dead: set[str] = set()
        for resource in found:
            other = resource.owner
            if not other or other == owner:
                continue
            (dead if _gone(other) else live).add(other)
        if live:
            warnings.warn(
                pytest.PytestWarning(
                    f"iatk: another run with run id {run_id!r} is live ({', '.join(sorted(live))} owns resources "
                    f"tagged iatk:run-id={run_id}). Each run removes only what it owns (iatk:owner), but cleanups "
                    "by run id (`iatk cleanup --run-id`) and deploy_once's stack reuse cannot tell the two apart: "
                    "give each job its own IATK_RUN_ID (e.g. add the CI job id: IATK_RUN_ID=$PIPELINE_ID-$JOB_ID), "
                    "or unset it and iatk makes a fresh one per run."
                ),
                stacklevel=1,
            )
        if dead:
            warnings.warn(
                pytest.PytestWarning(
                    f"iatk: resources tagged iatk:run-id={run_id} were left by a run that is no longer running "
                    f"({', '.join(sorted(dead))}); `iatk cleanup --run-id {run_id}` removes them."
                ),
                stacklevel=1,
            )

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
        _owner_marker("twin-checked").unlink(missing_ok=True)
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
        # Only what this run owns: another job with the same IATK_RUN_ID may still be using its own.
        mine: dict[str, str | None] = {_tags.TAG_OWNER: _tags.current_owner()}
        try:
            if settings.keep:
                kept = find_harness_resources(run_id=run_id, tags=mine, session=default_session(), types=types)
                records.kept += [r.arn for r in kept if r.arn not in records.kept]
                return
            report = cleanup(run_id=run_id, tags=mine, session=default_session(), types=types, check=False)
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


def _owner_marker(what: str) -> Path:
    """A file named after this run's owner (unique per run, unlike the run id)."""
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in _tags.current_owner())
    return Path(tempfile.gettempdir()) / f"iatk-{safe}-{what}"


def _gone(owner: str) -> bool:
    """Whether an owner's process is known to be gone: on this host, no process with its pid."""
    parsed = _tags.parse_owner(owner)
    if parsed is None or parsed[0] != _tags.this_host():
        return False  # another host's: cannot tell, so taken as live
    try:
        os.kill(parsed[1], 0)
    except ProcessLookupError:
        return True
    except OSError:  # it exists (owned by someone else)
        return False
    return False
