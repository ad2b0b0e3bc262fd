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
    assert iatk_stack() is stack  # the --iatk-stack default, the same cached Stack
    assert iatk_stack().output("BusName") == "orders-p"
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


@pytest.fixture
def offline_aws(monkeypatch):
    """Dummy keys and an endpoint that refuses connections: a run on the aws backend never reaches AWS."""
    for name in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "x")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "x")
    monkeypatch.setenv("IATK_ENDPOINT_URL", "http://127.0.0.1:1")


def _records(out):
    import json

    return [json.loads(p.read_text()) for p in sorted(out.iterdir())]


def test_moto_backend_deploys_and_reads_stack(pytester, suite):
    """With --iatk-backend=moto a suite deploys a template and reads outputs and nested ids; iatk_stack() is --iatk-stack's."""
    result = pytester.runpytest_subprocess("--iatk-backend=moto", "--iatk-stack=plugin-app", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=4)
    header = (
        "iatk: backend moto (embedded, http://127.0.0.1:*), region us-east-1, account 123456789012, stack plugin-app"
    )
    result.stdout.fnmatch_lines([f"{header}, run id *"])
    records = _records(suite)
    assert len({r["run_id"] for r in records}) == 1


def test_xdist_workers_share_run_id_and_server(pytester, suite):
    """Under -n 2 both workers see one run id and one moto server (the controller's)."""
    result = pytester.runpytest_subprocess(
        "--iatk-backend=moto", "--iatk-stack=plugin-app", "-n", "2", "-p", "no:cacheprovider"
    )
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


def test_settings_precedence_option_ini_env(pytester, monkeypatch, offline_aws):
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


def test_header_on_aws_backend_shows_the_account(pytester, embedded, monkeypatch, offline_aws):
    """On the aws backend the header shows the account from one STS call (here a moto server as the endpoint)."""
    monkeypatch.setenv("IATK_ENDPOINT_URL", embedded.url)
    pytester.makepyfile("def test_x():\n    pass\n")
    # A subprocess whatever --runpytest says: the child calls this process's embedded server (see the
    # addopts comment in pyproject.toml).
    result = pytester.runpytest_subprocess("--iatk-region=eu-west-1", "--iatk-stack=shop", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(
        ["iatk: backend aws via http://127.0.0.1:*, region eu-west-1, account 123456789012, stack shop, run id *"]
    )


def test_header_account_failure_never_fails_the_run(pytester, offline_aws):
    """When STS cannot be reached the header says 'account ?' with the reason, and the tests still run."""
    pytester.makepyfile("def test_x():\n    pass\n")
    result = pytester.runpytest("--iatk-region=eu-west-1", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)
    assert result.ret == pytest.ExitCode.OK
    result.stdout.fnmatch_lines(
        ["iatk: backend aws via http://127.0.0.1:1, region eu-west-1, account ? (sts:GetCallerIdentity: *), stack -*"]
    )


def test_header_shows_the_region_from_aws_region_alone(pytester, embedded, monkeypatch, offline_aws):
    """With only AWS_REGION set (not AWS_DEFAULT_REGION), the run uses it and the header shows it."""
    monkeypatch.delenv("AWS_DEFAULT_REGION", raising=False)
    monkeypatch.setenv("AWS_REGION", "eu-west-3")
    monkeypatch.setenv("IATK_ENDPOINT_URL", embedded.url)
    pytester.makepyfile("def test_region(iatk_session):\n    assert iatk_session.region_name == 'eu-west-3'\n")
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")  # calls our server, like the test above
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["iatk: backend aws via http://127.0.0.1:*, region eu-west-3, account 123456789012, *"])


def test_header_without_iatk_settings_makes_no_aws_call(pytester, monkeypatch):
    """A run that sets no iatk setting (iatk merely installed) imports no boto3 for the header and calls nothing."""
    for name in ("AWS_DEFAULT_REGION", "AWS_REGION"):
        monkeypatch.delenv(name, raising=False)
    pytester.makepyfile(
        "import sys\n\ndef test_x():\n    assert 'boto3' not in sys.modules, 'the header imported boto3'\n"
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["iatk: backend aws, region *, account - (not read: no iatk setting given), stack -*"])


def test_unknown_profile_is_a_usage_error(pytester, offline_aws):
    """--iatk-profile naming a missing profile stops the run with the clear message, not an INTERNALERROR."""
    pytester.makepyfile("def test_x(iatk_session):\n    pass\n")
    result = pytester.runpytest_subprocess("--iatk-profile=nope", "-p", "no:cacheprovider")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*iatk: AWS profile 'nope' (from --iatk-profile) not found*profiles that exist: *"])
    assert "INTERNALERROR" not in result.stdout.str() + result.stderr.str()
    assert "Traceback" not in result.stderr.str()


