"""The online feature state in Redis, shared by several server processes.

It implements the storage primitives of `features.feature_store.FeatureStore`, like the SQLite
store, so both give the same features. Keys (under the prefix `persona-risk:`): `layout` (the
schema layout, `features.state_schema`, checked on open), `event_ids` (set),
`history:<account>:<column>` (the account's events of each column but the account id, as one
blob appended to, `serving.column_blobs`) and `history:<account>:#writes` (its count of
writes, which compaction checks), `watermark`, `pairs:<kind>:<key>` (hash account ->
first time, ns), `accounts` (hash account -> record, JSON object by column name), and for each
shared id column of `SHARED_IDS` (payout, phone) `<column>` (hash account -> id) and
`<column>:<id>` (set of accounts). An additive migration gives every history a blob of missing
values of each new column; a state that kept `events:<account>` lists of JSON rows (before the
blobs) is converted on open.
Every write is one Lua script, so it is atomic: a retried event id is
skipped inside the script, and concurrent requests for one account never lose an update (a bulk
load of events is written `PUT_CHUNK` events a script).
Durability is Redis's: run it with `appendonly yes` and `appendfsync always` for the SQLite
store's guarantee that an acknowledged event survives a crash. At start the store reads
`INFO persistence` (managed services refuse `CONFIG GET`, so it is not asked) and warns when the
append-only file is off; the fsync policy is not visible there, so check it yourself.
The scripts name keys they build themselves: standalone Redis (or Sentinel), not Cluster.
"""

from __future__ import annotations

import json
import logging

import numpy as np
import redis

from persona_risk.features import schema as s
from persona_risk.features.config import FeatureConfig
from persona_risk.features.feature_store import PAIR_INPUTS, FeatureStore
from persona_risk.features.reuse import DEVICE
from persona_risk.features.state_schema import CURRENT, SHARED_IDS, StateLayout, migration
from persona_risk.features.stored_rows import (
    ACCOUNT_AT,
    ACCOUNT_NAMES,
    EVENT_NAMES,
    ID_AT,
    TS_AT,
    Arrays,
    Columns,
)
from persona_risk.features.stored_view import KeyFirsts
from persona_risk.serving.column_blobs import (
    BLOB_COLUMNS,
    TIME_BYTES,
    encode,
    encode_all,
    encode_rows,
    joined,
    kept,
)

log = logging.getLogger("persona_risk.redis")
_PAIR_BLOBS = tuple(c for c in BLOB_COLUMNS if c in PAIR_INPUTS)  # what compaction decodes
PREFIX = "persona-risk:"
# what opening a state at a URL raises when it cannot be used: Redis unreachable or refusing,
# a URL redis-py cannot read, a layout this version refuses (`StateVersionError`)
OPEN_ERRORS = (redis.RedisError, ValueError)
PUT_CHUNK = 1_000  # events a write script stores at most (a bulk load takes several)
BLOBS_SINCE = 2  # the state version from which histories are column blobs, not JSON lists
WRITES = "#writes"  # beside an account's column blobs: its count of writes (no column has a #)

