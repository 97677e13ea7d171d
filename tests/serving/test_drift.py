"""Drift in the nightly job: a rerun on the same events is quiet; a field gone null or a time
zone shift in tonight's export trips the check against the previous run and the training
reference, in the summary JSON and as warning lines."""

from __future__ import annotations

import json
import logging

import numpy as np
import pandas as pd
import pytest

from persona_risk.features import schema as s
from persona_risk.features.io import write_table
from persona_risk.features.pipeline import compute_features
from persona_risk.serving.batch import score_events
from persona_risk.serving.drift import (
    DriftLimits,
    DriftWatch,
    Profile,
    compare,
    psi,
    reference_profile,
)

pytestmark = pytest.mark.slow


def test_psi_is_zero_for_the_same_distribution_and_grows_with_a_shift():
    assert psi([10, 20, 30], [10, 20, 30]) == 0
    assert psi([10, 20, 30], [1, 2, 3]) == pytest.approx(0)  # shares, not counts
    assert psi([10, 20, 30], [30, 20, 10]) > 0.25
    assert np.isnan(psi([0, 0], [1, 1]))


@pytest.fixture(scope="module")
def nightly(small_world, tmp_path_factory):
    """Clean events and accounts of a small world as files; and a training reference made
    from the features of the same clean events."""
    world, accounts, events = small_world
    folder = tmp_path_factory.mktemp("nightly")
    write_table(world.accounts, folder / "accounts.parquet")
    write_table(events, folder / "clean.parquet")
    features = compute_features(events, accounts, with_signals=False).features
    write_table(features, folder / "train_features.parquet")
    return folder, events


def _night(folder, events_file, model, out, reference=None):
    watch = DriftWatch(out, reference_profile(reference) if reference else None, DriftLimits())
    return score_events([events_file], model, "v1", out, [folder / "accounts.parquet"],
                        pd.Timestamp("2026-02-10", tz="UTC"), drift=watch)


def _flagged(report: dict) -> set[str]:
    return {w.split(":")[0] for w in report["warnings"]}


def test_a_rerun_is_quiet_and_the_profile_is_kept(nightly, trained, tmp_path):
    folder, _ = nightly
    out = tmp_path / "scores.parquet"
    first = _night(folder, folder / "clean.parquet", trained.model, out,
                   folder / "train_features.parquet")
    assert first.drift["against_previous"] is None  # no earlier run
    assert first.drift["warnings"] == []
    again = _night(folder, folder / "clean.parquet", trained.model, out)
    prev = again.drift["against_previous"]
    assert prev["score_psi"] == 0 and again.drift["warnings"] == []
    assert all(f["psi"] in (0, None) for f in prev["features"].values())
    saved = json.loads((tmp_path / "scores.summary.json").read_text())
    assert saved["drift"]["against_previous"]["band_share"] == prev["band_share"]
    assert Profile.read(tmp_path / "scores.profile.json").rows == again.accounts_scored
    assert again.drift["page"] == str(tmp_path / "scores.drift.html")
    assert "No limit passed." in (tmp_path / "scores.drift.html").read_text()


@pytest.mark.parametrize("broken", ["device_tz_null", "clock_shifted_6h"])
def test_a_broken_export_trips_the_check(nightly, trained, tmp_path, broken, caplog):
    folder, events = nightly
    out = tmp_path / "scores.parquet"
    _night(folder, folder / "clean.parquet", trained.model, out)
    bad = events.copy()
    if broken == "device_tz_null":
        bad[s.DEVICE_TZ] = None
    else:  # an export in local time labelled UTC: every event six hours late
        bad[s.TS] = bad[s.TS] + pd.Timedelta(hours=6)
    write_table(bad, tmp_path / "tonight.parquet")
    with caplog.at_level(logging.WARNING, logger="persona_risk.drift"):
        summary = _night(folder, tmp_path / "tonight.parquet", trained.model, out,
                         folder / "train_features.parquet")
    flagged = _flagged(summary.drift)
    if broken == "device_tz_null":
        assert "device_claimed_tz_mismatch_share" in flagged, summary.drift["warnings"]
        ref = summary.drift["against_reference"]["features"]
        assert ref["device_claimed_tz_mismatch_share"]["null_rate_change"] > 0.5
    else:
        assert {"hour_circular_mean", "night_share"} & flagged, summary.drift["warnings"]
    assert any("the training reference" in w for w in summary.drift["warnings"])
    assert any("the previous run" in w for w in summary.drift["warnings"])
    assert len(caplog.records) == len(summary.drift["warnings"])
    assert all(r.getMessage().startswith("drift: ") for r in caplog.records)


def test_limits_are_configurable():
    current, previous = Profile({"f": [0.5]}), Profile({"f": [0.5]})
    current.add(pd.DataFrame({"f": [0.1] * 90 + [0.9] * 10}),
                pd.DataFrame({"score": [0.05] * 100, "band": ["low"] * 100}))
    previous.add(pd.DataFrame({"f": [0.1] * 50 + [0.9] * 50}),
                 pd.DataFrame({"score": [0.05] * 100, "band": ["low"] * 100}))
    assert _flagged(compare(current, None, previous, DriftLimits())) == {"f"}
    assert _flagged(compare(current, None, previous, DriftLimits(feature_psi=1.0))) == set()


