"""Settings resolution: argument > option > ini > env > default, with typed parsing."""

from __future__ import annotations

import pytest

from iatk._config import SPECS, parse_bool, parse_duration, resolve_settings
from iatk.exceptions import ConfigError


def test_defaults_when_nothing_is_given():
    """With no input every setting takes its default and says so."""
    settings = resolve_settings(environ={})
    assert settings.backend == "aws"
    assert settings.sla == 30.0
    assert settings.ttl == 7200.0
    assert settings.keep is False
    assert set(settings.sources.values()) == {"default"}


def test_precedence_argument_option_ini_env():
    """Each layer wins over the ones below it, per setting."""
    settings = resolve_settings(
        explicit={"sla": 5},
        options={"sla": "6", "region": "eu-west-1"},
        ini={"sla": "7", "region": "eu-west-2", "stack": "from-ini"},
        environ={"IATK_SLA": "8", "IATK_REGION": "eu-west-3", "IATK_STACK": "from-env", "IATK_PROFILE": "p"},
    )
    assert (settings.sla, settings.region, settings.stack, settings.profile) == (5.0, "eu-west-1", "from-ini", "p")
    assert settings.sources["sla"] == "argument"
    assert settings.sources["region"] == "option"
    assert settings.sources["stack"] == "ini"
    assert settings.sources["profile"] == "env"


def test_empty_ini_value_means_not_set():
    """An ini key left empty falls through to the env var."""
    settings = resolve_settings(ini={"stack": ""}, environ={"IATK_STACK": "env-stack"})
    assert settings.stack == "env-stack"


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("90", 90.0), (2, 2.0), ("1.5s", 1.5), ("500ms", 0.5), ("30m", 1800.0), ("2h", 7200.0), ("1d", 86400.0)],
)
def test_parse_duration(text, seconds):
    """Durations take plain seconds or a unit suffix."""
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("bad", ["soon", "-5", True, "5 parsecs", None])
def test_parse_duration_rejects_nonsense(bad):
    """A bad duration is a ConfigError naming the expected forms."""
    with pytest.raises(ConfigError, match="expected a duration|must not be negative"):
        parse_duration(bad)


def test_bad_backend_names_the_choices():
    """An unknown backend lists aws and moto, and says where the value came from."""
    with pytest.raises(ConfigError, match=r"backend \(from env\): expected one of aws, moto; got 'mock'"):
        resolve_settings(environ={"IATK_BACKEND": "mock"})


def test_unknown_setting_lists_the_settings():
    """An explicit setting that does not exist is rejected with the list of real ones."""
    with pytest.raises(ConfigError, match="unknown iatk setting 'timeout'.*sla"):
        resolve_settings(explicit={"timeout": 3})


def test_parse_bool_words():
    """Flags accept the usual words and reject others."""
    assert parse_bool("yes") is True
    assert parse_bool("0") is False
    with pytest.raises(ConfigError):
        parse_bool("maybe")


def test_with_overrides_parses_and_records_the_source():
    """Per-test overrides (the marker) are parsed like any other layer."""
    settings = resolve_settings(environ={}).with_overrides(sla="20s")
    assert settings.sla == 20.0
    assert settings.sources["sla"] == "argument"


def test_every_setting_has_option_ini_and_env_names():
    """Each setting derives a CLI option, an ini key and an IATK_ env var from its name."""
    for spec in SPECS:
        assert spec.option == "--iatk-" + spec.name.replace("_", "-")
        assert spec.ini == "iatk_" + spec.name
        assert spec.env == "IATK_" + spec.name.upper()


def test_override_installs_settings_and_hands_back_what_was_there(monkeypatch):
    """override() installs settings for a block and restores the raw previous value (None included)."""
    from iatk import _config

    monkeypatch.setattr(_config, "_current", None)
    outer = resolve_settings(environ={}).with_overrides(sla=5)
    inner = outer.with_overrides(sla=20)
    seen = []

    def fail_inside() -> None:
        with _config.override(inner):
            seen.append(_config.current_settings())
            raise RuntimeError("the block failed")

    with _config.override(outer):
        assert _config.current_settings() is outer
        with pytest.raises(RuntimeError):
            fail_inside()
        assert seen == [inner]
        assert _config.current_settings() is outer
    assert _config._current is None  # not frozen to what the environment gives
