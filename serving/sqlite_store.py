"""The online feature state in an embedded SQLite file (WAL mode; synchronous FULL by default).

It implements the storage primitives of `features.feature_store.FeatureStore`, so features come
from the same code as in batch. Events and records are tables with one typed column per
contract column (`features.state_schema.CURRENT`); the `meta` table holds the schema layout,
checked on open (migrated when additive, refused otherwise). Beside the events, the `history`
table keeps each account's events as a few rows of column blobs (`serving.column_blobs`),
written in the same transaction, so that an account's history is read as a few rows and not a
row per event (scattered over the file); it is built from the events when a state lacks it.
An event is stored, with its reuse pairs, in one transaction before the reply, so an
acknowledged event survives a restart or a SIGKILL right after the reply; with the default
durability (`power-loss`) each commit waits for the disk too, so it also survives the machine
losing power, while `crash` leaves that wait to SQLite's checkpoints (`DURABILITY`). Event ids
are the primary key: a retried event is ignored. Each thread has its own connection; SQLite
serialises writers, so concurrent requests for one account never lose an update. Each
connection keeps the pairs of the keys it read lately ready for the reuse counts
(`serving.pair_cache`), so that a key shared by many accounts is not read and sorted again at
every request.
"""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

from persona_risk.features import schema as s
from persona_risk.features.config import FeatureConfig
from persona_risk.features.feature_store import PAIR_INPUTS, FeatureStore
from persona_risk.features.reuse import first_pairs
from persona_risk.features.state_schema import CURRENT, SHARED_IDS, StateLayout, migration
from persona_risk.features.stored_rows import (
    ACCOUNT_AT,
    ACCOUNT_NAMES,
    EVENT_NAMES,
    ID_AT,
    Arrays,
    Columns,
    columns_of,
)
from persona_risk.features.stored_view import KeyFirsts
from persona_risk.serving.column_blobs import BLOB_COLUMNS, concat, encode_rows, joined
from persona_risk.serving.pair_cache import PairCache

BUSY_TIMEOUT_S = 30.0
IN_BATCH = 500  # values bound per IN (...) list: SQLite caps the variables of a statement
SQL_TYPE = {"float": "REAL", "int": "INTEGER", "bool": "INTEGER", "timestamp": "INTEGER"}
_MERGE_PAIR = ("INSERT INTO pairs(kind, key, account_id, first_ts) VALUES (?,?,?,?) "
               "ON CONFLICT(kind, key, account_id) DO UPDATE SET "
               "first_ts = MIN(first_ts, excluded.first_ts)")
_EVENT_COLS, _ACCOUNT_COLS = ", ".join(EVENT_NAMES), ", ".join(ACCOUNT_NAMES)
_PUT_EVENT = (f"INSERT OR IGNORE INTO events({_EVENT_COLS}) "
              f"VALUES ({','.join('?' * len(EVENT_NAMES))})")
# the history table: parts of an account's events, each its number of events and a blob of
# each other column; new events make a new part, and every `MERGE_PARTS` parts become one
_PUT_HISTORY = (f"INSERT INTO history(account_id, part, n, {', '.join(BLOB_COLUMNS)}) "
                f"VALUES (?, ?, ?, {','.join('?' * len(BLOB_COLUMNS))})")
MERGE_PARTS = 16


def _column(name: str, key: str = "") -> str:
    return f"{name} {SQL_TYPE.get(s.KIND[name], 'TEXT')}{key}"


_HISTORY = ("CREATE TABLE history (account_id TEXT NOT NULL, part INTEGER NOT NULL, "
            "n INTEGER NOT NULL, " + ", ".join(f"{c} BLOB" for c in BLOB_COLUMNS)
            + ", PRIMARY KEY (account_id, part))")


def _tables() -> str:
    """The tables of `CURRENT`, with the pairs and the meta table."""
    key = {s.EVENT_ID: " PRIMARY KEY", s.ACCOUNT_ID: " NOT NULL", s.TS: " NOT NULL"}
    events = ", ".join(_column(c, key.get(c, "")) for c in EVENT_NAMES)
    accounts = ", ".join(_column(c, " PRIMARY KEY" if c == s.ACCOUNT_ID else "")
                         for c in ACCOUNT_NAMES)
    shared = "".join(f"CREATE INDEX accounts_{c} ON accounts({c});\n" for c in SHARED_IDS)
    return f"""{_HISTORY};
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE events ({events});
CREATE INDEX events_account ON events(account_id);
CREATE INDEX events_ts ON events(ts);
CREATE TABLE pairs (
    kind TEXT NOT NULL, key TEXT NOT NULL, account_id TEXT NOT NULL, first_ts INTEGER NOT NULL,
    PRIMARY KEY (kind, key, account_id));
CREATE TABLE accounts ({accounts});
{shared}"""


