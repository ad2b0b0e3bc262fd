"""Two runs that share IATK_RUN_ID: each run's teardown removes only what it owns (``iatk:owner``), and
a live run with the same id is detected when the run first uses AWS, with what to set instead.

The other run is played by resources made here with the same run id and another owner: a live job
on another CI host, and a killed one on this host (a process that has exited).
"""

from __future__ import annotations

import secrets
import subprocess
import sys

from cleanup_harness import make_harness

from iatk import _tags
from iatk.cleanup import find_harness_resources

LEAKY = """
import os, pathlib
from cleanup_harness import make_harness

HERE = pathlib.Path(os.environ["IATK_TEST_DIR"])


def test_leaks_a_listener(iatk_session, iatk_run_id):
    harness_id = make_harness(iatk_session, run_id=iatk_run_id)
    (HERE / "leak").write_text(harness_id)
"""


def test_a_run_removes_only_what_it_owns_and_warns_about_a_live_twin(account, child_run):
    run_id = "shared-" + secrets.token_hex(4)
    live_owner = "ci-runner-b/4242/2026-01-01T00:00:00Z"
    live = make_harness(account.session, run_id=run_id, override={_tags.TAG_OWNER: live_owner})
    exited = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True, timeout=60
    )
    dead_owner = f"{_tags.this_host()}/{exited.stdout.strip()}/2026-01-01T00:00:00Z"
    dead = make_harness(account.session, run_id=run_id, override={_tags.TAG_OWNER: dead_owner})
    child = child_run(LEAKY, run_id=run_id)
    assert child.wait() == 0, child.text()
    output = " ".join(child.text().split())  # the warning is wrapped in the summary
    own = (child.folder / "leak").read_text()
    assert f"another run with run id '{run_id}' is live ({live_owner} owns resources" in output
    assert "give each job its own IATK_RUN_ID" in output
    assert f"left by a run that is no longer running ({dead_owner})" in output
    assert f"`iatk cleanup --run-id {run_id}` removes them" in output
    left = {(r.kind, r.id, r.owner) for r in find_harness_resources(run_id=run_id, session=account.session)}
    assert left == {
        ("queue", live, live_owner),
        ("rule", live, live_owner),
        ("queue", dead, dead_owner),
        ("rule", dead, dead_owner),
    }
    assert own not in {harness_id for _, harness_id, _ in left}  # its own went at session end


def test_a_run_id_nobody_else_holds_gets_no_warning(account, child_run):
    """The check finds only this run's own resources: it warns about nothing."""
    child = child_run(LEAKY, run_id="alone-" + secrets.token_hex(4))
    assert child.wait() == 0, child.text()
    assert "another run with run id" not in child.text()
    assert "no longer running" not in child.text()
