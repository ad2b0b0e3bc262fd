"""Credentials never reach a report: botocore's DEBUG log under a run, with real-looking credentials.

The inner suite calls the embedded server with a session that carries an access key id, a secret
and a session token shaped like AWS's, logs at DEBUG (botocore prints the token in every request's
headers and canonical request), and fails, so pytest prints its captured log. Neither the terminal,
the junit XML nor the log file may hold any of the three; with the redaction plugin blocked, they do
(so the check can fail).
"""

from __future__ import annotations

import pytest

KEY_ID = "ASIAQWERTYUIOPASDFGH"
SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzzEXAMPLEKEY"
TOKEN = "IQoJb3JpZ2luX2VjEJr//////////wEaCXVzLWVhc3QtMSJHMEUCIQDexampleTOKENvalue0123456789abcdefghij="

# The values come from the environment, so the failure's source listing does not show them.
SUITE = """
import logging
import os

from iatk._aws import IatkSession, session_env


def test_calls_with_real_looking_credentials(iatk_session):
    session = IatkSession(
        aws_access_key_id=os.environ["TEST_KEY_ID"],
        aws_secret_access_key=os.environ["AWS_SECRET_ACCESS_KEY"],
        aws_session_token=os.environ["TEST_TOKEN"],
        region_name="us-east-1",
        endpoint_url=iatk_session.iatk_endpoint_url,
    )
    session.client("sqs").list_queues()
    logging.getLogger("app").warning("the child environment: %s", session_env(session))
    logging.getLogger("app").warning("the secret, in passing: %s", os.environ["AWS_SECRET_ACCESS_KEY"])
    assert False, "fail, so the captured log is printed"
"""


@pytest.fixture
def suite(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET)  # the environment's credentials are known at configure
    monkeypatch.setenv("TEST_KEY_ID", KEY_ID)  # these two are not: they are found in the log itself
    monkeypatch.setenv("TEST_TOKEN", TOKEN)
    pytester.makepyfile(test_creds=SUITE)
    return pytester


def run(suite: pytest.Pytester, *extra: str) -> str:
    result = suite.runpytest_subprocess(
        "--iatk-backend=moto",
        "--log-level=DEBUG",
        "--junitxml=junit.xml",
        "--log-file=run.log",
        "--log-file-level=DEBUG",
        "-p",
        "no:cacheprovider",
        *extra,
    )
    result.assert_outcomes(failed=1)
    outputs = [result.stdout.str(), result.stderr.str()]
    outputs += [(suite.path / name).read_text() for name in ("junit.xml", "run.log")]
    return "\n".join(outputs)


def test_credentials_are_redacted_from_terminal_junit_and_log_file(suite: pytest.Pytester) -> None:
    text = run(suite)
    assert "x-amz-security-token:[REDACTED]" in text  # botocore's canonical request was logged, redacted
    assert "Credential=[REDACTED]" in text  # SigV4's Authorization header
    assert "[REDACTED]]" not in text
    for secret in (KEY_ID, SECRET, TOKEN, TOKEN[:40]):
        assert secret not in text


def test_without_the_redaction_they_would_be_printed(suite: pytest.Pytester) -> None:
    text = run(suite, "-p", "no:iatk-redact")
    assert TOKEN in text
    assert KEY_ID in text