# what an acknowledged event survives -> SQLite's `synchronous` setting in WAL mode: FULL
# syncs the log at every commit; NORMAL only at checkpoints, so a commit costs no disk wait and
# the last commits before a power loss or an OS crash may be lost (never to a process crash)
DURABILITY = {"power-loss": "FULL", "crash": "NORMAL"}
DEFAULT_DURABILITY = "power-loss"


class SqliteFeatureStore(FeatureStore):
    """Online feature state in one SQLite file at `path`; `durability` is a key of
    `DURABILITY`."""

    def __init__(self, path: Path | str, cfg: FeatureConfig = FeatureConfig(),
                 durability: str = DEFAULT_DURABILITY):
        super().__init__(cfg)
        self.synchronous = DURABILITY[durability]
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()
        self._open()

    def _open(self) -> None:
        """Create the tables, or check the stored layout and migrate it (one transaction)."""
        conn = self._conn()
        conn.execute("BEGIN IMMEDIATE")
        try:
            tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}
            if "meta" not in tables and "events" not in tables:
                for statement in _tables().split(";"):
                    if statement.strip():
                        conn.execute(statement)
                found = CURRENT
            else:
                row = conn.execute("SELECT value FROM meta WHERE key = 'layout'").fetchone() \
                    if "meta" in tables else None
                found = StateLayout.from_json(row[0]) if row else None
            added = migration(found, str(self.path))
            for table, names in (("events", added.events), ("accounts", added.accounts)):
                for name in names:
                    conn.execute(f"ALTER TABLE {table} ADD COLUMN {_column(name)}")
            if "history" in tables:
                for name in added.events:
                    conn.execute(f"ALTER TABLE history ADD COLUMN {name} BLOB")
            elif "events" in tables:  # a state written before the history table
                conn.execute(_HISTORY)
                accounts = [r[0] for r in conn.execute("SELECT DISTINCT account_id FROM events")]
                self._rebuild_histories(accounts)
            # ids of events dropped by the retention window (`drop_before`), still known
            conn.execute("CREATE TABLE IF NOT EXISTS dropped_ids (event_id TEXT PRIMARY KEY)")
            conn.execute("INSERT OR REPLACE INTO meta(key, value) VALUES ('layout', ?)",
                         (CURRENT.to_json(),))
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise

    def _conn(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_S, isolation_level=None,
                                   check_same_thread=False)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute(f"PRAGMA synchronous={self.synchronous}")
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
        a time; `before` binds the placeholders ahead of the list. On this thread's connection,
        so inside its open transaction, if any."""
        out = []
        for start in range(0, len(values), IN_BATCH):
            chunk = values[start:start + IN_BATCH]
            out += self._conn().execute(sql.format(marks=",".join("?" * len(chunk))),
                                        [*before, *chunk]).fetchall()
        return out

    def put(self, events: list[list], pairs: list[list[tuple]]) -> set[str]:
        conn, cache = self._conn(), self._pair_cache()
        held = cache.writing()  # a write that does not end here leaves the cache to start over
        conn.execute("BEGIN IMMEDIATE")
        try:
            new: dict[str, list[list]] = {}
            stored, ids = [], set()
            dropped = {r[0] for r in self._rows_in(
                "SELECT event_id FROM dropped_ids WHERE event_id IN ({marks})",
                [row[ID_AT] for row in events])}
            for row, own in zip(events, pairs, strict=True):
                if row[ID_AT] not in dropped and conn.execute(_PUT_EVENT, row).rowcount:
                    new.setdefault(row[ACCOUNT_AT], []).append(row)
                    stored.append(own)
                    ids.add(row[ID_AT])
            self._append_histories(new)
            merged = [(k, key, a, int(t)) for k, key, a, t in first_pairs(stored)]
            conn.executemany(_MERGE_PAIR, merged)
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        cache.merged(merged)
        cache.version = held
        return ids

    def drop_before(self, cutoff_ns: int, account_ids: list[str]) -> None:
        conn = self._conn()
        conn.execute("BEGIN IMMEDIATE")
        try:
            stale, pairs = self.pairs_after_drop(self.histories(account_ids, PAIR_INPUTS),
                                                 cutoff_ns)
            for start in range(0, len(account_ids), IN_BATCH):
                chunk = account_ids[start:start + IN_BATCH]
                old = f"FROM events WHERE ts < ? AND account_id IN ({','.join('?' * len(chunk))})"
                conn.execute(f"INSERT OR IGNORE INTO dropped_ids SELECT event_id {old}",
                             [cutoff_ns, *chunk])
                conn.execute(f"DELETE {old}", [cutoff_ns, *chunk])
            self._rebuild_histories(account_ids)
            conn.executemany("DELETE FROM pairs WHERE kind = ? AND key = ? AND account_id = ?",
                             stale)
            conn.executemany(_MERGE_PAIR, [(k, key, a, int(t)) for k, key, a, t in pairs])
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        self._pair_cache().clear()

    def _append_histories(self, new: dict[str, list[list]]) -> None:
        """Store new event rows (by account) as a new history part of each account, and merge
        the parts of an account that has `MERGE_PARTS` (inside the open transaction)."""
        parts = {account_id: (count, last) for account_id, count, last in self._rows_in(
            "SELECT account_id, count(*), max(part) FROM history "
            "WHERE account_id IN ({marks}) GROUP BY account_id", sorted(new))}
        self._conn().executemany(_PUT_HISTORY, [
            [account_id, parts.get(account_id, (0, -1))[1] + 1, len(rows), *encode_rows(rows)]
            for account_id, rows in new.items()])
        full = sorted(a for a, (count, _) in parts.items() if count + 1 >= MERGE_PARTS)
        merged = self._parts(full, BLOB_COLUMNS)
        self._rows_in("DELETE FROM history WHERE account_id IN ({marks})", full)
        self._conn().executemany(_PUT_HISTORY, [[account_id, 0, n, *blobs]
                                                for account_id, (n, blobs) in merged.items()])

    def _rebuild_histories(self, account_ids: list[str]) -> None:
        """Write the history of these accounts anew, as one part, from their stored events
        (inside the open transaction)."""
        self._rows_in("DELETE FROM history WHERE account_id IN ({marks})", account_ids)
        by_account: dict[str, list[tuple]] = {}
        for row in self._rows_in(f"SELECT {_EVENT_COLS} FROM events "
                                 "WHERE account_id IN ({marks}) ORDER BY rowid", account_ids):
            by_account.setdefault(row[ACCOUNT_AT], []).append(row)
        self._conn().executemany(_PUT_HISTORY, [
            [account_id, 0, len(rows), *encode_rows(rows)]
            for account_id, rows in by_account.items()])

    def _parts(self, account_ids: list[str],
               names: list[str] | tuple[str, ...]) -> dict[str, tuple[int, list[bytes]]]:
        """The history parts of these accounts (with events), joined: by account, its number of
        events and one blob of each of `names` (names, never user text, in the SQL)."""
        by_account: dict[str, list[tuple]] = {}
        for account_id, *part in self._rows_in(
                f"SELECT {', '.join(['account_id', 'n', *names])} FROM history "
                "WHERE account_id IN ({marks}) ORDER BY account_id, part", account_ids):
            by_account.setdefault(account_id, []).append(part)
        out = {}
        for account_id, parts in by_account.items():
            sizes = [part[0] for part in parts]
            out[account_id] = (sum(sizes), [concat(name, [part[i] for part in parts], sizes)
                                            for i, name in enumerate(names, start=1)])
        return out

    def histories(self, account_ids: list[str],
                  columns: tuple[str, ...] = tuple(EVENT_NAMES)) -> Arrays:
        wanted = [c for c in columns if c in BLOB_COLUMNS]
        parts = self._parts(account_ids, wanted)
        return joined([(a, n, blobs) for a, (n, blobs) in parts.items()], wanted, columns)

    def pairs_for(self, kind: str, keys: list[str]) -> list[tuple]:
        return self._rows_in(
            "SELECT kind, key, account_id, first_ts FROM pairs WHERE kind = ? AND key IN ({marks})",
            keys, kind)

    def pair_firsts(self, keys: dict[str, list[str]]) -> dict[str, KeyFirsts]:
        version = self._conn().execute("PRAGMA data_version").fetchone()[0]
        cache = self._pair_cache().checked(version)
        return {kind: cache.firsts(kind, asked, self.pairs_for) for kind, asked in keys.items()}

    def _pair_cache(self) -> PairCache:
        """This thread's pairs cache (its connection's)."""
        cache = getattr(self._local, "pairs", None)
        if cache is None:
            cache = self._local.pairs = PairCache()
        return cache

    def accounts_sharing(self, values: dict[str, list[str]]) -> list[str]:
        return sorted({r[0] for column, asked in values.items() if column in SHARED_IDS
                       for r in self._rows_in(
                           f"SELECT account_id FROM accounts WHERE {column} IN ({{marks}})",
                           asked)})

    def account_rows(self, account_ids: list[str]) -> Columns:
        return columns_of(self._rows_in(
            f"SELECT {_ACCOUNT_COLS} FROM accounts WHERE account_id IN ({{marks}})",
            account_ids), ACCOUNT_NAMES)

    def put_account(self, record: dict) -> None:
        self._conn().execute(
            f"INSERT OR REPLACE INTO accounts({_ACCOUNT_COLS}) "
            f"VALUES ({','.join('?' * len(ACCOUNT_NAMES))})",
            [record[c] for c in ACCOUNT_NAMES])

    def watermark(self) -> int | None:
        return self._conn().execute("SELECT MAX(ts) FROM events").fetchone()[0]
