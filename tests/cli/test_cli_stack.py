"""The CLI skeleton: version, stack commands, exit codes, error messages."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

import iatk
from iatk.cli import main


@pytest.fixture(scope="module")
def deployed(moto_session, data_dir, embedded):
    """The sample app on the shared embedded server; returns (stack, CLI AWS options)."""
    stack = iatk.deploy_stack(data_dir / "templates" / "app.yaml", "cli-app", {"Stage": "cli"}, session=moto_session)
    return stack, ["--endpoint-url", embedded.url, "--region", "us-east-1"]


@pytest.fixture(autouse=True)
def dummy_credentials(monkeypatch):
    """The CLI builds its own session from the environment; give it dummy keys."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "x")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "x")


def test_version(capsys):
    """--version prints the installed version and exits 0."""
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"iatk {iatk.__version__}"


def test_stack_outputs_json(deployed, capsys):
    """`iatk stack outputs NAME --json` prints the outputs as JSON."""
    _, opts = deployed
    assert main(["stack", "outputs", "cli-app", "--json", *opts]) == 0
    assert json.loads(capsys.readouterr().out)["BusName"] == "orders-cli"


def test_stack_outputs_table(deployed, capsys):
    """Without --json the outputs print as a table."""
    _, opts = deployed
    assert main(["stack", "outputs", "cli-app", *opts]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["OUTPUT", "VALUE"]
    assert any(line.split() == ["BusName", "orders-cli"] for line in lines)


def test_stack_resources(deployed, capsys):
    """`iatk stack resources` lists logical ids with types and physical ids."""
    _, opts = deployed
    assert main(["stack", "resources", "cli-app", "--json", *opts]) == 0
    rows = {r["logical_id"]: r for r in json.loads(capsys.readouterr().out)}
    assert rows["Inbox"]["type"] == "AWS::SQS::Queue"
    assert rows["Inbox"]["physical_id"].endswith("/orders-inbox-cli")


def test_error_prints_message_and_exits_1(deployed, capsys):
    """An iatk error prints its message (no traceback) and exits 1."""
    _, opts = deployed
    assert main(["stack", "outputs", "cli-ap", *opts]) == 1
    err = capsys.readouterr().err
    assert "stack 'cli-ap' not found" in err
    assert "did you mean: cli-app" in err
    assert "Traceback" not in err


def test_usage_error_exits_2(capsys):
    """A missing argument is a usage error (exit 2)."""
    assert main(["stack", "outputs"]) == 2
    assert main([]) == 2


def test_python_m_iatk_in_a_subprocess():
    """`python -m iatk --help` runs as a real process."""
    result = subprocess.run(
        [sys.executable, "-m", "iatk", "--help"], capture_output=True, text=True, check=False, timeout=60
    )
    assert result.returncode == 0
    assert "stack" in result.stdout


def test_unknown_profile_prints_the_profiles_and_exits_2(capsys, monkeypatch, tmp_path):
    """`--profile nope` prints iatk's message listing the profiles that exist (no traceback) and exits 2."""
    (tmp_path / "config").write_text("[profile dev]\nregion = eu-west-1\n")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "credentials"))
    assert main(["stack", "outputs", "shop", "--profile", "nope", "--region", "us-east-1"]) == 2
    err = capsys.readouterr().err
    assert "AWS profile 'nope' (from the CLI's --profile or a profile argument) not found" in err
    assert "profiles that exist: dev." in err
    assert "Traceback" not in err
