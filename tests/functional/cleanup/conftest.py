"""Fixtures for the cleanup tests: a fresh moto account per test, and child pytest runs.

Every test works in its own account on the shared embedded server (moto keeps one backend per
account: STS AssumeRole into a random account id gives credentials that land there), so "what is
left" can be asserted exactly, whatever other tests put on the server.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from cleanup_harness import REGION, Account, new_account

HERE = Path(__file__).parent


@pytest.fixture
def account(embedded) -> Account:
    """A fresh, empty moto account for this test."""
    return new_account(embedded)


@pytest.fixture(scope="module")
def module_account(embedded) -> Account:
    """A fresh moto account shared by one module's read-only tests."""
    return new_account(embedded)


@pytest.fixture
def account_env(account, monkeypatch) -> Account:
    """The account's credentials in this process's environment (the CLI builds its session from it)."""
    for key in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "IATK_ENDPOINT_URL", "IATK_REGION", "IATK_PROFILE"):
        monkeypatch.delenv(key, raising=False)
    for key, value in account.env.items():
        monkeypatch.setenv(key, value)
    return account


PYTEST_INI = "[pytest]\naddopts = -p no:cacheprovider\n"


@dataclass
class Child:
    """A pytest run in a subprocess, its output in a file (a pipe could fill up and block it)."""

    process: subprocess.Popen
    output: Path

    @property
    def folder(self) -> Path:
        """The child's directory (its test file, pytest.ini and output)."""
        return self.output.parent

    def signal_group(self, signum: int) -> None:
        """Send ``signum`` to the child's whole process group (xdist workers too), as CI does on cancel."""
        os.killpg(self.process.pid, signum)

    def text(self) -> str:
        return self.output.read_text(errors="replace")

    def wait(self, timeout: float = 120) -> int:
        try:
            return self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.signal_group(signal.SIGKILL)
            self.process.wait(timeout=10)
            raise AssertionError(f"child pytest run still going after {timeout} s:\n{self.text()}") from None

    def wait_for(self, path: Path, timeout: float = 60) -> None:
        """Wait until the child writes ``path`` (it says it is ready); fail with its output if it ends first."""
        deadline = time.monotonic() + timeout
        while not path.exists():
            if self.process.poll() is not None:
                raise AssertionError(f"child pytest run ended ({self.process.returncode}) early:\n{self.text()}")
            if time.monotonic() > deadline:
                self.process.kill()
                raise AssertionError(f"child pytest run not ready after {timeout} s:\n{self.text()}")
            time.sleep(0.05)


@pytest.fixture
def child_run(tmp_path, account):
    """Factory: ``child_run(source, *args, run_id=...)`` starts pytest on ``source`` in a subprocess.

    The child uses iatk's AWS backend pointed at the shared server with this test's account, so
    whatever it creates outlives it, even when it is killed.
    """
    started: list[Child] = []

    def start(source: str, *args: str, run_id: str, name: str = "child") -> Child:
        folder = tmp_path / name
        folder.mkdir()
        (folder / "pytest.ini").write_text(PYTEST_INI)
        (folder / f"test_{name}.py").write_text(source)
        env = {k: v for k, v in os.environ.items() if not k.startswith(("IATK_", "PYTEST_", "AWS_"))}
        env.update(account.env)
        env["IATK_RUN_ID"] = run_id
        env["IATK_TEST_DIR"] = str(folder)
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(HERE), env.get("PYTHONPATH")]))
        command = [
            sys.executable,
            "-m",
            "pytest",
            str(folder),
            "-q",
            "--iatk-backend=aws",
            f"--iatk-endpoint-url={account.url}",
            f"--iatk-region={REGION}",
            *args,
        ]
        output = folder / "output.txt"
        with output.open("wb") as sink:
            process = subprocess.Popen(
                command, cwd=folder, env=env, stdout=sink, stderr=subprocess.STDOUT, start_new_session=True
            )
        child = Child(process, output)
        started.append(child)
        return child

    yield start
    for child in started:
        with contextlib.suppress(ProcessLookupError):
            child.signal_group(signal.SIGKILL)  # the leader and any xdist workers left
        child.process.wait(timeout=10)
