"""The settings file: the shipped example is the defaults, a mistake is one line naming the key,
and a model's feature settings win over a file that does not set them."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from persona_risk.cli import app
from persona_risk.features.allow import AllowEntry
from persona_risk.features.config import FeatureConfig
from persona_risk.models.risk_model import RiskModel
from persona_risk.settings import (
    FILE_NAME,
    FeatureSettings,
    Settings,
    SettingsError,
    load_settings,
    parse_settings,
)
from persona_risk.training.fit import TrainConfig

EXAMPLE = Path(__file__).parents[1] / "persona-risk.example.toml"


def test_the_example_file_parses_to_the_defaults():
    settings = load_settings(EXAMPLE)
    assert settings.features == FeatureConfig()
    assert (settings.target_fpr, settings.queue_size) == (TrainConfig().target_fpr,
                                                          TrainConfig().queue_size)
    assert not settings.allow
    assert set(FeatureSettings.model_fields) == set(FeatureConfig(retention_days=90).settings())


def test_allow_entries_and_thresholds_are_read():
    settings = parse_settings("""
[features]
impossible_kmh = 800
high_risk_countries = ["KP"]
[bands]
queue_size = 20
[[allow]]
kind = "cidr"
value = "198.51.100.7/24"
reason = "corporate VPN egress"
[[allow]]
kind = "asn"
value = 64500
reason = "remote desktop provider"
""")
    assert settings.features.impossible_kmh == 800.0
    assert settings.features.high_risk_countries == ("KP",)
    assert settings.features_set == {"impossible_kmh", "high_risk_countries"}
    assert settings.queue_size == 20
    assert settings.allow.entries == (
        AllowEntry("cidr", "198.51.100.0/24", "corporate VPN egress"),
        AllowEntry("asn", "64500", "remote desktop provider"))


@pytest.mark.parametrize(("text", "message"), [
    ("[features]\nimpossible_kph = 800", "unknown key 'features.impossible_kph'"),
    ("[feature]\nimpossible_kmh = 800", "unknown key 'feature'"),
    ("[features]\nimpossible_kmh = -1", "features.impossible_kmh: Input should be greater"),
    ("[features]\nnight_start_hour = 24", "features.night_start_hour: Input should be less"),
    ("[features]\nhigh_risk_countries = ['cn']", "features.high_risk_countries[0]"),
    ("[bands]\ntarget_fpr = 1.5", "bands.target_fpr"),
    ("[[allow]]\nkind = 'cidr'\nvalue = '10.0.0/8'\nreason = 'x'",
     "allow[0].value: Value error, not an IP range: '10.0.0/8'"),
    ("[[allow]]\nkind = 'vpn'\nvalue = '1'\nreason = 'x'", "allow[0].kind"),
    ("[[allow]]\nkind = 'device'\nvalue = 'kiosk'", "allow[0].reason: Field required"),
    ("[features\n", "not TOML"),
])
def test_a_mistake_is_one_line_naming_the_key(text, message):
    with pytest.raises(SettingsError) as err:
        parse_settings(text, "my.toml")
    assert str(err.value).startswith("my.toml: ") and message in str(err.value)
    assert "\n" not in str(err.value)


def test_the_file_is_found_by_option_environment_or_working_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("PERSONA_RISK_CONFIG", raising=False)
    assert load_settings() == Settings()
    (tmp_path / FILE_NAME).write_text("[features]\ngeo_floor_km = 20\n")
    assert load_settings().features.geo_floor_km == 20.0
    (tmp_path / "other.toml").write_text("[features]\ngeo_floor_km = 30\n")
    monkeypatch.setenv("PERSONA_RISK_CONFIG", str(tmp_path / "other.toml"))
    assert load_settings().features.geo_floor_km == 30.0
    with pytest.raises(SettingsError, match="missing.toml: cannot read"):
        load_settings(tmp_path / "missing.toml")


def test_scoring_uses_the_model_settings_and_refuses_a_file_that_contradicts_them():
    trained_with = FeatureConfig(impossible_kmh=700.0)
    model = RiskModel("", 1.0, 0.0, {}, [], feature_settings=trained_with.settings())
    only_allow = parse_settings("[[allow]]\nkind = 'device'\nvalue = 'k'\nreason = 'kiosk'")
    cfg = only_allow.for_model(model)
    assert cfg.impossible_kmh == 700.0 and cfg.allow == only_allow.allow
    assert parse_settings("[features]\nimpossible_kmh = 700").for_model(model).impossible_kmh == 700
    with pytest.raises(SettingsError, match="features.impossible_kmh = 900.0, but model 3 was "
                                            "trained with 700.0: retrain"):
        parse_settings("[features]\nimpossible_kmh = 900").for_model(model, "model 3")


def test_cli_refuses_a_bad_settings_file_in_one_line_with_exit_2(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text("[features]\nimpossible_kph = 800\n")
    events = tmp_path / "events.csv"
    pd.DataFrame({"account_id": ["a"], "ts": ["2026-01-01T00:00:00Z"]}).to_csv(events)
    for command in (["features", "--events", str(events), "--out", str(tmp_path / "f.csv")],
                    ["score", "--events", str(events), "--out", str(tmp_path / "s.csv")],
                    ["serve"]):
        result = CliRunner().invoke(app, [*command, "--config", str(bad)])
        assert result.exit_code == 2, result.output
        assert result.stderr.strip() == (f"persona-risk {command[0]}: error: {bad}: unknown "
                                         "key 'features.impossible_kph'")
