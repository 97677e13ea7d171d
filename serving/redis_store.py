"""The online feature state in Redis, shared by several server processes.

It implements the storage primitives of `features.online.FeatureStore`, like the SQLite store,
so both give the same features. Keys (under the prefix `persona-risk:`):
`event_ids` (set), `events:<account>` (list of event rows, JSON), `watermark`,
`pairs:<kind>:<key>` (hash account -> first time, ns), `accounts` (hash account -> record row,
JSON), `payout_id` / `phone_id` (hash account -> id) and `payout_id:<id>` / `phone_id:<id>`
(sets of accounts). Every write is one Lua script, so it is atomic: a retried event id is
skipped inside the script, and concurrent requests for one account never lose an update.
Durability is Redis's: run it with `appendonly yes` and `appendfsync always` for the SQLite
store's guarantee that an acknowledged event survives a crash (checked and logged at start).
The scripts name keys they build themselves: standalone Redis (or Sentinel), not Cluster.
"""

from __future__ import annotations

import json
import logging

import redis

from persona_risk.features import schema as s
from persona_risk.features.config import FeatureConfig
from persona_risk.features.online import ACCOUNT_NAMES, EVENT_NAMES, FeatureStore

log = logging.getLogger("persona_risk.redis")
PREFIX = "persona-risk:"
IDENTITY_IDS = (s.PAYOUT_ID, s.PHONE_ID)

# Times are decimal ns strings, compared as numbers without Lua's 53-bit doubles.
LATER = """
local function later(a, b)
  if #a ~= #b then return #a > #b end
  return a > b
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
  local h = p .. 'pairs:' .. ARGV[i] .. ':' .. ARGV[i + 1]
  local acc, first = ARGV[i + 2], ARGV[i + 3]
  i = i + 4
  local old = redis.call('HGET', h, acc)
  if (not old) or later(old, first) then redis.call('HSET', h, acc, first) end
end
return 1
"""
PUT_ACCOUNT = """
local p, acc, row = ARGV[1], ARGV[2], ARGV[3]
local i = 4
for _, col in ipairs({'payout_id', 'phone_id'}) do
  local present, value = ARGV[i], ARGV[i + 1]
  i = i + 2
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
        self._warn_unless_durable()

    def _warn_unless_durable(self) -> None:
        try:
            conf = {**self.db.config_get("appendonly"), **self.db.config_get("appendfsync")}
        except redis.ResponseError:  # managed services refuse CONFIG; INFO tells less
            aof = self.db.info("persistence").get("aof_enabled")
            conf = {"appendonly": "yes" if aof == 1 else "no",
                    "appendfsync": "always" if aof == 1 else "unknown"}
            if aof == 1:
                log.info("redis refuses CONFIG GET: append-only file on, fsync policy unknown")
        if conf.get("appendonly") != "yes" or conf.get("appendfsync") != "always":
            log.warning("redis at %s runs with appendonly=%s appendfsync=%s: acknowledged "
                        "events may be lost in a crash; use appendonly yes, appendfsync always",
                        self.db.connection_pool.connection_kwargs.get("host"),
                        conf.get("appendonly"), conf.get("appendfsync"))

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
        id_col, acc_col = EVENT_NAMES.index(s.EVENT_ID), EVENT_NAMES.index(s.ACCOUNT_ID)
        ts_col = EVENT_NAMES.index(s.TS)
        args: list = [PREFIX, len(events)]
        for r in events:
            args += [r[id_col], r[acc_col], str(int(r[ts_col])), json.dumps(r)]
        args.append(len(pairs))
        for kind, key, acc, first in pairs:
            args += [kind, key, acc, str(int(first))]
        self._put_events(args=args)

    def history(self, account_id: str) -> list[list]:
        return [json.loads(r) for r in self.db.lrange(f"{PREFIX}events:{account_id}", 0, -1)]

    def pairs_for(self, kind: str, keys: list[str]) -> list[tuple]:
        pipe = self.db.pipeline(transaction=False)
        for key in keys:
            pipe.hgetall(f"{PREFIX}pairs:{kind}:{key}")
        return [(kind, key, acc, int(first)) for key, seen in zip(keys, pipe.execute(),
                                                                  strict=True)
                for acc, first in seen.items()]

    def accounts_sharing(self, column: str, values: list[str]) -> list[str]:
        if column not in IDENTITY_IDS or not values:
            return []
        pipe = self.db.pipeline(transaction=False)
        for value in values:
            pipe.smembers(f"{PREFIX}{column}:{value}")
        return sorted({acc for members in pipe.execute() for acc in members})

    def account_rows(self, account_ids: list[str]) -> list[list]:
        if not account_ids:
            return []
        rows = self.db.hmget(PREFIX + "accounts", sorted(account_ids))
        return [json.loads(r) for r in rows if r is not None]

    def put_account(self, row: list) -> None:
        record = dict(zip(ACCOUNT_NAMES, row, strict=True))
        args = [PREFIX, record[s.ACCOUNT_ID], json.dumps(row)]
        for col in IDENTITY_IDS:
            value = record[col]
            args += ["0", ""] if value is None else ["1", str(value)]
        self._put_account(args=args)

    def watermark(self) -> int | None:
        mark = self.db.get(PREFIX + "watermark")
        return int(mark) if mark is not None else None
