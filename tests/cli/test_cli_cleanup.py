"""`iatk list` and `iatk cleanup`: filters, table and JSON, confirmation, dry run, progress, exit codes."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parents[1] / "functional" / "cleanup"))

from cleanup_harness import REGION, make_harness, make_queue, make_stack, new_account, snapshot

from iatk import _tags
from iatk.cli import main


@pytest.fixture
def acct(embedded, monkeypatch):
    """A fresh moto account, its credentials in the environment (the CLI builds its own session)."""
    account = new_account(embedded)
    for key in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "IATK_ENDPOINT_URL", "IATK_REGION", "IATK_PROFILE"):
        monkeypatch.delenv(key, raising=False)
    for key, value in account.env.items():
        monkeypatch.setenv(key, value)
    return account


class _Stdin(io.StringIO):
    """A stdin that says whether it is a terminal (the CLI asks only on one)."""

    def __init__(self, text: str = "", tty: bool = False) -> None:
        super().__init__(text)
        self.tty = tty

    def isatty(self) -> bool:
        return self.tty


@pytest.fixture
def stdin(monkeypatch):
    """Factory: replace sys.stdin with text, as a terminal or not."""

    def use(text: str = "", tty: bool = False) -> _Stdin:
        fake = _Stdin(text, tty)
        monkeypatch.setattr(sys, "stdin", fake)
        return fake

    return use


def test_list_prints_a_table_of_harness_resources(acct, capsys):
    """`iatk list` prints one row per queue and rule: region, kind, id, run id, created, expiry."""
    old = datetime.now(timezone.utc) - timedelta(hours=3)
    mine = make_harness(acct.session, run_id="run-1")
    legacy = make_harness(acct.session, legacy=True, created=old)
    make_queue(acct.session, _tags.new_harness_id())  # untagged: never listed
    assert main(["list", *acct.cli]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["REGION", "KIND", "ID", "RUN", "ID", "CREATED", "EXPIRES"]
    assert len(lines) == 5
    legacy_rows = [line for line in lines if legacy in line]
    assert len(legacy_rows) == 2
    assert all("- (aws-iatk)" in row and "(expired)" in row for row in legacy_rows)
    mine_rows = [line.split() for line in lines if mine in line]
    assert sorted(row[1] for row in mine_rows) == ["queue", "rule"]
    assert all(row[0] == REGION and row[3] == "run-1" for row in mine_rows)


def test_list_json_and_filters(acct, capsys):
    """`iatk list --json` prints records; --run-id, --tag and --type filter them (AND)."""
    a = make_harness(acct.session, run_id="run-a", user_tags={"team": "x"})
    make_harness(acct.session, run_id="run-b", user_tags={"team": "x"})
    assert main(["list", "--json", "--run-id", "run-a", "--tag", "team=x", "--type", "queue", *acct.cli]) == 0
    records = json.loads(capsys.readouterr().out)
    assert [(r["kind"], r["id"], r["run_id"]) for r in records] == [("queue", a, "run-a")]
    assert records[0]["tags"]["team"] == "x"
    assert main(["list", "--json", "--tag", "team", *acct.cli]) == 0
    assert len(json.loads(capsys.readouterr().out)) == 4


def test_list_nothing_found(acct, capsys):
    """With nothing to list, `iatk list` says so and exits 0."""
    assert main(["list", "--expired", *acct.cli]) == 0
    assert capsys.readouterr().out.strip() == "no iatk harness resources found"


def test_bad_filter_is_a_usage_error(acct, capsys):
    """An unreadable --older-than is a usage error (exit 2) naming the option."""
    assert main(["cleanup", "--older-than", "soon", "--yes", *acct.cli]) == 2
    assert "--older-than" in capsys.readouterr().err
    assert main(["list", "--tag", "=v", *acct.cli]) == 2


def test_cleanup_run_id_yes_deletes_and_summarises(acct, capsys):
    """`iatk cleanup --run-id X --yes` deletes that run's resources and ends with the summary."""
    mine = make_harness(acct.session, run_id="run-1")
    other = make_harness(acct.session, run_id="run-2")
    assert main(["cleanup", "--run-id", "run-1", "--yes", *acct.cli]) == 0
    out = capsys.readouterr().out
    assert mine in out
    assert out.splitlines()[-1] == "iatk cleanup: deleted 2, skipped 0, failed 0"
    assert snapshot(acct.session) == {("queue", other), ("rule", f"default/{other}")}


