"""No execution environment outlives the backend: after stop(), after reset(), and after a pytest run
killed with SIGKILL (each in a subprocess, whose Lambda children are counted from /proc)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from lambda_app_helpers import PY_RUNTIME

from lambda_processes import env_children, running, wait_gone

SRC = Path(__file__).resolve().parents[3] / "src"

#: Start a backend, make warm environments on three paths (sync, async, an SQS poller), print their
#: pids, then end them the way argv[1] says and print what is left.
SCRIPT = textwrap.dedent(
    """
    import io, json, os, sys, threading, time, zipfile
    sys.path.insert(0, sys.argv[2])
    from lambda_processes import env_children
    from iatk.embedded import EmbeddedBackend

    def zipped(code):
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w") as zf:
            zf.writestr("index.py", code)
        return buf.getvalue()

    backend = EmbeddedBackend().start()
    session = backend.session()
    lam, sqs = session.client("lambda"), session.client("sqs")
    role = session.client("iam").create_role(RoleName="r", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    code = "import time\\ndef handler(event, context):\\n    time.sleep(event.get('sleep', 0) if isinstance(event, dict) else 0)\\n    return 1\\n"
    lam.create_function(FunctionName="f", Runtime=sys.argv[3], Role=role, Handler="index.handler", Code={"ZipFile": zipped(code)})
    workers = [threading.Thread(target=lam.invoke, kwargs={"FunctionName": "f", "Payload": b'{"sleep": 0.3}'}) for _ in range(2)]
    for w in workers: w.start()
    for w in workers: w.join()
    lam.invoke(FunctionName="f", InvocationType="Event", Payload=b"{}")
    queue = sqs.create_queue(QueueName="q")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    lam.create_event_source_mapping(EventSourceArn=arn, FunctionName="f", BatchSize=1)
    sqs.send_message(QueueUrl=queue, MessageBody="{}")
    backend.settle(30)
    print(json.dumps({"pids": sorted(env_children())}), flush=True)
    if sys.argv[1] == "stop":
        backend.stop()
    elif sys.argv[1] == "reset":
        backend.reset()
    print(json.dumps({"left": sorted(env_children())}), flush=True)
    if sys.argv[1] == "reset":
        backend.stop()
    """
)


def run_script(tmp_path: Path, mode: str) -> tuple[list[int], list[int]]:
    script = tmp_path / "lambda_script.py"
    script.write_text(SCRIPT)
    env = {**os.environ, "PYTHONPATH": str(SRC)}
    done = subprocess.run(
        [sys.executable, str(script), mode, str(Path(__file__).parents[2]), PY_RUNTIME],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    lines = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    return lines[0]["pids"], lines[1]["left"]


@pytest.mark.parametrize("mode", ["stop", "reset"])
def test_stop_and_reset_end_every_environment(tmp_path: Path, mode: str) -> None:
    pids, left = run_script(tmp_path, mode)
    assert len(pids) >= 2  # two concurrent invocations needed two environments
    assert left == []
    assert wait_gone(set(pids), 5.0) == set()


TEST_FILE = textwrap.dedent(
    """
    import io, json, os, zipfile, time
    from pathlib import Path

    def test_then_hang(iatk_session):
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w") as zf:
            zf.writestr("index.py", "def handler(event, context):\\n    return 1\\n")
        lam = iatk_session.client("lambda")
        role = iatk_session.client("iam").create_role(RoleName="r", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
        lam.create_function(FunctionName="f", Runtime=os.environ["PY_RUNTIME"], Role=role, Handler="index.handler",
                            Code={"ZipFile": buf.getvalue()})
        assert lam.invoke(FunctionName="f")["StatusCode"] == 200
        Path(os.environ["READY_FILE"]).write_text(json.dumps(os.getpid()))
        time.sleep(120)
    """
)


def test_a_pytest_run_killed_with_sigkill_leaves_no_environment(tmp_path: Path) -> None:
    (tmp_path / "test_hang.py").write_text(TEST_FILE)
    ready = tmp_path / "ready.json"
    env = {**os.environ, "PYTHONPATH": str(SRC), "READY_FILE": str(ready), "PY_RUNTIME": PY_RUNTIME}
    proc = subprocess.Popen(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--iatk-backend=moto", str(tmp_path)],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 90
        while not ready.exists():
            assert proc.poll() is None, "the pytest run ended before its function ran"
            assert time.monotonic() < deadline, "the pytest run did not invoke its function in time"
            time.sleep(0.05)
        time.sleep(0.1)
        pids = env_children(proc.pid)
        assert pids, "the run has no live execution environment to leave behind"
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
        assert wait_gone(pids, 5.0) == set(), [pid for pid in pids if running(pid)]
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)
