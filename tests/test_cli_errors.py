"""A user's mistake is one line on stderr naming the option, field or row, and exit code 2;
`--debug` shows the traceback instead (persona_risk/cli_errors.py)."""

from __future__ import annotations

import gzip
import os
import subprocess
import sys

import pytest
from typer.testing import CliRunner

import persona_risk
from persona_risk.cli import app
from persona_risk.features.io import write_table
from persona_risk.features.validate import SchemaError
from persona_risk.training.simulator.simulate import SimConfig, simulate

runner = CliRunner()


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """A tiny labelled world on disk: events, accounts, accounts without labels or dates."""
    folder = tmp_path_factory.mktemp("world")
    sim = simulate(SimConfig(accounts=120, days=10, fraud_rate=0.1, seed=3, worlds=1))
    write_table(sim.events, folder / "events.parquet")
    write_table(sim.accounts, folder / "accounts.parquet")
    write_table(sim.accounts.drop(columns=["label"]), folder / "unlabelled.parquet")
    write_table(sim.accounts.drop(columns=["created_at"]), folder / "undated.parquet")
    (folder / "malformed.csv").write_text("event_id,account_id,ts\ne1,a,2026-01-01,extra\n")
    (folder / "not_a_database").write_text("account_id,decision\n")
    okta = b'{"eventType": "x", "published": "2026-01-01T00:00:00Z", "actor": {}}\n'
    (folder / "cut.jsonl.gz").write_bytes(gzip.compress(okta * 50)[:-12])
    (folder / "cut.json").write_text('[{"eventType": "user.session.start",\n "actor"')
    (folder / "junk.mmdb").write_text("junk")
    (folder / "berln.yaml").write_text("columns: {account_id: user}\ntimezone: Europe/Berln\n")
    return folder


MISTAKES = {  # name: (arguments, what the line must say)
    "unparsable time": (["features", "--out", "{w}/f.parquet", "--as-of", "next tuesday"],
                        "'--as-of': 'next tuesday' is not an ISO-8601 time"),
    "day-first time": (["features", "--out", "{w}/f.parquet", "--as-of", "01/02/2026"],
                       "'--as-of': '01/02/2026' is not an ISO-8601 time"),
    "unknown account": (["explain", "acct-999999", "--out", "{w}/pages"],
                        "ACCOUNT_ID: 'acct-999999' has no events or record"),
    "fractions sum": (["train", "--accounts", "{w}/accounts.parquet", "--val-frac", "0.7",
                       "--test-frac", "0.5"], "'--val-frac' + '--test-frac': 0.7 + 0.5"),
    "evaluate fractions": (["evaluate", "--accounts", "{w}/accounts.parquet", "--val-frac",
                            "0.7", "--test-frac", "0.5"], "'--val-frac' + '--test-frac': 0.7"),
    "fraction range": (["train", "--accounts", "{w}/accounts.parquet", "--test-frac", "1.5"],
                       "'--test-frac': 1.5 is not in (0, 1)"),
    "label error": (["train", "--accounts", "{w}/unlabelled.parquet"],
                    "accounts.label: training needs an accounts table with a label column"),
    "too few simulated": (["train", "--accounts", "{w}/accounts.parquet", "--simulated", "50"],
                          "simulated accounts: 50 is too few to fit on"),
    "split error": (["train", "--accounts", "{w}/accounts.parquet", "--split", "label-time"],
                    "split label-time: needs a labelled_at time"),
    "bad engine": (["score", "--out", "{w}/s.parquet", "--engine", "sparky"],
                   "'--engine': 'sparky' is not one of 'local', 'spark'"),
    "bad split": (["evaluate", "--accounts", "{w}/accounts.parquet", "--split", "sideways"],
                  "'--split': 'sideways' is not one of"),
    "bad account field": (["ingest", "okta", "{w}/x.json", "--out", "{w}/o.parquet",
                           "--account-field", "email"], "'--account-field': 'email'"),
    "missing field": (["train", "--accounts", "{w}/undated.parquet"],
                      "accounts.created_at: required column is missing"),
    "unwritable out": (["features", "--out", "/dev/null/f.parquet"], "Not a directory"),
    "out in the input": (["score", "--out", "{w}/sub/s.parquet", "--events", "{w}"],
                         "is inside the input folder"),
    "out is an input": (["score", "--out", "{w}/events.parquet"], "is an input file"),
    "features out is an input": (["features", "--out", "{w}/events.parquet"], "is an input file"),
    "scores without a band": (["alerts", "--scores", "{w}/accounts.parquet", "--out",
                               "{w}/a.jsonl"], "scores.score: required column is missing"),
    "decisions not a database": (["review", "acct-000001", "--decision", "fraud", "--decisions",
                                  "{w}/not_a_database"], "not a decisions database"),
    "report is a file": (["train", "--accounts", "{w}/accounts.parquet", "--report",
                          "{w}/unlabelled.parquet"], "File exists"),
    "report is an input": (["train", "--accounts", "{w}/accounts.parquet", "--report",
                            "{w}/accounts.parquet"], "'--report': {w}/accounts.parquet is an "
                                                     "input file"),
    "gzip cut short": (["ingest", "okta", "{w}/cut.jsonl.gz", "--out", "{w}/o.parquet"],
                       "cut.jsonl.gz: gzip data cut short or corrupt"),
    "json cut short": (["ingest", "okta", "{w}/cut.json", "--out", "{w}/o.parquet"],
                       "cut.json line 2: JSON cut short or broken (parse error: premature EOF)"),
    "not a geoip database": (["features", "--out", "{w}/f.parquet", "--geoip-db",
                              "{w}/junk.mmdb"], "--geoip-db {w}/junk.mmdb: not a MaxMind-format"),
    "missing geoip database": (["features", "--out", "{w}/f.parquet", "--geoip-db",
                                "{w}/none.mmdb"], "--geoip-db {w}/none.mmdb: No such file"),
    "mapping time zone": (["ingest", "csv", "{w}/malformed.csv", "--mapping", "{w}/berln.yaml",
                           "--out", "{w}/o.parquet"],
                          "berln.yaml: timezone: unknown time-zone name 'Europe/Berln'"),
    "malformed csv": (["train", "--accounts", "{w}/accounts.parquet", "--events",
                       "{w}/malformed.csv"], "malformed.csv: line 2: 4 fields where the header"),
}


