"""AWS access in one place: the run's boto3 Session, cached clients, botocore Config, error wrapping.

The core never creates clients at import time. Each public call takes ``session=None``; with None it
uses the run's default session (installed by the pytest plugin or by ``embedded_session``), else one
built from the ``IATK_*`` / ``AWS_*`` environment.
"""

from __future__ import annotations

import os
import threading
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cached_property
from importlib import metadata
from typing import TYPE_CHECKING, Any, TypeVar, cast

import boto3
import botocore.session
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError, ProfileNotFound

from ._config import Settings, current_settings
from .exceptions import AwsError, ConfigError, IatkError

if TYPE_CHECKING:
    from mypy_boto3_cloudformation import CloudFormationClient
    from mypy_boto3_events import EventBridgeClient
    from mypy_boto3_resourcegroupstaggingapi import ResourceGroupsTaggingAPIClient
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_schemas import SchemasClient
    from mypy_boto3_sqs import SQSClient
    from mypy_boto3_stepfunctions import SFNClient
    from mypy_boto3_sts import STSClient
    from mypy_boto3_xray import XRayClient

try:
    VERSION = metadata.version("iatk")
except metadata.PackageNotFoundError:  # pragma: no cover - running from a source tree
    VERSION = "0+unknown"

E = TypeVar("E", bound=IatkError)
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


class AwsContext:
    """A session plus its cached clients. Get one with :func:`aws`."""

    def __init__(self, session: boto3.Session) -> None:
        self.session = session
        self._clients: dict[str, Any] = {}
        self._lock = threading.Lock()

    @property
    def region(self) -> str:
        region = self.session.region_name
        if not region:
            raise ConfigError(
                "no AWS region: pass --iatk-region or set IATK_REGION (pytest), --region (the iatk CLI) or "
                "region=...; or set AWS_REGION / AWS_DEFAULT_REGION, or a region in your AWS profile"
            )
        return region

    @property
    def endpoint_url(self) -> str | None:
        return getattr(self.session, "iatk_endpoint_url", None)

    @property
    def embedded(self) -> bool:
        return bool(getattr(self.session, "iatk_embedded", False))

    def client(self, service: str) -> Any:
        """The cached client for ``service`` (created on first use, thread-safe)."""
        with self._lock:
            found = self._clients.get(service)
            if found is None:
                # IatkSession adds iatk's Config itself; a plain user session gets it here.
                extra: dict[str, Any] = (
                    {}
                    if isinstance(self.session, IatkSession)
                    else {"config": botocore_config(custom_endpoint=bool(env_endpoint(service)))}
                )
                found = self.session.client(service, region_name=self.region, **extra)  # type: ignore[call-overload]
                self._clients[service] = found
            return found

    @property
    def cloudformation(self) -> CloudFormationClient:
        return cast("CloudFormationClient", self.client("cloudformation"))

    @property
    def events(self) -> EventBridgeClient:
        return cast("EventBridgeClient", self.client("events"))

    @property
    def sqs(self) -> SQSClient:
        return cast("SQSClient", self.client("sqs"))

    @property
    def stepfunctions(self) -> SFNClient:
        return cast("SFNClient", self.client("stepfunctions"))

    @property
    def xray(self) -> XRayClient:
        return cast("XRayClient", self.client("xray"))

    @property
    def tagging(self) -> ResourceGroupsTaggingAPIClient:
        return cast("ResourceGroupsTaggingAPIClient", self.client("resourcegroupstaggingapi"))

    @property
    def schemas(self) -> SchemasClient:
        return cast("SchemasClient", self.client("schemas"))

    @property
    def s3(self) -> S3Client:
        return self.client("s3")  # type: ignore[no-any-return]

    @property
    def sts(self) -> STSClient:
        return cast("STSClient", self.client("sts"))

    @cached_property
    def account_id(self) -> str:
        """The caller's account id (one STS call, cached)."""
        with calling("sts:GetCallerIdentity"):
            return self.sts.get_caller_identity()["Account"]

    @property
    def partition(self) -> str:
        return self.session.get_partition_for_region(self.region)


