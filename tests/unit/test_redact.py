"""The redactor on the forms credentials take in botocore's and users' log lines."""

from __future__ import annotations

import logging

from iatk.pytest_plugin._redact import MARK, Redactor

KEY_ID = "AKIAQWERTYUIOPASDFGH"
TOKEN = "FwoGZXIvYXdzEXAMPLE+token/value=="
SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzzEXAMPLEKEY"


def test_named_values_in_headers_xml_env_and_urls_are_redacted() -> None:
    redactor = Redactor()
    lines = [
        f"headers={{'X-Amz-Security-Token': b'{TOKEN}'}}",
        f"<Credentials><SessionToken>{TOKEN}</SessionToken><SecretAccessKey>{SECRET}</SecretAccessKey>",
        f'{{"SecretAccessKey": "{SECRET}", "AccessKeyId": "{KEY_ID}"}}',
        f"AWS_SECRET_ACCESS_KEY={SECRET} aws_session_token = {TOKEN}",
        f"https://b.s3.amazonaws.com/k?X-Amz-Credential={KEY_ID}%2F20240101%2Fus-east-1&X-Amz-Signature={'0' * 64}",
    ]
    for line in lines:
        clean = redactor.redact(line)
        assert MARK in clean, line
        for secret in (KEY_ID, TOKEN, SECRET, "0" * 64):
            assert secret not in clean, (line, clean)


def test_a_value_found_by_name_is_redacted_everywhere_after() -> None:
    redactor = Redactor()
    redactor.redact(f"x-amz-security-token:{TOKEN}")
    assert redactor.redact(f"free text {TOKEN} and its URL form FwoGZXIvYXdzEXAMPLE%2Btoken%2Fvalue%3D%3D") == (
        f"free text {MARK} and its URL form {MARK}"
    )


def test_short_and_ordinary_values_are_left_alone() -> None:
    redactor = Redactor()
    text = "SessionToken: None; Found credentials in environment variables. secret_key=abc"
    assert redactor.redact(text) == text


def test_a_record_is_redacted_with_its_arguments_and_exception() -> None:
    redactor = Redactor((SECRET,))
    try:
        raise ValueError(f"bad key {SECRET}")
    except ValueError:
        import sys

        record = logging.LogRecord("x", logging.ERROR, __file__, 1, "using %s", (SECRET,), sys.exc_info())
    redactor.record(record)
    assert record.getMessage() == f"using {MARK}"
    assert record.exc_text is not None
    assert SECRET not in record.exc_text
    assert f"bad key {MARK}" in record.exc_text