@pytest.mark.parametrize("name", MISTAKES)
def test_a_mistake_is_one_line_on_stderr_and_exit_code_2(world, tmp_path, monkeypatch, name):
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path}/mlflow.db")
    args, says = MISTAKES[name]
    args, says = [a.format(w=world) for a in args], says.format(w=world)
    if args[0] not in ("ingest", "alerts", "review"):
        args += ["--events", str(world / "events.parquet")]
    result = runner.invoke(app, args)
    assert result.exit_code == 2, result.output
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"persona-risk {args[0]}: error: ") and says in lines[0], lines[0]
    assert "Traceback" not in result.output


def test_ingest_source_choices_are_in_the_help():
    result = runner.invoke(app, ["ingest", "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    assert "entra|entra-users|okta|okta-users|cloudtrail|csv" in result.output


def test_debug_shows_the_error_itself(world):
    args = ["train", "--events", str(world / "events.parquet"), "--accounts",
            str(world / "undated.parquet")]
    result = runner.invoke(app, ["--debug", *args])
    assert isinstance(result.exception, SchemaError)
    assert result.exit_code == 1


def test_version():
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.stdout.strip() == f"persona-risk {persona_risk.__version__}"


@pytest.mark.slow  # two interpreters importing pandas and the CLI: about 7 s
def test_the_installed_program_prints_one_line_or_with_debug_the_traceback(world):
    """Outside CliRunner: the console entry point, a real stderr, rich's exception hook."""
    args = ["features", "--events", str(world / "events.parquet"), "--out",
            str(world / "f.parquet"), "--accounts", str(world / "undated.parquet")]
    program = [sys.executable, "-c", "from persona_risk.cli import app; app()"]
    env = {**os.environ, "COLUMNS": "100"}
    plain = subprocess.run([*program, *args], capture_output=True, text=True, env=env)
    assert plain.returncode == 2, plain.stderr
    assert plain.stderr.splitlines() == [
        "persona-risk features: error: accounts.created_at: required column is missing"]
    debug = subprocess.run([*program, "--debug", *args], capture_output=True, text=True, env=env)
    assert debug.returncode == 1
    assert "Traceback" in debug.stderr and "SchemaError" in debug.stderr
