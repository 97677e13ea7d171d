"""Analysts' decisions: appended with who, when and why, through the library, the CLI and the
service's endpoint, and turned into the labels of the next training."""

from __future__ import annotations

import sqlite3

import pandas as pd
import pytest
from typer.testing import CliRunner

from persona_risk.cli import app
from persona_risk.features import schema as s
from persona_risk.features.memory_engine import Inputs
from persona_risk.features.validate import validate_accounts
from persona_risk.serving.decisions import (
    LABELLED_AT,
    apply_decisions,
    read_decisions,
    record_decision,
)
from persona_risk.training.dataset import training_table

T0 = pd.Timestamp("2026-03-01T09:00:00Z")


def test_decisions_are_appended_with_who_when_why(tmp_path):
    db = tmp_path / "decisions.sqlite"
    record_decision(db, "acct-1", "fraud", "ana", "farm IPs", at=T0)
    record_decision(db, "acct-2", "legit", "bo", "", at=T0 + pd.Timedelta("1h"))
    record_decision(db, "acct-1", "legit", "cy", "VPN of the customer", at=T0 + pd.Timedelta("2h"))
    table = read_decisions(db)
    assert table[s.ACCOUNT_ID].tolist() == ["acct-1", "acct-2", "acct-1"]
    assert table["analyst"].tolist() == ["ana", "bo", "cy"]
    assert table["note"].iloc[2] == "VPN of the customer"
    assert table["decided_at"].iloc[2] == T0 + pd.Timedelta("2h")


@pytest.mark.parametrize(("args", "field"), [
    (("acct-1", "maybe", "ana"), "decision"), (("acct-1", "fraud", " "), "analyst"),
    (("", "fraud", "ana"), "account_id"), (("a\x00", "fraud", "ana"), "account_id"),
    (("acct-1", "fraud", "a\u202e"), "analyst"), (("x" * 201, "fraud", "ana"), "account_id")])
def test_a_bad_decision_names_its_field_and_stores_nothing(tmp_path, args, field):
    db = tmp_path / "decisions.sqlite"
    with pytest.raises(ValueError, match=f"^{field}: "):
        record_decision(db, *args)
    assert read_decisions(db).empty


def test_an_account_id_is_kept_as_validation_keeps_it(tmp_path):
    db = tmp_path / "decisions.sqlite"
    assert record_decision(db, " acct-1 ", "fraud", "ana")["account_id"] == "acct-1"
    assert read_decisions(db)["account_id"].tolist() == ["acct-1"]


def test_decisions_become_labels_in_the_next_training(small_world, tmp_path):
    world, accounts, events = small_world
    honest = accounts.loc[accounts[s.LABEL] == 0, s.ACCOUNT_ID].iloc[0]
    fraud = accounts.loc[accounts[s.LABEL] == 1, s.ACCOUNT_ID].iloc[0]
    db = tmp_path / "decisions.sqlite"
    record_decision(db, honest, "legit", "ana", at=T0)
    record_decision(db, honest, "fraud", "bo", "farm laptop", at=T0 + pd.Timedelta(1, "h"))
    record_decision(db, fraud, "legit", "cy", "known contractor", at=T0)
    record_decision(db, "acct-not-in-table", "fraud", "cy", at=T0)
    labelled = apply_decisions(world.accounts, read_decisions(db))
    assert len(labelled) == len(world.accounts)
    by_id = labelled.set_index(s.ACCOUNT_ID)
    assert by_id.at[honest, s.LABEL] == 1 and by_id.at[fraud, s.LABEL] == 0  # latest decides
    assert by_id.at[honest, LABELLED_AT] == T0 + pd.Timedelta(1, "h")
    assert by_id[LABELLED_AT].notna().sum() == 2
    untouched = by_id.drop(index=[honest, fraud])
    truth = world.accounts.set_index(s.ACCOUNT_ID)[s.LABEL]
    assert (untouched[s.LABEL] == truth.reindex(untouched.index)).all()

    table = training_table(Inputs(events, pd.DataFrame(), validate_accounts(labelled)))
    labels = table.set_index(s.ACCOUNT_ID)[s.LABEL]
    assert labels[honest] == 1 and labels[fraud] == 0

    undecided = apply_decisions(world.accounts.drop(columns=[s.LABEL]), read_decisions(db))
    assert undecided[s.LABEL].notna().sum() == 2  # a partly labelled table: the rest missing


def test_review_command(tmp_path):
    runner = CliRunner()
    db = tmp_path / "d.sqlite"
    ok = runner.invoke(app, ["review", "acct-7", "--decision", "fraud", "--note", "farm",
                             "--analyst", "ana", "--decisions", str(db)])
    assert ok.exit_code == 0, ok.output
    bad = runner.invoke(app, ["review", "acct-7", "--decision", "fraudulent",
                              "--decisions", str(db)])
    assert bad.exit_code == 2 and "'--decision': 'fraudulent' is not one of" in bad.stderr
    assert "Traceback" not in bad.output
    assert read_decisions(db)[["account_id", "decision", "analyst", "note"]].values.tolist() == [
        ["acct-7", "fraud", "ana", "farm"]]


@pytest.mark.slow
def test_decision_endpoint(server_factory, registry):
    server = server_factory().wait_ready()
    db = registry["folder"] / "decisions.sqlite"  # the server runs there: its default table
    body = {"decision": "fraud", "analyst": "ana", "note": "same laptop as acct-9"}
    with server.client() as c:
        r = c.post("/v1/accounts/acct-endpoint/decision", json=body)
        assert r.status_code == 200 and r.json()["decision"] == "fraud"
        for wrong in ({**body, "decision": "maybe"}, {"decision": "legit"},
                      {**body, "note": "x" * 3000}):
            r = c.post("/v1/accounts/acct-endpoint/decision", json=wrong)
            assert r.status_code == 422, r.text
        blank = c.post("/v1/accounts/acct-endpoint/decision", json={**body, "analyst": "  "})
        assert blank.status_code == 422  # refused by the table, in the documented shape
        assert [p["loc"] for p in blank.json()["detail"]] == [["body", "analyst"]]
    with server.client(token=None) as anonymous:
        assert anonymous.post("/v1/accounts/acct-endpoint/decision",
                              json=body).status_code == 401
    with sqlite3.connect(db) as conn:
        rows = conn.execute("SELECT decision, analyst, note FROM decisions WHERE account_id = ?",
                            ("acct-endpoint",)).fetchall()
    assert rows == [("fraud", "ana", "same laptop as acct-9")]


def test_a_missing_decisions_file_is_refused_before_any_work(tmp_path):
    for command in (["explain", "--high-band", "--events", str(tmp_path), "--out",
                     str(tmp_path / "pages")],
                    ["alerts", "--scores", str(tmp_path / "s.parquet"), "--out",
                     str(tmp_path / "a.jsonl")]):
        result = CliRunner().invoke(app, [*command, "--decisions", str(tmp_path / "nope.db")])
        text = " ".join(result.output.replace("│", " ").split())
        assert result.exit_code == 2 and "does not exist" in text
        assert not (tmp_path / "nope.db").exists()