def read_account(session: boto3.Session | None = None, *, timeout: float = 5.0) -> str:
    """The caller's account id from one quick STS GetCallerIdentity (one attempt, short timeouts).

    For a report header: it can neither retry for long nor hang. The answer is cached on the
    session's :class:`AwsContext`, so ``aws(session).account_id`` makes no second call.

    Raises:
        AwsError: The call failed (no credentials, no network, access denied...).
        ConfigError: There is no region.

    IAM permissions: none (sts:GetCallerIdentity needs no permission).
    """
    ctx = aws(session)
    cached = ctx.__dict__.get("account_id")  # where cached_property keeps its value
    if cached is not None:
        return str(cached)
    quick = Config(retries={"mode": "standard", "total_max_attempts": 1}, connect_timeout=timeout, read_timeout=timeout)
    config = quick if isinstance(ctx.session, IatkSession) else botocore_config().merge(quick)
    with calling("sts:GetCallerIdentity"):
        client = ctx.session.client("sts", region_name=ctx.region, config=config)
        account = str(client.get_caller_identity()["Account"])
    ctx.__dict__["account_id"] = account
    return account


_contexts: weakref.WeakKeyDictionary[boto3.Session, AwsContext] = weakref.WeakKeyDictionary()
_contexts_lock = threading.Lock()
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


def aws(session: boto3.Session | None = None) -> AwsContext:
    """The :class:`AwsContext` for ``session`` (or the default session): one per session."""
    target = session if session is not None else default_session()
    with _contexts_lock:
        context = _contexts.get(target)
        if context is None:
            context = _contexts[target] = AwsContext(target)
        return context


def error_code(err: BaseException) -> str | None:
    """The AWS error code of a botocore ClientError (None for other errors)."""
    if isinstance(err, ClientError):
        code = err.response.get("Error", {}).get("Code")
        return str(code) if code else None
    return None


def error_message(err: BaseException) -> str:
    """The AWS error message of a ClientError, else ``str(err)``."""
    if isinstance(err, ClientError):
        message = err.response.get("Error", {}).get("Message")
        if message:
            return f"{error_code(err)}: {message}"
    return str(err)


def wrap(err: BaseException, message: str, cls: type[E] = AwsError, **kwargs: Any) -> E:  # type: ignore[assignment]
    """Build ``cls(message + ": " + aws error)`` keeping the AWS code; raise it ``from err``."""
    full = f"{message}: {error_message(err)}"
    if issubclass(cls, AwsError):
        operation = getattr(err, "operation_name", None)
        return cls(full, code=error_code(err), operation=operation, **kwargs)
    wrapped = cls(full, **kwargs)
    if wrapped.code is None:
        wrapped.code = error_code(err)
    return wrapped


@contextmanager
def calling(what: str, cls: type[IatkError] = AwsError, **kwargs: Any) -> Iterator[None]:
    """Translate botocore errors raised inside the block into ``cls``, with the cause kept."""
    try:
        yield
    except (ClientError, BotoCoreError) as err:
        raise wrap(err, what, cls, **kwargs) from err


def session_env(session: boto3.Session | None = None) -> dict[str, str]:
    """Environment variables that point a child process at the same backend as ``session``.

    Gives the region, the credentials, the endpoint (on the embedded backend or with
    ``--iatk-endpoint-url``) and ``AWS_XRAY_DAEMON_ADDRESS`` when set, so a worker started by a
    test (``subprocess.Popen(..., env={**os.environ, **iatk.session_env()})``) calls the same AWS.
    """
    import os

    ctx = aws(session)
    env: dict[str, str] = {"AWS_REGION": ctx.region, "AWS_DEFAULT_REGION": ctx.region}
    if ctx.endpoint_url:
        env["AWS_ENDPOINT_URL"] = ctx.endpoint_url
    if ctx.session.profile_name and ctx.session.profile_name != "default" and not ctx.embedded:
        env["AWS_PROFILE"] = ctx.session.profile_name
    credentials = ctx.session.get_credentials()
    if credentials is not None and (ctx.embedded or not env.get("AWS_PROFILE")):
        frozen = credentials.get_frozen_credentials()
        env["AWS_ACCESS_KEY_ID"] = frozen.access_key or ""
        env["AWS_SECRET_ACCESS_KEY"] = frozen.secret_key or ""
        if frozen.token:
            env["AWS_SESSION_TOKEN"] = frozen.token
    if os.environ.get("AWS_XRAY_DAEMON_ADDRESS"):
        env["AWS_XRAY_DAEMON_ADDRESS"] = os.environ["AWS_XRAY_DAEMON_ADDRESS"]
    return env
