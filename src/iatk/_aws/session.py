"""The run's boto3 Session: iatk's botocore Config, the embedded and endpoint sessions, the default.

The core never creates clients at import time. Each public call takes ``session=None``; with None it
uses the run's default session (installed by the pytest plugin or by ``embedded_session``), else one
built from the ``IATK_*`` / ``AWS_*`` environment.
"""

from __future__ import annotations

import os
from importlib import metadata
from typing import Any

import boto3
import botocore.session
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ProfileNotFound

from iatk._config import Settings, current_settings
from iatk.exceptions import ConfigError

from .errors import wrap

try:
    VERSION = metadata.version("iatk")
except metadata.PackageNotFoundError:  # pragma: no cover - running from a source tree
    VERSION = "0+unknown"

EMBEDDED_KEY_ID = "iatk-embedded"  # dummy credentials: the embedded session can never sign for AWS


def botocore_config(*, embedded: bool = False, custom_endpoint: bool = False) -> Config:
    """iatk's client Config: user agent, retries, and timeouts that outlast a 20 s long poll.

    On AWS, botocore's adaptive retries (the call and up to 8 retries). On the embedded backend
    retries are off: moto may apply a request's side effects before it fails, so a retry would
    deliver twice (MOTO.md); proxies from the environment are ignored too (the server is on
    127.0.0.1). With any custom endpoint (``--iatk-endpoint-url``, ``AWS_ENDPOINT_URL[_<SERVICE>]``),
    botocore's host prefixes (``sync-`` for TestState) are turned off, since they cannot resolve
    on 127.0.0.1.
    """
    retries: Any = (
        {"mode": "standard", "total_max_attempts": 1} if embedded else {"mode": "adaptive", "max_attempts": 8}
    )
    extra: dict[str, Any] = {"proxies": {}} if embedded else {}
    return Config(
        user_agent_extra=f"iatk/{VERSION}",
        retries=retries,
        connect_timeout=10,
        read_timeout=70,
        inject_host_prefix=not (embedded or custom_endpoint),
        max_pool_connections=32,
        **extra,
    )


