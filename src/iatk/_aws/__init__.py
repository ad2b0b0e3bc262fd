"""The AWS boundary: the run's boto3 Session, cached clients, and the one botocore error wrapper.

- :mod:`.session`: iatk's botocore Config, :class:`IatkSession`, the embedded and settings sessions,
  the run's default session;
- :mod:`.context`: :class:`AwsContext` (cached clients, account, partition), :func:`aws`,
  :func:`session_env` for child processes;
- :mod:`.errors`: :func:`calling` / :func:`wrap`, the "gone" and "throttled" code tables.
"""

from __future__ import annotations

from .context import AwsContext, aws, read_account, session_env
from .errors import (
    BOTO_ERRORS,
    GONE_CODES,
    THROTTLE_CODES,
    calling,
    error_code,
    error_message,
    frameless,
    is_gone,
    is_throttled,
    wrap,
)
from .session import (
    EMBEDDED_KEY_ID,
    VERSION,
    IatkSession,
    botocore_config,
    default_session,
    embedded_boto_session,
    env_endpoint,
    installed_session,
    session_from_settings,
    set_default_session,
)

__all__ = [
    "BOTO_ERRORS",
    "EMBEDDED_KEY_ID",
    "GONE_CODES",
    "THROTTLE_CODES",
    "VERSION",
    "AwsContext",
    "IatkSession",
    "aws",
    "botocore_config",
    "calling",
    "default_session",
    "embedded_boto_session",
    "env_endpoint",
    "error_code",
    "error_message",
    "frameless",
    "installed_session",
    "is_gone",
    "is_throttled",
    "read_account",
    "session_env",
    "session_from_settings",
    "set_default_session",
    "wrap",
]