def test_cleanup_needs_a_filter_or_all(acct, capsys, stdin):
    """Without a filter `iatk cleanup` refuses (exit 2); --all cleans every tagged resource, no decoy."""
    stdin()
    harness = make_harness(acct.session, run_id="run-1")
    decoy = _tags.new_harness_id()
    make_queue(acct.session, decoy)
    assert main(["cleanup", "--yes", *acct.cli]) == 2
    assert "give a filter" in capsys.readouterr().err
    assert ("queue", harness) in snapshot(acct.session)
    assert main(["cleanup", "--all", "--yes", *acct.cli]) == 0
    assert snapshot(acct.session) == {("queue", decoy)}


def test_cleanup_without_yes_and_without_a_terminal_refuses(acct, capsys, stdin):
    """In CI (stdin not a terminal) and without --yes, cleanup refuses with exit 2 and says why."""
    stdin(tty=False)
    make_harness(acct.session, run_id="run-1")
    before = snapshot(acct.session)
    assert main(["cleanup", "--run-id", "run-1", *acct.cli]) == 2
    err = capsys.readouterr().err
    assert "refusing to delete without --yes: stdin is not a terminal" in err
    assert snapshot(acct.session) == before


@pytest.mark.parametrize(("answer", "code", "deleted"), [("y\n", 0, True), ("n\n", 1, False), ("\n", 1, False)])
def test_cleanup_asks_on_a_terminal(acct, capsys, stdin, answer, code, deleted):
    """On a terminal, cleanup shows the resources and asks; only y/yes deletes."""
    stdin(answer, tty=True)
    make_harness(acct.session, run_id="run-1")
    assert main(["cleanup", "--run-id", "run-1", *acct.cli]) == code
    captured = capsys.readouterr()
    assert "Delete these 2 resource(s) in us-east-1? [y/N]" in captured.err
    assert (snapshot(acct.session) == set()) is deleted