# Times are decimal ns strings, compared as numbers without Lua's 53-bit doubles; a pair keeps
# its earliest first time.
LATER = """
local function later(a, b)
  if #a ~= #b then return #a > #b end
  return a > b
end
local function merge_pair(p, kind, key, acc, first)
  local h = p .. 'pairs:' .. kind .. ':' .. key
  local old = redis.call('HGET', h, acc)
  if (not old) or later(old, first) then redis.call('HSET', h, acc, first) end
end
"""
# ARGV: prefix, the blob columns (count, names), the events (count; each id, account, ts, a
# blob of each column, and its pairs: count, then each kind, key, account, time). An event
# whose id is stored already is skipped, its pairs too. Returns the ids stored.
PUT_EVENTS = LATER + """
local p, ncol = ARGV[1], tonumber(ARGV[2])
local i, stored = 3 + ncol, {}
for _ = 1, tonumber(ARGV[i]) do
  local id, acc, ts = ARGV[i + 1], ARGV[i + 2], ARGV[i + 3]
  local new = redis.call('SADD', p .. 'event_ids', id) == 1
  if new then
    stored[#stored + 1] = id
    local h = p .. 'history:' .. acc .. ':'
    for c = 1, ncol do redis.call('APPEND', h .. ARGV[2 + c], ARGV[i + 3 + c]) end
    redis.call('INCR', h .. '$WRITES')
    local mark = redis.call('GET', p .. 'watermark')
    if (not mark) or later(ts, mark) then redis.call('SET', p .. 'watermark', ts) end
  end
  i = i + 4 + ncol
  for _ = 1, tonumber(ARGV[i]) do
    if new then merge_pair(p, ARGV[i + 1], ARGV[i + 2], ARGV[i + 3], ARGV[i + 4]) end
    i = i + 4
  end
end
return stored
""".replace("$WRITES", WRITES)
# ARGV: prefix, the blob columns (count, names), the accounts (count; each account, its count
# of writes when it was read, and the blob of each column to keep, empty for none), the stale
# pairs (count; kind, key, account), the pairs to merge. An account written since it was read
# is left as it is, its pairs too: the next write compacts it.
DROP_BEFORE = LATER + """
local p, ncol = ARGV[1], tonumber(ARGV[2])
local i, moved = 3 + ncol, {}
for _ = 1, tonumber(ARGV[i]) do
  local acc, writes = ARGV[i + 1], ARGV[i + 2]
  local h = p .. 'history:' .. acc .. ':'
  if (redis.call('GET', h .. '$WRITES') or '0') == writes then
    for c = 1, ncol do
      local blob = ARGV[i + 2 + c]
      if blob == '' then redis.call('DEL', h .. ARGV[2 + c])
      else redis.call('SET', h .. ARGV[2 + c], blob) end
    end
    redis.call('INCR', h .. '$WRITES')
  else
    moved[acc] = true
  end
  i = i + 2 + ncol
end
i = i + 1
for _ = 1, tonumber(ARGV[i]) do
  if not moved[ARGV[i + 3]] then
    redis.call('HDEL', p .. 'pairs:' .. ARGV[i + 1] .. ':' .. ARGV[i + 2], ARGV[i + 3])
  end
  i = i + 3
end
i = i + 1
for _ = 1, tonumber(ARGV[i]) do
  if not moved[ARGV[i + 3]] then
    merge_pair(p, ARGV[i + 1], ARGV[i + 2], ARGV[i + 3], ARGV[i + 4])
  end
  i = i + 4
end
return 1
""".replace("$WRITES", WRITES)
PUT_ACCOUNT = """
local p, acc, row = ARGV[1], ARGV[2], ARGV[3]
local i = 5
for _ = 1, tonumber(ARGV[4]) do
  local col, present, value = ARGV[i], ARGV[i + 1], ARGV[i + 2]
  i = i + 3
  local old = redis.call('HGET', p .. col, acc)
  if old then redis.call('SREM', p .. col .. ':' .. old, acc) end
  if present == '1' then
    redis.call('HSET', p .. col, acc, value)
    redis.call('SADD', p .. col .. ':' .. value, acc)
  else
    redis.call('HDEL', p .. col, acc)
  end
end
redis.call('HSET', p .. 'accounts', acc, row)
return 1
"""


