"""The online feature state in Redis, shared by several server processes.

It implements the storage primitives of `features.feature_store.FeatureStore`, like the SQLite
store, so both give the same features. Keys (under the prefix `persona-risk:`): `layout` (the
schema layout, `features.state_schema`, checked on open), `event_ids` (set), `events:<account>`
(list of events, JSON objects by column name), `watermark`, `pairs:<kind>:<key>` (hash account
-> first time, ns), `accounts` (hash account -> record, JSON object by column name), and for
each shared id column of `SHARED_IDS` (payout, phone) `<column>` (hash account -> id) and
`<column>:<id>` (set of accounts). Rows are named objects, so an additive migration only
rewrites `layout`: a column missing from an older row reads as None.
Every write is one Lua script, so it is atomic: a retried event id is
skipped inside the script, and concurrent requests for one account never lose an update.
Durability is Redis's: run it with `appendonly yes` and `appendfsync always` for the SQLite
store's guarantee that an acknowledged event survives a crash. At start the store reads
`INFO persistence` (managed services refuse `CONFIG GET`, so it is not asked) and warns when the
append-only file is off; the fsync policy is not visible there, so check it yourself.
The scripts name keys they build themselves: standalone Redis (or Sentinel), not Cluster.
"""

from __future__ import annotations

import json
import logging

import redis

from persona_risk.features import schema as s
from persona_risk.features.config import FeatureConfig
from persona_risk.features.feature_store import FeatureStore
from persona_risk.features.state_schema import CURRENT, SHARED_IDS, StateLayout, migration
from persona_risk.features.stored_rows import (
    ACCOUNT_AT,
    ACCOUNT_NAMES,
    EVENT_NAMES,
    ID_AT,
    TS_AT,
    Columns,
)

log = logging.getLogger("persona_risk.redis")
PREFIX = "persona-risk:"

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
PUT_EVENTS = LATER + """
local p, i = ARGV[1], 3
for _ = 1, tonumber(ARGV[2]) do
  local id, acc, ts, row = ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3]
  i = i + 4
  if redis.call('SADD', p .. 'event_ids', id) == 1 then
    redis.call('RPUSH', p .. 'events:' .. acc, row)
    local mark = redis.call('GET', p .. 'watermark')
    if (not mark) or later(ts, mark) then redis.call('SET', p .. 'watermark', ts) end
  end
end
local n = tonumber(ARGV[i])
i = i + 1
for _ = 1, n do
  merge_pair(p, ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3])
  i = i + 4
end
return 1
"""
# the stored rows (exact strings) to drop (their ids stay in event_ids), the stale pairs, the
# pairs to merge
DROP_BEFORE = LATER + """
local p, i = ARGV[1], 3
for _ = 1, tonumber(ARGV[2]) do
  redis.call('LREM', p .. 'events:' .. ARGV[i], 1, ARGV[i + 1])
  i = i + 2
end
for _ = 1, tonumber(ARGV[i]) do
  redis.call('HDEL', p .. 'pairs:' .. ARGV[i + 1] .. ':' .. ARGV[i + 2], ARGV[i + 3])
  i = i + 3
end
i = i + 1
for _ = 1, tonumber(ARGV[i]) do
  merge_pair(p, ARGV[i + 1], ARGV[i + 2], ARGV[i + 3], ARGV[i + 4])
  i = i + 4
end
return 1
"""
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
        migration(found, self.url)  # additive: older rows read the new columns as None
        self.db.set(PREFIX + "layout", CURRENT.to_json())

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

    def known_event_ids(self, event_ids: list[str]) -> set[str]:
        if not event_ids:
            return set()
        flags = self.db.smismember(PREFIX + "event_ids", event_ids)
        return {e for e, known in zip(event_ids, flags, strict=True) if known}

    def put(self, events: list[list], pairs: list[tuple]) -> None:
        args: list = [PREFIX, len(events)]
        for r in events:
            args += [r[ID_AT], r[ACCOUNT_AT], str(int(r[TS_AT])),
                     json.dumps(dict(zip(EVENT_NAMES, r, strict=True)))]
        args.append(len(pairs))
        for kind, key, acc, first in pairs:
            args += [kind, key, acc, str(int(first))]
        self._put_events(args=args)

    def drop_before(self, cutoff_ns: int, account_ids: list[str], stale: list[tuple],
                    pairs: list[tuple]) -> None:
        pipe = self.db.pipeline(transaction=False)
        for account_id in account_ids:
            pipe.lrange(f"{PREFIX}events:{account_id}", 0, -1)
        old = [(account_id, row) for account_id, rows in zip(account_ids, pipe.execute(),
                                                              strict=True)
               for row in rows if json.loads(row)[s.TS] < cutoff_ns]
        args: list = [PREFIX, len(old)]
        for account_id, row in old:  # a row appended meanwhile is another string: kept
            args += [account_id, row]
        args.append(len(stale))
        for kind, key, acc in stale:
            args += [kind, key, acc]
        args.append(len(pairs))
        for kind, key, acc, first in pairs:
            args += [kind, key, acc, str(int(first))]
        self._drop_before(args=args)

    def histories(self, account_ids: list[str],
                  columns: tuple[str, ...] = tuple(EVENT_NAMES)) -> Columns:
        pipe = self.db.pipeline(transaction=False)
        for account_id in account_ids:
            pipe.lrange(f"{PREFIX}events:{account_id}", 0, -1)
        rows = json.loads("[" + ",".join(r for rows in pipe.execute() for r in rows) + "]")
        return {name: [r.get(name) for r in rows] for name in columns}

    def pairs_for(self, kind: str, keys: list[str]) -> list[tuple]:
        pipe = self.db.pipeline(transaction=False)
        for key in keys:
            pipe.hgetall(f"{PREFIX}pairs:{kind}:{key}")
        return [(kind, key, acc, int(first)) for key, seen in zip(keys, pipe.execute(),
                                                                  strict=True)
                for acc, first in seen.items()]

    def accounts_sharing(self, column: str, values: list[str]) -> list[str]:
        if column not in SHARED_IDS or not values:
            return []
        pipe = self.db.pipeline(transaction=False)
        for value in values:
            pipe.smembers(f"{PREFIX}{column}:{value}")
        return sorted({acc for members in pipe.execute() for acc in members})

    def account_rows(self, account_ids: list[str]) -> Columns:
        found = self.db.hmget(PREFIX + "accounts", account_ids) if account_ids else []
        records = [json.loads(r) for r in found if r is not None]
        return {name: [r.get(name) for r in records] for name in ACCOUNT_NAMES}

    def put_account(self, record: dict) -> None:
        args = [PREFIX, record[s.ACCOUNT_ID], json.dumps(record), len(SHARED_IDS)]
        for col in SHARED_IDS:
            value = record[col]
            args += [col, "0", ""] if value is None else [col, "1", str(value)]
        self._put_account(args=args)

    def watermark(self) -> int | None:
        mark = self.db.get(PREFIX + "watermark")
        return int(mark) if mark is not None else None
