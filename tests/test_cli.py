"""The command line: help everywhere, and the simulate -> features path through files."""

from __future__ import annotations

import mlflow
import pandas as pd
import pytest
import typer
from typer.testing import CliRunner

from persona_risk.cli import app
from persona_risk.training.registry import EXPERIMENT

COMMANDS = ["simulate", "features", "ingest", "train", "evaluate", "robustness", "score",
            "explain", "review", "alerts", "serve", "demo"]  # as --help lists them
runner = CliRunner()


@pytest.mark.parametrize("command", [None, *COMMANDS])
def test_help_on_every_command(command):
    result = runner.invoke(app, [command, "--help"] if command else ["--help"])
    assert result.exit_code == 0, result.output
    assert "Usage" in result.output


def test_the_help_lists_every_command_in_order():
    assert typer.main.get_command(app).list_commands(None) == COMMANDS


def test_simulate_then_features_without_accounts(tmp_path):
    out = tmp_path / "world"
    result = runner.invoke(app, ["simulate", "--out", str(out), "--accounts", "120",
                                 "--days", "15", "--seed", "4"])
    assert result.exit_code == 0, result.output
    assert {p.name for p in out.iterdir()} == {"accounts.parquet", "events.parquet",
                                               "truth.parquet"}
    features = tmp_path / "features.csv"
    result = runner.invoke(app, ["features", "--events", str(out / "events.parquet"),
                                 "--out", str(features)])
    assert result.exit_code == 0, result.output
    table = pd.read_csv(features)
    events = pd.read_parquet(out / "events.parquet")
    assert len(table) == events["account_id"].nunique()
    assert table["account_age_days"].isna().all()


def test_features_leaves_no_quarantine_of_an_earlier_run(tmp_path):
    """Finding 9: a clean run after a run with bad rows left the old quarantine file beside
    the new output."""
    events, out = tmp_path / "events.csv", tmp_path / "features.parquet"
    rows = ("event_id,account_id,ts,ip\n"
            "e1,a,2026-01-01T00:00:00Z,203.0.113.9\ne2,a,2026-01-02T00:00:00Z,198.51.100.7\n")
    events.write_text(rows + "e3,b,2026-01-02T00:00:00Z,999.1.1.1\n")
    assert runner.invoke(app, ["features", "--events", str(events), "--out", str(out)]
                         ).exit_code == 0
    quarantine = pd.read_csv(tmp_path / "features.quarantine.csv")
    assert quarantine["event_id"].tolist() == ["e3"] and "ip" in quarantine["reason"][0]
    events.write_text(rows)
    result = runner.invoke(app, ["features", "--events", str(events), "--out", str(out)])
    assert result.exit_code == 0 and "0 rows quarantined" in result.output, result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["events.csv", "features.parquet"]


def test_score_with_a_missing_model_exits_2(tmp_path, monkeypatch):
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path}/mlflow.db")
    events = tmp_path / "e.csv"
    events.write_text("account_id,ts\na,2026-01-01T00:00:00Z\n")
    result = runner.invoke(app, ["score", "--events", str(events), "--out",
                                 str(tmp_path / "s.parquet"), "--model",
                                 "models:/nothing@champion"])
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        "persona-risk score: error: Invalid value for '--model': models:/nothing@champion could "
        "not be loaded: Registered Model with name=nothing not found (see persona-risk score "
        "--help)"]


@pytest.mark.parametrize(("engine", "out", "message"), [
    ("bogus", "scores.parquet", "'bogus' is not one of 'local', 'spark'"),
    ("spark", "scores.csv", "Parquet dataset, not CSV"),
])
def test_engine_choice_is_checked_before_any_work(tmp_path, engine, out, message):
    for command in ("features", "score"):
        result = runner.invoke(app, [command, "--events", str(tmp_path), "--out",
                                     str(tmp_path / out), "--engine", engine])
        assert result.exit_code == 2, result.output
        assert message in " ".join(result.output.split())


def test_features_of_events_none_of_which_is_readable_is_one_line_naming_the_quarantine(
        tmp_path):
    events, out = tmp_path / "events.csv", tmp_path / "features.parquet"
    events.write_text("event_id,account_id,ts\ne1,a,not a time\ne2,b,yesterday\n")
    result = runner.invoke(app, ["features", "--events", str(events), "--out", str(out)])
    assert result.exit_code == 2, result.output
    assert "none readable (2 set aside, reasons in" in result.stderr
    assert len(pd.read_csv(tmp_path / "features.quarantine.csv")) == 2


def test_train_on_a_real_shaped_table_and_refusals_in_one_line(tmp_path, monkeypatch):
    """Partly labelled accounts, no persona column, CSV: training runs, says how it split;
    an impossible split is one line and exit code 2."""
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path}/mlflow.db")
    monkeypatch.chdir(tmp_path)
    world = tmp_path / "world"
    result = runner.invoke(app, ["simulate", "--out", str(world), "--accounts", "1500",
                                 "--days", "30", "--fraud-rate", "0.08", "--seed", "2"])
    assert result.exit_code == 0, result.output
    accounts = pd.read_parquet(world / "accounts.parquet").drop(columns=["persona"])
    accounts.loc[accounts.index % 3 == 0, "label"] = None
    accounts.to_csv(tmp_path / "accounts.csv", index=False)
    events = pd.read_parquet(world / "events.parquet")
    events.loc[[3, 7], "ts"] = pd.NaT  # rows a real export breaks: said and kept aside
    events.to_parquet(tmp_path / "events.parquet")
    args = ["train", "--events", str(tmp_path / "events.parquet"), "--accounts",
            str(tmp_path / "accounts.csv"), "--report", str(tmp_path / "report")]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "split " in result.output and "sign-in logs alone" in result.output
    assert (tmp_path / "report" / "report.md").exists()
    assert "2 event rows set aside" in result.output
    assert pd.read_csv(tmp_path / "report.quarantine.csv")["row"].tolist() == [3, 7]
    beside = [*args[:-1], str(tmp_path / "beside"), "--simulated", "2000", "--boosters", "2"]
    result = runner.invoke(app, beside)
    assert result.exit_code == 0, result.output
    assert "with 2,000 simulated accounts" in result.output
    run = mlflow.search_runs(experiment_names=[EXPERIMENT], order_by=["start_time DESC"]).iloc[0]
    assert run["params.simulated_accounts"] == "2000" and run["params.boosters"] == "2"
    assert "Fitted beside 2,000 simulated accounts" in (tmp_path / "beside" / "report.md"
                                                        ).read_text()
    result = runner.invoke(app, [*args, "--split", "label-time"])
    assert result.exit_code == 2
    assert "train: error: split label-time: needs a labelled_at" in result.stderr
    result = runner.invoke(app, [*args, "--split", "sideways"])
    assert result.exit_code == 2 and "sideways" in result.output
    accounts.drop(columns=["created_at"]).to_csv(tmp_path / "undated.csv", index=False)
    result = runner.invoke(app, ["score", "--events", str(world / "events.parquet"), "--accounts",
                                 str(tmp_path / "undated.csv"), "--out", str(tmp_path / "s.csv")])
    assert result.exit_code == 2, result.output  # the user's input, not a failed job (exit 1)
    assert result.stderr.strip() == ("persona-risk score: error: accounts.created_at: required "
                                     "column is missing")
