"""Analysts' decisions on accounts (fraud or legit, who, when, why), and the labels they make.

The decisions table is append-only, in a SQLite file: a later decision on an account overrides
an earlier one when labels are made, and the history stays for the investigation page.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pandas as pd

from persona_risk.features import schema as s
from persona_risk.features.checks import text_flaws
from persona_risk.features.validate import MAX_ID_CHARS

DECISIONS = {"fraud": 1, "legit": 0}  # decision -> label
DECISIONS_FILE = Path("decisions.sqlite")  # the default table: `review` appends, others read
LABELLED_AT = "labelled_at"
COLUMNS = [s.ACCOUNT_ID, "decision", "analyst", "note", "decided_at"]
MAX_NOTE = 2000  # characters


class DecisionsFileError(ValueError):
    """The decisions file is not a SQLite database (a CSV or text file given by mistake)."""


def _connect(path: Path | str) -> sqlite3.Connection:
    db = sqlite3.connect(path, timeout=30)
    try:
        db.execute("CREATE TABLE IF NOT EXISTS decisions (seq INTEGER PRIMARY KEY "
                   "AUTOINCREMENT, account_id TEXT NOT NULL, decision TEXT NOT NULL, "
                   "analyst TEXT NOT NULL, note TEXT NOT NULL, decided_at TEXT NOT NULL)")
    except sqlite3.DatabaseError as err:
        db.close()
        raise DecisionsFileError(f"{path}: not a decisions database ({err}); give the SQLite "
                                 "file `review` writes, or a new path") from err
    return db


def record_decision(path: Path | str, account_id: str, decision: str, analyst: str,
                    note: str = "", at: pd.Timestamp | None = None) -> dict:
    """Append one decision; ValueError naming the field when one is not acceptable."""
    if decision not in DECISIONS:
        raise ValueError(f"decision: {decision!r} is not one of {', '.join(DECISIONS)}")
    account_id, analyst = account_id.strip(), analyst.strip()  # as validation keeps ids
    for field, value, limit in ((s.ACCOUNT_ID, account_id, MAX_ID_CHARS),
                                ("analyst", analyst, MAX_ID_CHARS), ("note", note, MAX_NOTE)):
        if not value and field != "note":
            raise ValueError(f"{field}: must not be empty")
        too_long, unprintable = text_flaws(pd.Series([value], dtype="str"), limit)
        if too_long[0]:
            raise ValueError(f"{field}: longer than {limit} characters")
        if unprintable[0] and field != "note":  # a note may hold line breaks
            raise ValueError(f"{field}: control, format or unassigned characters")
    at = pd.Timestamp.now(tz="UTC") if at is None else pd.Timestamp(at).tz_convert("UTC")
    row = {s.ACCOUNT_ID: account_id, "decision": decision, "analyst": analyst,
           "note": note, "decided_at": at.isoformat()}
    with _connect(path) as db:
        db.execute("INSERT INTO decisions (account_id, decision, analyst, note, decided_at) "
                   "VALUES (:account_id, :decision, :analyst, :note, :decided_at)", row)
    db.close()
    return row


def read_decisions(path: Path | str) -> pd.DataFrame:
    """Every decision in the order made; `decided_at` as UTC timestamps."""
    with _connect(path) as db:
        table = pd.read_sql_query(f"SELECT {', '.join(COLUMNS)} FROM decisions ORDER BY seq", db)
    db.close()
    table["decided_at"] = pd.to_datetime(table["decided_at"], utc=True, format="ISO8601")
    return table


def latest_decisions(decisions: pd.DataFrame) -> pd.DataFrame:
    """Each account's latest decision (the table of `read_decisions`), indexed by account id."""
    return decisions.drop_duplicates(s.ACCOUNT_ID, keep="last").set_index(s.ACCOUNT_ID)


def with_decisions(scores: pd.DataFrame, decisions: pd.DataFrame) -> pd.DataFrame:
    """`scores` (a table with account_id) with each account's latest `decision` (fraud or
    legit) and its time `decided_at` (UTC), missing where no analyst decided."""
    latest = latest_decisions(decisions).reindex(scores[s.ACCOUNT_ID])
    return scores.assign(decision=latest["decision"].to_numpy(),
                         decided_at=pd.Series(latest["decided_at"].to_numpy(), index=scores.index,
                                              dtype="datetime64[ns, UTC]"))


def apply_decisions(accounts: pd.DataFrame, decisions: pd.DataFrame) -> pd.DataFrame:
    """The accounts table with `label` (1 fraud, 0 legit, missing when undecided) and
    `labelled_at` (UTC time of the deciding decision) from each account's latest decision.
    A label the table already has stays where no decision was made; decisions on accounts
    the table lacks are ignored."""
    latest = latest_decisions(decisions)
    ids = accounts[s.ACCOUNT_ID]
    decided = latest["decision"].map(DECISIONS).reindex(ids).to_numpy()
    old = (accounts[s.LABEL] if s.LABEL in accounts.columns
           else pd.Series(pd.NA, index=accounts.index))
    label = pd.array(old, dtype="Int8")
    has = ~pd.isna(decided)
    label[has] = decided[has].astype("int8")
    at = pd.Series(latest["decided_at"].reindex(ids).to_numpy(), index=accounts.index,
                   dtype="datetime64[ns, UTC]")
    if LABELLED_AT in accounts.columns:
        at = at.fillna(accounts[LABELLED_AT])
    return accounts.assign(**{s.LABEL: label, LABELLED_AT: at})
