"""The online feature state in an embedded SQLite file (WAL mode, synchronous FULL).

It implements the storage primitives of `features.online.FeatureStore`, so features come from
the same code as in batch. An event is stored, with its reuse pairs, in one transaction before
the reply, so an acknowledged event survives a restart or a SIGKILL right after the reply.
Event ids are the primary key: a retried event is ignored. Each thread has its own connection;
SQLite serialises writers, so concurrent requests for one account never lose an update.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from pathlib import Path

from persona_risk.features import schema as s
from persona_risk.features.config import FeatureConfig
from persona_risk.features.online import ACCOUNT_NAMES, EVENT_NAMES, FeatureStore

SCHEMA = """
CREATE TABLE IF NOT EXISTS events (
    event_id TEXT PRIMARY KEY, account_id TEXT NOT NULL, ts INTEGER NOT NULL, row TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS events_account ON events(account_id);
CREATE INDEX IF NOT EXISTS events_ts ON events(ts);
CREATE TABLE IF NOT EXISTS pairs (
    kind TEXT NOT NULL, key TEXT NOT NULL, account_id TEXT NOT NULL, first_ts INTEGER NOT NULL,
    PRIMARY KEY (kind, key, account_id));
CREATE TABLE IF NOT EXISTS accounts (
    account_id TEXT PRIMARY KEY, payout_id TEXT, phone_id TEXT, row TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS accounts_payout ON accounts(payout_id);
CREATE INDEX IF NOT EXISTS accounts_phone ON accounts(phone_id);
"""
BUSY_TIMEOUT_S = 30.0
IN_BATCH = 500  # values bound per IN (...) list: SQLite caps the variables of a statement


class SqliteFeatureStore(FeatureStore):
    """Online feature state in one SQLite file at `path`."""

    def __init__(self, path: Path | str, cfg: FeatureConfig = FeatureConfig()):
        super().__init__(cfg)
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()
        with self._conn() as conn:
            conn.executescript(SCHEMA)

    def _conn(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_S, isolation_level=None,
                                   check_same_thread=False)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=FULL")
            self._local.conn = conn
        return conn

    def writable(self) -> bool:
        """True when a write transaction can be opened (for readiness checks)."""
        try:
            conn = self._conn()
            conn.execute("BEGIN IMMEDIATE")
            conn.execute("ROLLBACK")
            return True
        except sqlite3.Error:
            return False

    def _rows_in(self, sql: str, values: list, *before) -> list[tuple]:
        """All rows of `sql`, whose `{marks}` stands for `values`, asked `IN_BATCH` values at
        a time; `before` binds the placeholders ahead of the list."""
        out = []
        for start in range(0, len(values), IN_BATCH):
            chunk = values[start:start + IN_BATCH]
            out += self._conn().execute(sql.format(marks=",".join("?" * len(chunk))),
                                        [*before, *chunk]).fetchall()
        return out

    def known_event_ids(self, event_ids: list[str]) -> set[str]:
        return {r[0] for r in self._rows_in(
            "SELECT event_id FROM events WHERE event_id IN ({marks})", event_ids)}

    def put(self, events: list[list], pairs: list[tuple]) -> None:
        id_col, acc_col = EVENT_NAMES.index(s.EVENT_ID), EVENT_NAMES.index(s.ACCOUNT_ID)
        ts_col = EVENT_NAMES.index(s.TS)
        conn = self._conn()
        conn.execute("BEGIN IMMEDIATE")
        try:
            conn.executemany(
                "INSERT OR IGNORE INTO events(event_id, account_id, ts, row) VALUES (?,?,?,?)",
                [(r[id_col], r[acc_col], r[ts_col], json.dumps(r)) for r in events])
            conn.executemany(
                "INSERT INTO pairs(kind, key, account_id, first_ts) VALUES (?,?,?,?) "
                "ON CONFLICT(kind, key, account_id) DO UPDATE SET "
                "first_ts = MIN(first_ts, excluded.first_ts)",
                [(k, key, a, int(t)) for k, key, a, t in pairs])
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise

    def history(self, account_id: str) -> list[list]:
        rows = self._conn().execute("SELECT row FROM events WHERE account_id = ?", (account_id,))
        return [json.loads(r[0]) for r in rows]

    def histories(self, account_ids: list[str]) -> list[list]:
        rows = self._rows_in("SELECT row FROM events WHERE account_id IN ({marks})", account_ids)
        return json.loads("[" + ",".join(r[0] for r in rows) + "]")  # one parse, not one a row

    def pairs_for(self, kind: str, keys: list[str]) -> list[tuple]:
        return self._rows_in(
            "SELECT kind, key, account_id, first_ts FROM pairs WHERE kind = ? AND key IN ({marks})",
            keys, kind)

    def accounts_sharing(self, column: str, values: list[str]) -> list[str]:
        if column not in (s.PAYOUT_ID, s.PHONE_ID):
            return []
        return [r[0] for r in self._rows_in(
            f"SELECT account_id FROM accounts WHERE {column} IN ({{marks}})", values)]

    def account_rows(self, account_ids: list[str]) -> list[list]:
        if not account_ids:
            return []
        marks = ",".join("?" * len(account_ids))
        rows = self._conn().execute(
            f"SELECT row FROM accounts WHERE account_id IN ({marks}) ORDER BY account_id",
            account_ids)
        return [json.loads(r[0]) for r in rows]

    def put_account(self, row: list) -> None:
        record = dict(zip(ACCOUNT_NAMES, row, strict=True))
        self._conn().execute(
            "INSERT INTO accounts(account_id, payout_id, phone_id, row) VALUES (?,?,?,?) "
            "ON CONFLICT(account_id) DO UPDATE SET payout_id = excluded.payout_id, "
            "phone_id = excluded.phone_id, row = excluded.row",
            (record[s.ACCOUNT_ID], record[s.PAYOUT_ID], record[s.PHONE_ID], json.dumps(row)))

    def watermark(self) -> int | None:
        return self._conn().execute("SELECT MAX(ts) FROM events").fetchone()[0]