def test_a_run_of_a_few_accounts_is_not_compared():
    """A probe: six accounts of a real sample raised 41 drift warnings."""
    current, previous = Profile({"f": [0.5]}), Profile({"f": [0.5]})
    current.add(pd.DataFrame({"f": [0.1] * 5 + [0.9]}),
                pd.DataFrame({"score": [0.05] * 6, "band": ["low"] * 6}))
    previous.add(pd.DataFrame({"f": [0.9] * 100}),
                 pd.DataFrame({"score": [0.9] * 100, "band": ["high"] * 100}))
    report = compare(current, previous, previous, DriftLimits())
    assert report["warnings"] == [] and "6 accounts, fewer than 100" in report["not_compared"]
    assert "f" in _flagged(compare(current, None, previous, DriftLimits(min_accounts=1)))


def test_the_run_and_its_drift_are_logged_to_mlflow(nightly, trained, tmp_path):
    import dataclasses

    import mlflow

    from persona_risk.serving.drift import NIGHTLY_EXPERIMENT, log_to_mlflow

    folder, events = nightly
    out = tmp_path / "scores.parquet"
    _night(folder, folder / "clean.parquet", trained.model, out)
    write_table(events.assign(**{s.DEVICE_TZ: None}), tmp_path / "tonight.parquet")
    summary = _night(folder, tmp_path / "tonight.parquet", trained.model, out)
    before = mlflow.get_tracking_uri()
    mlflow.set_tracking_uri(f"sqlite:///{tmp_path}/mlflow.db")
    try:
        run_id = log_to_mlflow(dataclasses.asdict(summary))
        run = mlflow.MlflowClient().get_run(run_id)
        experiment = mlflow.MlflowClient().get_experiment(run.info.experiment_id)
    finally:
        mlflow.set_tracking_uri(before)
    metrics = run.data.metrics
    assert metrics["drift.warnings"] == len(summary.drift["warnings"]) > 0
    name = "against_previous.null_rate_change.device_claimed_tz_mismatch_share"
    assert metrics[name] == pytest.approx(1.0)
    assert metrics["band_share.high"] == pytest.approx(
        summary.per_band.get("high", 0) / summary.accounts_scored)
    assert run.data.params["model_version"] == "v1"
    assert experiment.name == NIGHTLY_EXPERIMENT


def test_the_drift_check_is_refused_on_spark_before_any_work(tmp_path):
    from typer.testing import CliRunner

    from persona_risk.cli import app

    result = CliRunner().invoke(app, ["score", "--events", str(tmp_path), "--out",
                                      str(tmp_path / "s.parquet"), "--engine", "spark",
                                      "--drift-reference", str(tmp_path / "f.parquet")])
    assert result.exit_code == 2 and "engine only" in result.output


def test_score_uses_the_reference_logged_with_the_model_and_shows_decisions(
        nightly, registry, trained, tmp_path, monkeypatch):
    """Training logs its data's profile with the model; the nightly `score` compares against
    it with no option and says so; `./decisions.sqlite` puts each account's latest analyst
    decision beside its score."""
    from typer.testing import CliRunner

    from persona_risk.cli import app
    from persona_risk.models.pyfunc import load_logged_model
    from persona_risk.models.tracking import configure_tracking
    from persona_risk.serving.decisions import record_decision

    for name, value in registry["env"].items():
        monkeypatch.setenv(name, value)
    configure_tracking()  # an earlier test may have pointed MLflow elsewhere in this process
    logged, version = load_logged_model(registry["uri"])
    assert logged.reference.rows == len(trained.table)  # the training table, with its scores
    assert sum(logged.reference.scores) == len(trained.table)
    assert set(logged.reference.edges) == set(trained.model.feature_names)

    folder, events = nightly
    write_table(events.assign(**{s.DEVICE_TZ: None}), tmp_path / "tonight.parquet")
    monkeypatch.chdir(tmp_path)
    decided = events[s.ACCOUNT_ID].iloc[0]
    record_decision("decisions.sqlite", decided, "fraud", "ana", at="2026-02-09T10:00:00Z")
    record_decision("decisions.sqlite", decided, "legit", "bo", at="2026-02-09T11:00:00Z")
    result = CliRunner().invoke(app, [
        "score", "--events", str(tmp_path / "tonight.parquet"), "--accounts",
        str(folder / "accounts.parquet"), "--out", str(tmp_path / "scores.parquet"),
        "--model", registry["uri"], "--fail-on-drift"])
    assert result.exit_code == 3, result.output
    assert f"drift reference: logged with model {version}" in result.output
    drift = json.loads((tmp_path / "scores.summary.json").read_text())["drift"]
    assert drift["reference"] == f"logged with model {version}"
    ref = drift["against_reference"]["features"]["device_claimed_tz_mismatch_share"]
    assert ref["null_rate_change"] > 0.5
    assert any("device_claimed_tz_mismatch_share" in w and "the training reference" in w
               for w in drift["warnings"])
    scores = pd.read_parquet(tmp_path / "scores.parquet").set_index(s.ACCOUNT_ID)
    assert scores.loc[decided, "decision"] == "legit"
    assert scores.loc[decided, "decided_at"] == pd.Timestamp("2026-02-09T11:00:00Z")
    assert scores.drop(index=decided)["decision"].isna().all()