def test_dry_run_deletes_nothing_and_needs_no_confirmation(acct, capsys, stdin):
    """--dry-run lists what would go, deletes nothing, and runs without --yes in CI."""
    stdin(tty=False)
    make_harness(acct.session, run_id="run-1")
    before = snapshot(acct.session)
    assert main(["cleanup", "--run-id", "run-1", "--dry-run", *acct.cli]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == (
        "iatk cleanup: would delete 2, skipped 0, failed 0 (dry run: nothing deleted)"
    )
    assert snapshot(acct.session) == before


def test_cleanup_json_report(acct, capsys):
    """--json prints the report: deleted, skipped (with reasons), failed, planned."""
    harness = make_harness(acct.session, run_id="run-1")
    assert main(["cleanup", "--run-id", "run-1", "--yes", "--json", *acct.cli]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["ok"] is True
    assert {(r["kind"], r["id"]) for r in report["deleted"]} == {("rule", harness), ("queue", harness)}
    assert report["failed"] == []


def test_no_progress_without_a_terminal(acct, capsys):
    """Stderr not a terminal (CI logs, pipes): no progress line at all, only the summary on stdout."""
    for _ in range(6):
        make_harness(acct.session, run_id="run-p")
    assert main(["cleanup", "--run-id", "run-p", "--yes", *acct.cli]) == 0
    captured = capsys.readouterr()
    assert "12/12" not in captured.err
    assert "\r" not in captured.err
    assert captured.out.splitlines()[-1] == "iatk cleanup: deleted 12, skipped 0, failed 0"


def _on_a_terminal(argv, env):
    """Run `python -m iatk ARGV` with stderr on a pseudo-terminal; (exit code, stdout, what the terminal got)."""
    import pty

    leader, follower = pty.openpty()
    try:
        child = subprocess.Popen(
            [sys.executable, "-m", "iatk", *argv],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=follower,
            env=env,
            text=True,
        )
        os.close(follower)
        seen = b""
        while True:
            try:
                chunk = os.read(leader, 4096)
            except OSError:  # the child closed the terminal (EIO on Linux)
                break
            if not chunk:
                break
            seen += chunk
        out = child.stdout.read()
        code = child.wait(timeout=60)
    finally:
        os.close(leader)
        if "child" in locals() and child.poll() is None:  # ended whatever happened above
            child.kill()
            child.wait(timeout=10)
    return code, out, seen.decode()


def test_progress_on_a_terminal_counts_done_of_total_and_names_the_current_one(acct):
    """On a terminal, one rewritten line (carriage return) per resource: done/total, outcome, kind and id."""
    harnesses = [make_harness(acct.session, run_id="run-t") for _ in range(3)]
    env = {**os.environ, **acct.env}
    code, out, terminal = _on_a_terminal(["cleanup", "--run-id", "run-t", "--yes", *acct.cli], env)
    assert code == 0, terminal
    updates = [part for part in terminal.split("\r") if part.startswith("\x1b[Kiatk cleanup: ")]
    assert len(updates) == 6
    assert updates[-1].startswith("\x1b[Kiatk cleanup: 6/6 deleted ")
    assert any(h in u for h in harnesses for u in updates)
    assert out.splitlines()[-1] == "iatk cleanup: deleted 6, skipped 0, failed 0"


def test_json_prints_no_progress_even_on_a_terminal(acct):
    """--json is for programs: no progress line on the terminal, the report alone on stdout."""
    make_harness(acct.session, run_id="run-j")
    env = {**os.environ, **acct.env}
    code, out, terminal = _on_a_terminal(["cleanup", "--run-id", "run-j", "--yes", "--json", *acct.cli], env)
    assert code == 0, terminal
    assert "iatk cleanup:" not in terminal
    assert len(json.loads(out)["deleted"]) == 2


def test_dry_run_needs_no_filter_and_lists_everything(acct, capsys, stdin):
    """`--dry-run` with no filter lists every harness resource that an unfiltered cleanup would remove."""
    stdin()
    first = make_harness(acct.session, run_id="run-x")
    second = make_harness(acct.session, run_id="run-y")
    assert main(["cleanup", "--dry-run", *acct.cli]) == 0
    out = capsys.readouterr().out
    assert first in out
    assert second in out
    assert out.splitlines()[-1] == (
        "iatk cleanup: would delete 4, skipped 0, failed 0 (dry run: nothing deleted; a real cleanup needs a filter or --all)"
    )
    assert len(snapshot(acct.session)) == 4
    assert main(["cleanup", "--dry-run", "--json", *acct.cli]) == 0
    report = json.loads(capsys.readouterr().out)
    assert {r["id"] for r in report["planned"]} == {first, second}
    assert report["deleted"] == []


def test_a_failed_deletion_exits_1_and_the_rest_is_deleted(acct, capsys):
    """A deletion that fails is reported as FAILED, the others still go, and the exit code is 1.

    moto refuses DeleteStack when a queue of the stack was deleted by hand (AWS would not).
    """
    tags = _tags.deploy_tags("run-f", timedelta(hours=1))
    make_stack(acct.session, "broken", tags)
    sqs = acct.session.client("sqs")
    cfn_queue = acct.session.client("cloudformation").describe_stack_resources(StackName="broken")["StackResources"]
    sqs.delete_queue(QueueUrl=cfn_queue[0]["PhysicalResourceId"])
    harness = make_harness(acct.session, run_id="run-f")
    assert main(["cleanup", "--run-id", "run-f", "--yes", *acct.cli]) == 1
    out = capsys.readouterr().out
    assert "FAILED  stack arn:aws:cloudformation:us-east-1:" in out
    assert out.splitlines()[-1] == "iatk cleanup: deleted 2, skipped 0, failed 1"
    assert ("queue", harness) not in snapshot(acct.session)


def test_region_is_repeatable(acct, capsys):
    """--region twice lists and cleans both regions."""
    east = make_harness(acct.session, run_id="run-r")
    west_session = type(acct.session)(
        aws_access_key_id=acct.env["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=acct.env["AWS_SECRET_ACCESS_KEY"],
        aws_session_token=acct.env["AWS_SESSION_TOKEN"],
        region_name="eu-west-1",
        endpoint_url=acct.url,
        embedded=True,
    )
    west = make_harness(west_session, run_id="run-r")
    regions = ["--endpoint-url", acct.url, "--region", "us-east-1", "--region", "eu-west-1"]
    assert main(["list", "--json", "--run-id", "run-r", *regions]) == 0
    listed = {(r["region"], r["id"]) for r in json.loads(capsys.readouterr().out)}
    assert listed == {("us-east-1", east), ("eu-west-1", west)}
    assert main(["cleanup", "--run-id", "run-r", "--yes", *regions]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == "iatk cleanup: deleted 4, skipped 0, failed 0"
    assert snapshot(acct.session) == set()
    assert snapshot(west_session) == set()


def test_subprocess_without_a_terminal_refuses(acct):
    """The installed command, run with stdin from /dev/null, refuses to delete without --yes (exit 2)."""
    make_harness(acct.session, run_id="run-s")
    env = {**os.environ, **acct.env}
    done = subprocess.run(
        [sys.executable, "-m", "iatk", "cleanup", "--expired", *acct.cli],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2, done.stderr
    assert "Add --yes (in CI)" in done.stderr
    assert len(snapshot(acct.session)) == 2