def env_endpoint(service: str) -> str | None:
    """The endpoint boto3 takes from the environment for ``service`` (``AWS_ENDPOINT_URL_<ID>``, then
    ``AWS_ENDPOINT_URL``), or None; the per-service name follows botocore's own derivation."""
    if str(os.environ.get("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "")).lower() == "true":
        return None
    from botocore import utils

    name = utils.SERVICE_NAME_ALIASES.get(service, service)
    service_id = utils.CLIENT_NAME_TO_HYPHENIZED_SERVICE_ID_OVERRIDES.get(name, name).replace("-", "_")
    return os.environ.get(f"AWS_ENDPOINT_URL_{service_id.upper()}") or os.environ.get("AWS_ENDPOINT_URL") or None


class IatkSession(boto3.Session):
    """A boto3 Session whose clients default to a fixed endpoint and to iatk's Config.

    The embedded backend and ``--iatk-endpoint-url`` use it, so a test's own
    ``iatk_session.client("stepfunctions")`` reaches the same server as iatk does.
    """

    def __init__(self, *args: Any, endpoint_url: str | None = None, embedded: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.iatk_endpoint_url = endpoint_url
        self.iatk_embedded = embedded

    def client(self, *args: Any, **kwargs: Any) -> Any:
        if self.iatk_endpoint_url and not kwargs.get("endpoint_url"):
            kwargs["endpoint_url"] = self.iatk_endpoint_url
        service = str(args[0] if args else kwargs.get("service_name", ""))
        custom = bool(kwargs.get("endpoint_url")) or (not self.iatk_embedded and bool(env_endpoint(service)))
        base = botocore_config(embedded=self.iatk_embedded, custom_endpoint=custom)
        kwargs["config"] = base.merge(kwargs["config"]) if kwargs.get("config") else base
        return super().client(*args, **kwargs)

    def resource(self, *args: Any, **kwargs: Any) -> Any:
        if self.iatk_endpoint_url and not kwargs.get("endpoint_url"):
            kwargs["endpoint_url"] = self.iatk_endpoint_url
        return super().resource(*args, **kwargs)


def _isolated_botocore_session() -> botocore.session.Session:
    """A botocore session that reads no ``AWS_*`` variable and no shared config or credentials file.

    Every session variable keeps its default but loses its env var and config-file key, so a
    machine's ``AWS_PROFILE`` (even one that does not exist), ``AWS_USE_FIPS_ENDPOINT`` or a broken
    ``~/.aws/config`` cannot reach the embedded session.
    """
    isolated: dict[str, Any] = {
        name: (None, None, spec[2], spec[3]) for name, spec in botocore.session.Session.SESSION_VARIABLES.items()
    }
    isolated["config_file"] = (None, None, os.devnull, None)
    isolated["credentials_file"] = (None, None, os.devnull, None)
    return botocore.session.Session(session_vars=isolated)


def embedded_boto_session(endpoint_url: str, region: str | None = None) -> IatkSession:
    """A session for the embedded moto server: dummy credentials, never real AWS.

    It is built on an isolated botocore session (:func:`_isolated_botocore_session`): explicit dummy
    keys, region and endpoint, and nothing read from the environment's profiles or config files.

    Raises:
        ConfigError: botocore could not build the session.
    """
    try:
        return IatkSession(
            aws_access_key_id=EMBEDDED_KEY_ID,
            aws_secret_access_key=EMBEDDED_KEY_ID,
            region_name=region or "us-east-1",
            botocore_session=_isolated_botocore_session(),
            endpoint_url=endpoint_url,
            embedded=True,
        )
    except BotoCoreError as err:
        raise wrap(err, "cannot build the embedded backend's boto3 session", ConfigError) from err


def session_from_settings(settings: Settings) -> boto3.Session:
    """The boto3 Session for ``backend=aws`` settings (profile, region, endpoint).

    The region is the ``region`` setting, else boto3's (``AWS_DEFAULT_REGION``, the profile's
    ``region``), else ``AWS_REGION``, which botocore itself does not read.

    Raises:
        ConfigError: The backend is ``moto`` (it needs the embedded server), or botocore could not
            build the session (an unknown profile: the message lists the profiles that exist).
    """
    if settings.backend == "moto":
        raise ConfigError(
            "backend 'moto' needs the embedded server: run under pytest with --iatk-backend=moto, "
            "or use `with iatk.embedded_session() as session:` and pass session=session"
        )
    try:
        session = IatkSession(
            profile_name=settings.profile, region_name=settings.region, endpoint_url=settings.endpoint_url
        )
        if not session.region_name and os.environ.get("AWS_REGION"):
            # boto3 sets an explicit region_name the same way; this keeps the profile as it is.
            session._session.set_config_variable("region", os.environ["AWS_REGION"])
    except ProfileNotFound as err:
        raise ConfigError(_profile_not_found_message(settings, err)) from err
    except BotoCoreError as err:
        raise wrap(err, "cannot build the boto3 session from the iatk and AWS settings", ConfigError) from err
    return session


def _profile_not_found_message(settings: Settings, err: ProfileNotFound) -> str:
    name = err.kwargs.get("profile") or settings.profile or "?"
    source = (settings.sources or {}).get("profile", "default") if settings.profile else "aws"
    where = {
        "option": "from --iatk-profile",
        "ini": "from the iatk_profile ini key",
        "env": "from IATK_PROFILE",
        "argument": "from the CLI's --profile or a profile argument",
    }.get(source, "from AWS_PROFILE / AWS_DEFAULT_PROFILE")
    try:
        profiles = sorted(
            botocore.session.Session(session_vars={"profile": (None, None, None, None)}).available_profiles
        )
    except Exception:  # the list only enriches the message
        profiles = []
    known = ", ".join(profiles) if profiles else "none (the AWS config and credentials files define no profile)"
    return (
        f"AWS profile {name!r} ({where}) not found; profiles that exist: {known}. Pick one "
        "(--iatk-profile / IATK_PROFILE under pytest, --profile in the CLI), or unset AWS_PROFILE."
    )


_default_session: boto3.Session | None = None


def set_default_session(session: boto3.Session | None) -> None:
    """Install (or clear) the session used when a call gets ``session=None``."""
    global _default_session  # noqa: PLW0603 - process-wide default, like boto3's own
    _default_session = session


def installed_session() -> boto3.Session | None:
    """The session installed by the plugin or ``embedded_session`` (None when nothing was installed)."""
    return _default_session


def default_session() -> boto3.Session:
    """The installed default session, else one from the current settings (made once)."""
    global _default_session  # noqa: PLW0603 - process-wide default, like boto3's own
    if _default_session is None:
        _default_session = session_from_settings(current_settings())
    return _default_session
