"""Building the run's boto3 Session from settings: region fallbacks, profile errors, client Config (no network)."""

from __future__ import annotations

import pytest
from botocore.exceptions import ProfileNotFound

from iatk._aws import AwsContext, IatkSession, botocore_config, session_from_settings
from iatk._config import resolve_settings
from iatk.exceptions import ConfigError


@pytest.fixture
def clean_aws_env(monkeypatch, tmp_path):
    """No AWS region, profile or endpoint in the environment, and empty AWS config files."""
    for name in (
        "AWS_REGION",
        "AWS_DEFAULT_REGION",
        "AWS_PROFILE",
        "AWS_DEFAULT_PROFILE",
        "AWS_ENDPOINT_URL",
        "AWS_ENDPOINT_URL_SFN",
        "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "credentials"))
    return tmp_path


def test_aws_region_alone_is_used(clean_aws_env, monkeypatch):
    """With only AWS_REGION set (botocore reads only AWS_DEFAULT_REGION), the session takes AWS_REGION."""
    monkeypatch.setenv("AWS_REGION", "eu-west-3")
    session = session_from_settings(resolve_settings(environ={}))
    assert session.region_name == "eu-west-3"
    assert AwsContext(session).region == "eu-west-3"


def test_region_setting_and_aws_default_region_come_before_aws_region(clean_aws_env, monkeypatch):
    """The region setting wins, then boto3's AWS_DEFAULT_REGION; AWS_REGION is only the fallback."""
    monkeypatch.setenv("AWS_REGION", "eu-west-3")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "ap-south-1")
    assert session_from_settings(resolve_settings(environ={})).region_name == "ap-south-1"
    chosen = resolve_settings(options={"region": "us-west-2"}, environ={})
    assert session_from_settings(chosen).region_name == "us-west-2"


def test_profile_region_comes_before_aws_region(clean_aws_env, monkeypatch):
    """A region in the chosen profile (boto3's chain) is kept; AWS_REGION does not override it."""
    (clean_aws_env / "config").write_text("[profile dev]\nregion = eu-north-1\n")
    monkeypatch.setenv("AWS_REGION", "eu-west-3")
    session = session_from_settings(resolve_settings(options={"profile": "dev"}, environ={}))
    assert (session.profile_name, session.region_name) == ("dev", "eu-north-1")


def test_no_region_anywhere_names_every_way_to_set_one(clean_aws_env):
    """Without any region, the error names --iatk-region/IATK_REGION, AWS_REGION/AWS_DEFAULT_REGION and the CLI's --region."""
    session = session_from_settings(resolve_settings(environ={}))
    with pytest.raises(ConfigError) as info:
        AwsContext(session).region  # noqa: B018
    message = str(info.value)
    for way in ("--iatk-region", "IATK_REGION", "AWS_REGION", "AWS_DEFAULT_REGION", "--region"):
        assert way in message


def test_unknown_profile_is_a_config_error_listing_profiles(clean_aws_env):
    """An unknown --iatk-profile raises ConfigError naming it, where it came from and the profiles that exist."""
    (clean_aws_env / "config").write_text("[default]\nregion = us-east-1\n[profile dev]\n[profile prod]\n")
    with pytest.raises(ConfigError) as info:
        session_from_settings(resolve_settings(options={"profile": "nope"}, environ={}))
    message = str(info.value)
    assert "AWS profile 'nope' (from --iatk-profile) not found" in message
    assert "profiles that exist: default, dev, prod." in message
    assert isinstance(info.value.__cause__, ProfileNotFound)


def test_unknown_aws_profile_from_the_environment_is_a_config_error(clean_aws_env, monkeypatch):
    """AWS_PROFILE naming a missing profile gives the same ConfigError, blaming AWS_PROFILE."""
    monkeypatch.setenv("AWS_PROFILE", "doesnotexist")
    with pytest.raises(ConfigError, match=r"'doesnotexist' \(from AWS_PROFILE / AWS_DEFAULT_PROFILE\) not found"):
        session_from_settings(resolve_settings(environ={}))


def test_aws_config_uses_adaptive_retries_and_iatk_user_agent(clean_aws_env):
    """On AWS, clients retry with botocore's adaptive mode (the call and 8 retries) and carry iatk/<version>."""
    from iatk import __version__

    session = session_from_settings(resolve_settings(options={"region": "us-east-1"}, environ={}))
    config = session.client("sqs").meta.config
    assert config.retries == {"mode": "adaptive", "total_max_attempts": 9}
    assert f"iatk/{__version__}" in config.user_agent_extra
    assert config.inject_host_prefix is True


def test_plain_user_session_gets_iatk_config_through_aws_context(clean_aws_env):
    """A plain boto3 Session passed by the user still gets iatk's Config on the clients iatk makes."""
    import boto3

    context = AwsContext(boto3.Session(aws_access_key_id="x", aws_secret_access_key="x", region_name="us-east-1"))
    assert context.sqs.meta.config.retries == {"mode": "adaptive", "total_max_attempts": 9}


def test_embedded_config_turns_retries_and_host_prefix_off():
    """On the embedded backend a call is tried once (moto may apply a failed call's effects), without host prefix or proxies."""
    config = botocore_config(embedded=True)
    assert config.retries == {"mode": "standard", "total_max_attempts": 1}
    assert config.inject_host_prefix is False
    assert config.proxies == {}


@pytest.mark.parametrize("variable", ["AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_SFN"])
def test_endpoint_from_environment_turns_host_prefix_off(clean_aws_env, monkeypatch, variable):
    """With AWS_ENDPOINT_URL (or the per-service variable) set, clients skip host prefixes, as with --iatk-endpoint-url."""
    monkeypatch.setenv(variable, "http://127.0.0.1:4566")
    session = IatkSession(aws_access_key_id="x", aws_secret_access_key="x", region_name="us-east-1")
    client = session.client("stepfunctions")
    assert client.meta.endpoint_url == "http://127.0.0.1:4566"
    assert client.meta.config.inject_host_prefix is False
    assert session.client("sqs").meta.config.inject_host_prefix is (variable != "AWS_ENDPOINT_URL")


def test_plain_user_session_with_env_endpoint_skips_host_prefix(clean_aws_env, monkeypatch):
    """A plain boto3 Session with AWS_ENDPOINT_URL set gets clients without host prefixes through AwsContext."""
    import boto3

    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:4566")
    context = AwsContext(boto3.Session(aws_access_key_id="x", aws_secret_access_key="x", region_name="us-east-1"))
    assert context.stepfunctions.meta.config.inject_host_prefix is False
