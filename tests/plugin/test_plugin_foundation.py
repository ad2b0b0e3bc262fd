"""The pytest plugin: options, settings precedence, marker, fixtures, xdist hand-over, report header."""

from __future__ import annotations

import shutil

import pytest

TEMPLATES = __import__("pathlib").Path(__file__).parents[1] / "data" / "templates"

SUITE = """
import json, os, pathlib
import pytest

@pytest.fixture(scope="session")
def app(iatk_deploy):
    return iatk_deploy(pathlib.Path(__file__).parent / "app.yaml", "plugin-app", {"Stage": "p"})

@pytest.mark.parametrize("n", range(4))
def test_reads_outputs_and_nested_ids(app, iatk_stack, iatk_run_id, iatk_session, n):
    stack = iatk_stack("plugin-app")
    assert stack.outputs["BusName"] == "orders-p"
    assert stack.physical_id("Child/Queue").endswith("/child-queue")
    endpoint = iatk_session.client("sqs").meta.endpoint_url
    out = pathlib.Path(os.environ["IATK_TEST_OUT"]) / f"{os.getpid()}-{n}.json"
    out.write_text(json.dumps({"run_id": iatk_run_id, "endpoint": endpoint, "pid": os.getpid()}))
"""


@pytest.fixture
def suite(pytester, monkeypatch, tmp_path):
    """A small user suite with the sample templates beside it."""
    shutil.copy(TEMPLATES / "app.yaml", pytester.path / "app.yaml")
    shutil.copy(TEMPLATES / "child.yaml", pytester.path / "child.yaml")
    pytester.makepyfile(test_app=SUITE)
    out = tmp_path / "out"
    out.mkdir()
    monkeypatch.setenv("IATK_TEST_OUT", str(out))
    return out


def _records(out):
    import json

    return [json.loads(p.read_text()) for p in sorted(out.iterdir())]


def test_moto_backend_deploys_and_reads_stack(pytester, suite):
    """With --iatk-backend=moto a suite deploys a template and reads outputs and nested ids."""
    result = pytester.runpytest_subprocess("--iatk-backend=moto", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=4)
    result.stdout.fnmatch_lines(
        ["iatk: backend moto (embedded, http://127.0.0.1:*), region us-east-1, account 123456789012, stack -, run id *"]
    )
    records = _records(suite)
    assert len({r["run_id"] for r in records}) == 1


def test_xdist_workers_share_run_id_and_server(pytester, suite):
    """Under -n 2 both workers see one run id and one moto server (the controller's)."""
    result = pytester.runpytest_subprocess("--iatk-backend=moto", "-n", "2", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=4)
    records = _records(suite)
    assert len({r["pid"] for r in records}) == 2, "both workers ran tests"
    assert len({r["run_id"] for r in records}) == 1
    assert len({r["endpoint"] for r in records}) == 1


def test_run_id_from_env(pytester, monkeypatch):
    """IATK_RUN_ID fixes the run id (for CI cleanup steps)."""
    monkeypatch.setenv("IATK_RUN_ID", "ci-123")
    pytester.makepyfile("def test_id(iatk_run_id):\n    assert iatk_run_id == 'ci-123'\n")
    pytester.runpytest("-p", "no:cacheprovider").assert_outcomes(passed=1)


def test_settings_precedence_option_ini_env(pytester, monkeypatch):
    """CLI option beats ini, ini beats env, env beats default; sources are recorded."""
    monkeypatch.setenv("IATK_SLA", "9")
    monkeypatch.setenv("IATK_STACK", "env-stack")
    monkeypatch.setenv("IATK_TTL", "1h")
    pytester.makeini("[pytest]\niatk_sla = 8\niatk_stack = ini-stack\n")
    pytester.makepyfile(
        """
def test_settings(iatk_settings):
    assert iatk_settings.sla == 7.0
    assert iatk_settings.stack == "ini-stack"
    assert iatk_settings.ttl == 3600.0
    assert iatk_settings.sources["sla"] == "option"
    assert iatk_settings.sources["ttl"] == "env"
"""
    )
    pytester.runpytest("--iatk-sla=7", "-p", "no:cacheprovider").assert_outcomes(passed=1)


def test_marker_overrides_sla_for_one_test(pytester):
    """@pytest.mark.iatk(sla=...) changes the default wait for that test only."""
    pytester.makepyfile(
        """
import pytest
from iatk._config import current_settings

@pytest.mark.iatk(sla=3)
def test_marked():
    assert current_settings().sla == 3.0

def test_unmarked():
    assert current_settings().sla == 30.0
"""
    )
    pytester.runpytest("-p", "no:cacheprovider").assert_outcomes(passed=2)


def test_marker_unknown_keyword_is_a_clear_error(pytester):
    """A misspelt marker keyword stops the run and lists the valid ones."""
    pytester.makepyfile(
        """
import pytest

@pytest.mark.iatk(timeout=3)
def test_x():
    pass
"""
    )
    result = pytester.runpytest("-p", "no:cacheprovider")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*@pytest.mark.iatk got timeout; it takes keywords: sla, stack, trace_timeout, ttl*"])


def test_bad_option_value_is_a_usage_error(pytester):
    """A bad setting value is reported before any test runs."""
    pytester.makepyfile("def test_x():\n    pass\n")
    result = pytester.runpytest("--iatk-sla=soon", "-p", "no:cacheprovider")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*iatk: sla (from option): expected a duration*"])


def test_iatk_stack_without_a_name_says_how_to_set_one(pytester):
    """iatk_stack() with no default stack explains the three ways to set it."""
    pytester.makepyfile("def test_x(iatk_stack):\n    iatk_stack()\n")
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*no stack given: call iatk_stack('name'), or set --iatk-stack*"])


def test_header_on_aws_backend_makes_no_call(pytester):
    """On the aws backend the header shows settings without calling AWS (account read later)."""
    pytester.makepyfile("def test_x():\n    pass\n")
    result = pytester.runpytest("--iatk-region=eu-west-1", "--iatk-stack=shop", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(
        ["iatk: backend aws, region eu-west-1, account (read at first use), stack shop, run id *"]
    )


def test_plugin_can_be_disabled(pytester):
    """-p no:iatk removes the options and fixtures."""
    pytester.makepyfile("def test_x(iatk_settings):\n    pass\n")
    result = pytester.runpytest("-p", "no:iatk", "-p", "no:cacheprovider")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*fixture 'iatk_settings' not found*"])


def test_options_are_listed_in_help(pytester):
    """--help shows every iatk option with its ini key and env var."""
    result = pytester.runpytest("--help")
    result.stdout.fnmatch_lines(
        ["*--iatk-backend*", "*--iatk-sla=*", "*ini: iatk_sla, env: IATK_SLA*", "*--iatk-sweep*"]
    )
