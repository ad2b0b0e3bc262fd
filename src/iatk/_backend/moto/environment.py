"""The process environment that points plain boto3 (and any AWS SDK) at the embedded server.

:func:`export_environment` sets ``AWS_ENDPOINT_URL``, dummy credentials and the region in
``os.environ``, and removes every other source of credentials, profile or endpoint, so
``boto3.client("stepfunctions")`` in a test, a helper, an app under test or a process a test starts
reaches the embedded server and can never reach AWS. It returns the function that puts everything
back. No moto import: it is the environment only.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from typing import Any

#: The dummy credentials exported (the embedded session's own).
DUMMY_KEY = "iatk-embedded"

#: Variables removed: every other way boto3 (or another SDK) finds credentials, a profile, a
#: config file's settings or another endpoint.
REMOVED = (
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_SESSION_TOKEN",
    "AWS_SECURITY_TOKEN",
    "AWS_CREDENTIAL_EXPIRATION",
    "AWS_ROLE_ARN",
    "AWS_ROLE_SESSION_NAME",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    "AWS_CONTAINER_AUTHORIZATION_TOKEN",
    "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
    "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS",
    "AWS_USE_FIPS_ENDPOINT",
    "AWS_USE_DUALSTACK_ENDPOINT",
    "AWS_STS_REGIONAL_ENDPOINTS",
)


def embedded_environment(url: str, region: str) -> dict[str, str]:
    """The variables set for the embedded server at ``url`` (``AWS_REGION`` and ``AWS_DEFAULT_REGION``: ``region``)."""
    return {
        "AWS_ENDPOINT_URL": url,
        "AWS_ACCESS_KEY_ID": DUMMY_KEY,
        "AWS_SECRET_ACCESS_KEY": DUMMY_KEY,
        "AWS_REGION": region,
        "AWS_DEFAULT_REGION": region,
        # No shared config or credentials file: a profile's endpoint, role or SSO cannot apply.
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
        "AWS_EC2_METADATA_DISABLED": "true",
    }


def export_environment(url: str, region: str) -> Callable[[], None]:
    """Point ``os.environ`` at the embedded server; returns the function that restores it.

    Also drops boto3's cached default session (``boto3.DEFAULT_SESSION``, when boto3 is imported),
    so ``boto3.client(...)`` builds a new one from the new environment; the restore puts it back.
    """
    wanted = embedded_environment(url, region)
    removed = [key for key in os.environ if key in REMOVED or key.startswith("AWS_ENDPOINT_URL_")]
    saved = {key: os.environ.get(key) for key in [*wanted, *removed]}
    for key in removed:
        os.environ.pop(key, None)
    os.environ.update(wanted)
    boto3: Any = sys.modules.get("boto3")
    default_session = getattr(boto3, "DEFAULT_SESSION", None)
    if boto3 is not None:
        boto3.DEFAULT_SESSION = None

    def restore() -> None:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        module: Any = sys.modules.get("boto3")
        if module is not None:
            module.DEFAULT_SESSION = default_session

    return restore
