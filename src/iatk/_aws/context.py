"""A session's cached clients (:class:`AwsContext`), the caller's account, and a child's environment."""

from __future__ import annotations

import os
import threading
import weakref
from functools import cached_property
from typing import TYPE_CHECKING, Any, cast

import boto3
from botocore.config import Config

from iatk.exceptions import ConfigError

from .errors import calling
from .session import IatkSession, botocore_config, default_session, env_endpoint

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


def aws(session: boto3.Session | None = None) -> AwsContext:
    """The :class:`AwsContext` for ``session`` (or the default session): one per session."""
    target = session if session is not None else default_session()
    with _contexts_lock:
        context = _contexts.get(target)
        if context is None:
            context = _contexts[target] = AwsContext(target)
        return context


def session_env(session: boto3.Session | None = None) -> dict[str, str]:
    """Environment variables that point a child process at the same backend as ``session``.

    Gives the region, the credentials, the endpoint (on the embedded backend or with
    ``--iatk-endpoint-url``) and ``AWS_XRAY_DAEMON_ADDRESS`` when set, so a worker started by a
    test (``subprocess.Popen(..., env={**os.environ, **iatk.session_env()})``) calls the same AWS.
    On the embedded backend it also gives ``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`` (the server's
    ``/v1/traces``) and ``OTEL_EXPORTER_OTLP_TRACES_PROTOCOL``, so OpenTelemetry's exporter sends
    spans there; elsewhere those two pass through when set.
    """

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
    if ctx.embedded and ctx.endpoint_url:
        env["OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"] = ctx.endpoint_url.rstrip("/") + "/v1/traces"
        env["OTEL_EXPORTER_OTLP_TRACES_PROTOCOL"] = "http/protobuf"
    else:
        for name in ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL"):
            if os.environ.get(name):
                env[name] = os.environ[name]
    return env