def test_missing_aws_profile_on_moto_backend_is_ignored(pytester, monkeypatch):
    """AWS_PROFILE naming a missing profile does not reach the embedded backend: its calls still work."""
    monkeypatch.setenv("AWS_PROFILE", "doesnotexist")
    pytester.makepyfile(
        """
def test_queue(iatk_session):
    sqs = iatk_session.client("sqs")
    url = sqs.create_queue(QueueName="profile-free")["QueueUrl"]
    assert url.startswith(sqs.meta.endpoint_url)
    assert iatk_session.client("sts").get_caller_identity()["Account"] == "123456789012"
"""
    )
    result = pytester.runpytest_subprocess("--iatk-backend=moto", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)
    assert "INTERNALERROR" not in result.stdout.str() + result.stderr.str()


def test_session_error_at_session_end_is_reported_in_the_summary(pytester, monkeypatch, offline_aws):
    """A session that cannot be built (missing AWS_PROFILE, no iatk setting) fails the test and the summary, not INTERNALERROR."""
    monkeypatch.delenv("IATK_ENDPOINT_URL")  # no iatk setting: the session is first built by the fixture
    monkeypatch.setenv("AWS_PROFILE", "doesnotexist")
    pytester.makepyfile("def test_x(iatk_session):\n    pass\n")
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(errors=1)
    output = result.stdout.str()
    assert "INTERNALERROR" not in output + result.stderr.str()
    result.stdout.fnmatch_lines(
        [
            "*iatk: AWS profile 'doesnotexist' (from AWS_PROFILE / AWS_DEFAULT_PROFILE) not found*",
            "*iatk: cleanup errors*",
            "session-end cleanup of run *: AWS profile 'doesnotexist'*",
        ]
    )


def test_marker_bad_value_is_a_usage_error_at_collection(pytester, tmp_path):
    """@pytest.mark.iatk(sla="soon") stops the run at collection, before any test runs."""
    ran = tmp_path / "ran"
    pytester.makepyfile(
        f"""
import pathlib, pytest

def test_first():
    pathlib.Path({str(ran)!r}).write_text("yes")

@pytest.mark.iatk(sla="soon")
def test_x():
    pass
"""
    )
    result = pytester.runpytest("-p", "no:cacheprovider")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*test_x: @pytest.mark.iatk: sla (from argument): expected a duration*"])
    assert not ran.exists()


def test_mock_event_fixture_takes_an_explicit_session(pytester, offline_aws, data_dir):
    """iatk_mock_event(..., session=other) uses that session (its region fills the event), not a TypeError."""
    schema = data_dir / "schemas" / "ticket_created.json"
    pytester.makepyfile(
        f"""
import boto3

def test_event(iatk_mock_event, iatk_session):
    other = boto3.Session(aws_access_key_id="x", aws_secret_access_key="x", region_name="ap-south-1")
    assert iatk_session.region_name == "eu-west-1"
    event = iatk_mock_event(schema_file={str(schema)!r}, session=other)
    assert event["region"] == "ap-south-1"
    assert iatk_mock_event(schema_file={str(schema)!r})["region"] == "eu-west-1"
"""
    )
    pytester.runpytest("--iatk-region=eu-west-1", "-p", "no:cacheprovider").assert_outcomes(passed=1)


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


def test_embedded_backend_start_failure_is_a_usage_error(pytester):
    """When the embedded backend cannot start (here: a malformed region), the run stops with the reason, not INTERNALERROR."""
    pytester.makepyfile("def test_x():\n    pass\n")
    result = pytester.runpytest_subprocess(
        "--iatk-backend=moto", "--iatk-region=not a region", "-p", "no:cacheprovider"
    )
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*iatk: cannot start the embedded backend (--iatk-backend=moto): *not a region*"])
    assert "INTERNALERROR" not in result.stdout.str() + result.stderr.str()


def test_hooks_keep_their_place_among_a_conftests(pytester):
    """The plugin's parts are registered with it, before any conftest.py (as when it was one module):
    iatk's header line comes before a conftest's, and a conftest's deselection runs before the marker check."""
    pytester.makeconftest(
        """
def pytest_report_header(config):
    return ["conftest header"]

def pytest_collection_modifyitems(config, items):
    items[:] = [item for item in items if "dropped" not in item.name]
"""
    )
    pytester.makepyfile(
        """
import pytest

def test_kept():
    pass

@pytest.mark.iatk(bogus=1)
def test_dropped():
    pass
"""
    )
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["iatk: backend aws, *", "conftest header"])
