"""`iatk serve` (a subprocess: the embedded backend until SIGTERM/Ctrl-C) and the commands that find it:
`iatk deploy ... --backend moto`, `iatk stack outputs`, `iatk delete`; deploy progress on a terminal."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlparse

import pytest

from iatk._templates import parse_template
from iatk.cli import main

TEMPLATE = Path(__file__).parents[1] / "data" / "templates" / "app.yaml"


def _children(pid: int) -> list[int]:
    """Processes whose parent is ``pid`` (from /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                found.append(int(entry.name))
    return found


def _accepts(url: str) -> bool:
    parsed = urlparse(url)
    try:
        with socket.create_connection((parsed.hostname, parsed.port), timeout=1):
            return True
    except OSError:
        return False


@pytest.fixture
def serve(tmp_path):
    """Factory: start `iatk serve --json --env-file FILE` in a subprocess; (process, its JSON line, env file)."""
    started: list[subprocess.Popen[str]] = []

    def start(*argv: str) -> tuple[subprocess.Popen[str], dict, Path]:
        env_file = tmp_path / f"serve-{len(started)}.env"
        process = subprocess.Popen(
            [sys.executable, "-m", "iatk", "serve", "--json", "--env-file", str(env_file), *argv],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={k: v for k, v in os.environ.items() if not k.startswith("IATK_")},
        )
        started.append(process)
        line = process.stdout.readline()  # printed once the backend is up
        assert line, process.stderr.read()
        return process, json.loads(line), env_file

    yield start
    for process in started:  # a failed test still leaves no server behind
        if process.poll() is None:
            process.kill()
        process.wait(timeout=10)
        process.stdout.close()
        process.stderr.close()


@pytest.mark.parametrize("how", [signal.SIGTERM, signal.SIGINT])
def test_serve_prints_its_endpoint_and_stops_cleanly(serve, how):
    """It prints the URL and the variables; on SIGTERM or Ctrl-C it stops: exit 0, port closed, record and env file gone."""
    process, served, env_file = serve()
    url = served["url"]
    assert url.startswith("http://127.0.0.1:")
    assert served["env"]["AWS_ENDPOINT_URL"] == served["env"]["IATK_ENDPOINT_URL"] == url
    assert served["env"]["AWS_XRAY_DAEMON_ADDRESS"] == served["xray_address"]
    assert served["env"]["AWS_ACCESS_KEY_ID"]
    assert f"AWS_ENDPOINT_URL={url}\n" in env_file.read_text()
    record = Path(os.environ["XDG_RUNTIME_DIR"]) / f"iatk-serve-{os.getuid()}.json"
    assert json.loads(record.read_text())["pid"] == process.pid
    assert _accepts(url)
    assert _children(process.pid) == []
    process.send_signal(how)
    assert process.wait(timeout=20) == 0, process.stderr.read()
    assert "iatk serve: stopped" in process.stderr.read()
    assert not _accepts(url)
    assert not record.exists()
    assert not env_file.exists()


def test_commands_find_the_served_backend(serve, capsys, monkeypatch):
    """`--backend moto` with no --endpoint-url uses the running `iatk serve`: deploy, outputs, delete."""
    for key in ("IATK_ENDPOINT_URL", "IATK_BACKEND", "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(key, raising=False)
    process, served, _ = serve()
    assert main(["deploy", str(TEMPLATE), "served-app", "--param", "Stage=srv", "--backend", "moto"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("iatk deploy: served-app CREATE_COMPLETE (arn:aws:cloudformation:us-east-1:")
    assert any(line.split() == ["BusName", "orders-srv"] for line in out.splitlines())
    assert main(["stack", "outputs", "served-app", "--json", "--backend", "moto"]) == 0
    assert json.loads(capsys.readouterr().out)["BusName"] == "orders-srv"
    # the same stack through the printed endpoint, as another tool would reach it
    assert main(["stack", "outputs", "served-app", "--backend", "moto", "--endpoint-url", served["url"]]) == 0
    assert "orders-srv" in capsys.readouterr().out
    assert main(["delete", "served-app", "--backend", "moto"]) == 0
    assert capsys.readouterr().out.startswith("iatk delete: served-app deleted (arn:aws:cloudformation:")
    assert main(["stack", "outputs", "served-app", "--backend", "moto"]) == 1
    assert "not found" in capsys.readouterr().err
    process.terminate()
    assert process.wait(timeout=20) == 0
    # the server is gone, and with it its record: --backend moto says how to get one
    assert main(["stack", "outputs", "served-app", "--backend", "moto"]) == 2
    assert "start one with `iatk serve`" in capsys.readouterr().err


def test_deploy_bad_params_and_delete_of_a_stack_iatk_did_not_make(embedded, moto_session, capsys):
    """--param without '=' and an undeclared parameter are usage errors (2); `delete` leaves untagged stacks alone."""
    opts = ["--backend", "moto", "--endpoint-url", embedded.url]
    assert main(["deploy", str(TEMPLATE), "bad", "--param", "Stage", *opts]) == 2
    assert "--param expects K=V; got 'Stage'" in capsys.readouterr().err
    assert main(["deploy", str(TEMPLATE), "bad", "--param", "Nope=1", *opts]) == 2
    assert "unknown template parameter(s) Nope" in capsys.readouterr().err
    cfn = moto_session.client("cloudformation")
    body = json.dumps({"Resources": {"Queue": {"Type": "AWS::SQS::Queue"}}})
    cfn.create_stack(StackName="not-a-test-stack", TemplateBody=body)
    try:
        assert main(["delete", "not-a-test-stack", *opts]) == 1
        assert "is not a test stack (no iatk:deploy=true tag" in capsys.readouterr().err
        assert cfn.describe_stacks(StackName="not-a-test-stack")["Stacks"][0]["StackStatus"] == "CREATE_COMPLETE"
        assert main(["delete", "not-a-test-stack", "--force", *opts]) == 0
    finally:
        cfn.delete_stack(StackName="not-a-test-stack")


def test_deploy_shows_progress_on_a_terminal_only(embedded, tmp_path):
    """On a terminal `iatk deploy` rewrites one line: resources done/total and the current one; piped, nothing."""
    import pty

    env = {k: v for k, v in os.environ.items() if not k.startswith("IATK_")}
    argv = [sys.executable, "-m", "iatk", "deploy", str(TEMPLATE), "progress-app", "--param", "Stage=prog"]
    argv += ["--backend", "moto", "--endpoint-url", embedded.url]
    leader, follower = pty.openpty()
    try:
        child = subprocess.Popen(
            argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=follower, env=env, text=True
        )
        os.close(follower)
        seen = b""
        while True:
            try:
                chunk = os.read(leader, 4096)
            except OSError:
                break
            if not chunk:
                break
            seen += chunk
        out = child.stdout.read()
        child.stdout.close()
        assert child.wait(timeout=60) == 0, seen
    finally:
        os.close(leader)
        if "child" in locals() and child.poll() is None:
            child.kill()
            child.wait(timeout=10)
    updates = [part for part in seen.decode().split("\r") if part.startswith("\x1b[Kiatk deploy: ")]
    assert updates, seen
    total = len(parse_template(TEMPLATE.read_text())["Resources"])
    assert updates[-1].startswith(f"\x1b[Kiatk deploy: {total}/{total} CREATE_COMPLETE")
    assert "progress-app CREATE_COMPLETE" in out
    piped = subprocess.run(
        [*argv[:5], "progress-app2", "--param", "Stage=prog2", *argv[8:]],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert piped.returncode == 0, piped.stderr
    assert piped.stderr == ""
    for name in ("progress-app", "progress-app2"):
        embedded.session().client("cloudformation").delete_stack(StackName=name)