class RedisFeatureStore(FeatureStore):
    """Online feature state in the Redis database at `url` (redis://host:port/db)."""

    def __init__(self, url: str, cfg: FeatureConfig = FeatureConfig()):
        super().__init__(cfg)
        self.url = url
        self.db = redis.Redis.from_url(url, decode_responses=True)
        self.blobs = redis.Redis.from_url(url)  # the history blobs come back as bytes
        self._put_events = self.db.register_script(PUT_EVENTS)
        self._put_account = self.db.register_script(PUT_ACCOUNT)
        self._drop_before = self.db.register_script(DROP_BEFORE)
        self._open()
        self._warn_unless_durable()

    def _open(self) -> None:
        """Check the stored layout (writing it to an empty database) and migrate it."""
        stored = self.db.get(PREFIX + "layout")
        if stored is None and not self.db.exists(PREFIX + "event_ids", PREFIX + "accounts"):
            self.db.set(PREFIX + "layout", CURRENT.to_json(), nx=True)
            stored = self.db.get(PREFIX + "layout")
        found = StateLayout.from_json(stored) if stored is not None else None
        added = migration(found, self.url)
        if found is not None and found.version < BLOBS_SINCE:
            self._convert_event_lists()
        if added.events:
            for key in self.blobs.scan_iter(match=f"{PREFIX}history:*:{s.TS}".encode()):
                stem, n = key[:-len(s.TS)], self.blobs.strlen(key) // TIME_BYTES
                for name in added.events:
                    self.blobs.set(stem + name.encode(), encode(name, [None] * n), nx=True)
        self.db.set(PREFIX + "layout", CURRENT.to_json())

    def _convert_event_lists(self) -> None:
        """Turn the `events:<account>` lists of JSON rows of a state written before the
        history blobs into blobs (a column missing from a row reads as None), each list in one
        transaction that another process converting it at the same time makes start over."""
        lists = PREFIX + "events:"
        for key in self.db.scan_iter(match=lists + "*"):
            with self.blobs.pipeline(transaction=True) as pipe:
                while True:
                    try:
                        pipe.watch(key)
                        rows = [json.loads(r) for r in pipe.lrange(key, 0, -1)]
                        if not rows:  # converted by another process meanwhile
                            break
                        columns = {name: [r.get(name) for r in rows] for name in BLOB_COLUMNS}
                        pipe.multi()
                        for name, blob in zip(BLOB_COLUMNS, encode_all(columns), strict=True):
                            pipe.set(self._history_key(key[len(lists):], name), blob)
                        pipe.delete(key)
                        pipe.execute()
                        break
                    except redis.WatchError:
                        continue

    @staticmethod
    def _history_key(account_id: str, column: str) -> str:
        return f"{PREFIX}history:{account_id}:{column}"

    def _warn_unless_durable(self) -> None:
        if self.db.info("persistence").get("aof_enabled") != 1:
            log.warning("redis at %s runs without the append-only file: acknowledged events "
                        "may be lost in a crash; use appendonly yes, appendfsync always",
                        self.db.connection_pool.connection_kwargs.get("host"))

    def writable(self) -> bool:
        """True when Redis accepts a write (for readiness checks)."""
        try:
            return bool(self.db.set(PREFIX + "ready-probe", "1"))
        except redis.RedisError:
            return False

    def put(self, events: list[list], pairs: list[list[tuple]]) -> set[str]:
        """Each `PUT_CHUNK` events in one script call: a bulk load neither holds Redis (and the
        other replicas' requests) for the whole load nor outlasts the client's socket timeout;
        each event is still written whole, with its pairs, or not at all."""
        stored: set[str] = set()
        for start in range(0, len(events), PUT_CHUNK):
            chunk = events[start:start + PUT_CHUNK]
            args: list = [PREFIX, len(BLOB_COLUMNS), *BLOB_COLUMNS, len(chunk)]
            for r, own in zip(chunk, pairs[start:start + PUT_CHUNK], strict=True):
                args += [r[ID_AT], r[ACCOUNT_AT], str(int(r[TS_AT])), *encode_rows([r]),
                         len(own)]
                for kind, key, acc, first in own:
                    args += [kind, key, acc, str(int(first))]
            stored.update(self._put_events(args=args))
        return stored

    def drop_before(self, cutoff_ns: int, account_ids: list[str]) -> None:
        args: list = [PREFIX, len(BLOB_COLUMNS), *BLOB_COLUMNS, len(account_ids)]
        stale, pairs = [], []  # of what was read: the script skips an account written since
        for account_id, writes, n, blobs in self._read(account_ids, BLOB_COLUMNS):
            events = joined([(account_id, n, [blobs[BLOB_COLUMNS.index(c)] for c in _PAIR_BLOBS])],
                            _PAIR_BLOBS, PAIR_INPUTS)
            keep = events[s.TS] >= cutoff_ns
            args += [account_id, writes, *(kept(name, blob, n, keep) for name, blob in zip(
                BLOB_COLUMNS, blobs, strict=True))]
            dropped, again = self.pairs_after_drop(events, cutoff_ns)
            stale += dropped
            pairs += again
        args.append(len(stale))
        for kind, key, acc in stale:
            args += [kind, key, acc]
        args.append(len(pairs))
        for kind, key, acc, first in pairs:
            args += [kind, key, acc, str(int(first))]
        self._drop_before(args=args)

    def _read(self, account_ids: list[str],
              columns: tuple[str, ...]) -> list[tuple[str, str, int, list[bytes | None]]]:
        """Each account's id, count of writes (`DROP_BEFORE` compares it), number of events and
        history blobs of `columns` (of `BLOB_COLUMNS`, times first), read together."""
        found = self.blobs.mget(self._read_keys(account_ids, columns)) if account_ids else []
        return self._blobs_read(account_ids, columns, found)

    def _read_keys(self, account_ids: list[str], columns: tuple[str, ...]) -> list[str]:
        return [self._history_key(a, name) for a in account_ids for name in (WRITES, *columns)]

    @staticmethod
    def _blobs_read(account_ids: list[str], columns: tuple[str, ...],
                    found: list) -> list[tuple[str, str, int, list[bytes | None]]]:
        """`_read` of the values of `_read_keys`."""
        width, out = 1 + len(columns), []
        for account_id, at in zip(account_ids, range(0, len(found), width), strict=True):
            writes, *blobs = found[at:at + width]
            out.append((account_id, (writes or b"0").decode(),
                        len(blobs[0] or b"") // TIME_BYTES, blobs))
        return out

    @staticmethod
    def _wanted(columns: tuple[str, ...]) -> tuple[str, ...]:
        """The blob columns to read for `columns`, times first."""
        return (s.TS, *(c for c in columns if c in BLOB_COLUMNS and c != s.TS))

    def histories(self, account_ids: list[str],
                  columns: tuple[str, ...] = tuple(EVENT_NAMES)) -> Arrays:
        wanted = self._wanted(columns)
        return self._events(self._read(account_ids, wanted), wanted, columns)

    @staticmethod
    def _events(read: list, wanted: tuple[str, ...], columns: tuple[str, ...]) -> Arrays:
        return joined([(a, n, blobs) for a, _, n, blobs in read if n], wanted, columns)

    def accounts_of(self, account_ids: list[str],
                    columns: tuple[str, ...]) -> tuple[Arrays, Columns]:
        wanted = self._wanted(columns)
        found, records = [], []
        if account_ids:  # one round trip, on the bytes connection
            pipe = self.blobs.pipeline(transaction=False)
            pipe.mget(self._read_keys(account_ids, wanted))
            pipe.hmget(PREFIX + "accounts", account_ids)
            found, records = pipe.execute()
        return (self._events(self._blobs_read(account_ids, wanted, found), wanted, columns),
                _records(records))

    def pairs_for(self, kind: str, keys: list[str]) -> list[tuple]:
        pipe = self.db.pipeline(transaction=False)
        for key in keys:
            pipe.hgetall(f"{PREFIX}pairs:{kind}:{key}")
        return _pairs(kind, keys, pipe.execute())

    def links(self, devices: list[str], values: dict[str, list[str]]) -> tuple[list[tuple],
                                                                               list[str]]:
        pipe = self.db.pipeline(transaction=False)
        for key in devices:
            pipe.hgetall(f"{PREFIX}pairs:{DEVICE}:{key}")
        sharing = _sharing_keys(values)
        for key in sharing:
            pipe.smembers(key)
        found = pipe.execute() if devices or sharing else []
        return (_pairs(DEVICE, devices, found[:len(devices)]),
                sorted({acc for members in found[len(devices):] for acc in members}))

    def pair_firsts(self, keys: dict[str, list[str]]) -> dict[str, KeyFirsts]:
        pipe = self.db.pipeline(transaction=False)
        asked = [(kind, key) for kind, of_kind in keys.items() for key in of_kind]
        for kind, key in asked:
            pipe.hvals(f"{PREFIX}pairs:{kind}:{key}")  # the times alone: no account strings
        out: dict[str, KeyFirsts] = {kind: {} for kind in keys}
        for (kind, key), times in zip(asked, pipe.execute() if asked else [], strict=True):
            if times:
                out[kind][key] = np.sort(np.array(times, dtype=np.int64))
        return out

    def accounts_sharing(self, values: dict[str, list[str]]) -> list[str]:
        return self.links([], values)[1]

    def account_rows(self, account_ids: list[str]) -> Columns:
        return _records(self.db.hmget(PREFIX + "accounts", account_ids) if account_ids else [])

    def put_account(self, record: dict) -> None:
        args = [PREFIX, record[s.ACCOUNT_ID], json.dumps(record), len(SHARED_IDS)]
        for col in SHARED_IDS:
            value = record[col]
            args += [col, "0", ""] if value is None else [col, "1", str(value)]
        self._put_account(args=args)

    def watermark(self) -> int | None:
        mark = self.db.get(PREFIX + "watermark")
        return int(mark) if mark is not None else None


def _pairs(kind: str, keys: list[str], found: list[dict]) -> list[tuple]:
    """Pairs (kind, key, account, first time in ns) of each key's hash as read."""
    return [(kind, key, acc, int(first)) for key, seen in zip(keys, found, strict=True)
            for acc, first in seen.items()]


def _sharing_keys(values: dict[str, list[str]]) -> list[str]:
    """The set of accounts of each value of a `SHARED_IDS` column (other columns ignored)."""
    return [f"{PREFIX}{column}:{value}" for column, of_column in values.items()
            if column in SHARED_IDS for value in of_column]


def _records(found: list) -> Columns:
    """Account records (JSON objects as read, text or bytes; None where absent) as columns."""
    records = [json.loads(r) for r in found if r is not None]
    return {name: [r.get(name) for r in records] for name in ACCOUNT_NAMES}
