"""Credentials never reach a report: every log record made while iatk's run goes is redacted at creation.

botocore's debug log carries the session token (``X-Amz-Security-Token`` headers, the canonical
request) and the access key id (``Credential=AKIA.../...``) of every call; pytest prints a failing
test's captured log, writes it to junit and to ``--log-file``. So from configure to unconfigure the
plugin wraps the process's log record factory: each record's message (and its formatted exception)
is made once, redacted, and stored back, before any handler (pytest's capture, live logging, a log
file, a user's own) sees it.

What is redacted:

- the values of the ``AWS_ACCESS_KEY_ID``, ``AWS_SECRET_ACCESS_KEY`` and ``AWS_SESSION_TOKEN``
  variables at configure time, wherever they appear;
- access key ids (``AKIA``/``ASIA``... and 16 more characters) and STS session tokens (their
  known leading bytes), wherever they appear;
- the value after a credential's name (``X-Amz-Security-Token``, ``X-Amz-Credential``,
  ``SessionToken``, ``SecretAccessKey``, ``aws_secret_access_key``, SigV4's ``Credential=``... as a
  header, a parameter, a dict key, an XML element or ``NAME=value``) and request signatures; each value found so is then
  redacted everywhere else too (a token seen in a header is also hidden in the canonical request).

Records are formatted eagerly, so only records a logger lets through pay for it (a DEBUG record
costs something only when DEBUG is on). This module imports no boto3.
"""

from __future__ import annotations

import logging
import os
import re
import threading
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

import pytest

__all__ = ["MARK", "CredentialRedaction", "Redactor"]

#: What a redacted value becomes.
MARK = "[REDACTED]"
_PARTIAL = MARK[:-1]  # a mark the value patterns stop short of: never a secret
_MIN_SECRET = 8  # shorter values (None, "", a placeholder) are left alone
_MAX_KNOWN = 256  # values learned from the log (tokens rotate: a long run can see a few)

_KEY_ID = re.compile(r"\b(AKIA|ASIA|AIDA|AROA|AGPA|ANPA|ANVA|AIPA|APKA|ABIA|ACCA)[A-Z0-9]{16}\b")
# STS session tokens begin with one of a few base64 prefixes (the token's serialised header).
_TOKEN = re.compile(r"(?:IQoJb3JpZ2lu|FwoGZXIvYXdz|FQoGZXIvYXdz|AQoDYXdz|AgoJb3JpZ2lu)[A-Za-z0-9+/=%]{16,}")
_NAMED = re.compile(
    r"(?i)(?P<name>x-amz-security-token|(?:x-amz-)?credential|security_?token|session_?token|aws_session_token|"
    r"secret_?access_?key|aws_secret_access_key|secret_?key)"
    r"(?P<sep>\\?['\"]?\s*[:=]\s*b?\\?['\"]?|>)"
    r"(?P<value>[^\s'\"<>,;&)}\]\\]+)"
)
_SIGNATURE = re.compile(r"(?i)(?P<name>(?:x-amz-)?signature)(?P<sep>=)(?P<value>[0-9a-f]{64})")


class Redactor:
    """Replaces credentials in text (see the module docs); thread-safe, learns values as it goes.

    Args:
        known: Secret values to redact wherever they appear.
    """

    def __init__(self, known: tuple[str, ...] = ()) -> None:
        self._lock = threading.Lock()
        self._known: tuple[str, ...] = ()
        self.learn(*known)

    def learn(self, *values: str | None) -> None:
        """Redact these values from now on (with their URL-encoded forms); short ones are ignored."""
        fresh = [value for value in values if value and len(value) >= _MIN_SECRET and _PARTIAL not in value]
        if not fresh:
            return
        with self._lock:
            known = list(self._known)
            for value in fresh:
                for form in (value, quote(value, safe="")):
                    if form not in known:
                        known.append(form)
            # Longest first, so a value is never half-replaced by a shorter one it contains.
            self._known = tuple(sorted(known[-_MAX_KNOWN:], key=len, reverse=True))

    def redact(self, text: str) -> str:
        """``text`` with every credential replaced by :data:`MARK`."""
        found: list[str] = []

        def named(match: re.Match[str]) -> str:
            value = match.group("value")
            if len(value) < _MIN_SECRET or value.startswith(_PARTIAL):
                return match.group(0)
            found.append(value)
            return f"{match.group('name')}{match.group('sep')}{MARK}"

        def whole(match: re.Match[str]) -> str:
            found.append(match.group(0))
            return MARK

        def key_id(match: re.Match[str]) -> str:
            found.append(match.group(0))
            return match.group(1) + MARK

        for value in self._known:  # a snapshot: learn() replaces the tuple
            if value in text:
                text = text.replace(value, MARK)
        text = _NAMED.sub(named, text)
        text = _SIGNATURE.sub(named, text)
        text = _TOKEN.sub(whole, text)
        text = _KEY_ID.sub(key_id, text)
        if found:
            self.learn(*found)
        return text

    def record(self, record: logging.LogRecord) -> logging.LogRecord:
        """Redact a record in place: its message (formatted now) and its exception text."""
        try:
            message = record.getMessage()
        except Exception:  # a bad format string: logging reports it when a handler formats the record
            return record
        clean = self.redact(message)
        if clean != message:
            record.msg, record.args = clean, None
        if record.exc_info and not record.exc_text:
            text = logging.Formatter().formatException(record.exc_info)
            record.exc_text = self.redact(text)
        if record.stack_info:
            record.stack_info = self.redact(record.stack_info)
        return record


def environment_secrets() -> tuple[str, ...]:
    """The credential values in the environment (what boto3's default chain would use first)."""
    names = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN")
    return tuple(value for name in names if (value := os.environ.get(name)))


def install(redactor: Redactor) -> Callable[[], None]:
    """Wrap the log record factory so every record is redacted at creation; returns the undo."""
    previous = logging.getLogRecordFactory()

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        return redactor.record(previous(*args, **kwargs))

    logging.setLogRecordFactory(factory)

    def restore() -> None:
        if logging.getLogRecordFactory() is factory:
            logging.setLogRecordFactory(previous)

    return restore


class CredentialRedaction:
    """The plugin object: redaction on from the first configure hook to the last unconfigure hook."""

    def __init__(self) -> None:
        self.redactor = Redactor()
        self._restore: Callable[[], None] | None = None

    @pytest.hookimpl(tryfirst=True)
    def pytest_configure(self, config: pytest.Config) -> None:
        self.redactor.learn(*environment_secrets())
        if self._restore is None:
            self._restore = install(self.redactor)

    @pytest.hookimpl(trylast=True)
    def pytest_unconfigure(self, config: pytest.Config) -> None:
        if self._restore is not None:
            self._restore()
            self._restore = None
