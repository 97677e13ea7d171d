"""Where the online state lives: a Redis URL, or else a SQLite file path."""

from __future__ import annotations

from pathlib import Path

REDIS_SCHEMES = ("redis://", "rediss://", "unix://")


def is_redis_url(state: str | Path) -> bool:
    """Whether `--state` names a Redis server (redis://, rediss://, unix://) not a file."""
    return str(state).startswith(REDIS_SCHEMES)
