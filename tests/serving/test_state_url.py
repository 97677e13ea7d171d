"""A `--state` is a Redis server by its URL scheme, else a SQLite file."""

from __future__ import annotations

from pathlib import Path

from persona_risk.serving.state_url import is_redis_url


def test_redis_urls_name_a_server_and_anything_else_a_file():
    assert all(is_redis_url(u) for u in ("redis://h:6379/0", "rediss://:pw@h/1", "unix:///r.sock"))
    assert not any(is_redis_url(p) for p in ("state.sqlite", Path("redis/state.db"), "redis.db"))
