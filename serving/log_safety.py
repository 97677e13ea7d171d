"""What the service's logs may hold: ids as keyed hashes, errors as their type and frames.

Ids are logged as HMAC-SHA256 under a secret key, so a guessable id (`"0"`, an e-mail address)
cannot be found by hashing candidates. The key comes from `PERSONA_RISK_LOG_KEY`, else from a
file beside the state (created once, mode 0600). Tracebacks are logged without their messages
(which may quote an id, an IP or a body) and, as always with `logging`, without locals.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import secrets
import traceback
from pathlib import Path

from persona_risk.serving.state_url import is_redis_url

LOG_KEY_ENV = "PERSONA_RISK_LOG_KEY"
LOG_KEY_SUFFIX = ".log-key"
REMOTE_KEY_FILE = Path("persona-risk.log-key")  # for a state that is not a file (Redis)
FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"


def log_key(state: str | Path) -> bytes:
    """The secret of `hashed`: `PERSONA_RISK_LOG_KEY`, else the key file beside a SQLite state
    (`<state>.log-key`; for Redis, `persona-risk.log-key` in the working folder), generated
    the first time."""
    if os.environ.get(LOG_KEY_ENV):
        return os.environ[LOG_KEY_ENV].encode()
    path = REMOTE_KEY_FILE if is_redis_url(state) else Path(str(state) + LOG_KEY_SUFFIX)
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_bytes().strip()
    with os.fdopen(fd, "w") as f:
        f.write(secrets.token_hex(32))
    return path.read_bytes().strip()


def hashed(key: bytes, identifier: str) -> str:
    """An id as it may appear in logs: 16 hex digits of its HMAC-SHA256 under `key`."""
    data = identifier.encode("utf-8", "backslashreplace")
    return hmac.new(key, data, hashlib.sha256).hexdigest()[:16]


def safe_traceback(err: BaseException) -> str:
    """The frames (file, line, function) and exception types of an error and its causes,
    without any message or value."""
    lines, seen = [], set()
    current: BaseException | None = err
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        lines[:0] = ["Traceback (messages withheld):",
                     *(f'  File "{f.filename}", line {f.lineno}, in {f.name}'
                       for f in traceback.extract_tb(current.__traceback__)),
                     type(current).__qualname__]
        current = current.__cause__ or current.__context__
    return "\n".join(lines)


class WithholdMessages(logging.Filter):
    """A handler filter: a record's exception is written as `safe_traceback`."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and record.exc_info[1] is not None:
            record.exc_text = safe_traceback(record.exc_info[1])
            record.exc_info = None
        return True


def log_config(level: str = "INFO") -> dict:
    """`logging.config` for the service and uvicorn: one stderr handler, every record through
    `WithholdMessages`."""
    return {
        "version": 1, "disable_existing_loggers": False,
        "filters": {"withhold": {"()": WithholdMessages}},
        "formatters": {"plain": {"format": FORMAT}},
        "handlers": {"stderr": {"class": "logging.StreamHandler", "formatter": "plain",
                                "stream": "ext://sys.stderr", "filters": ["withhold"]}},
        "root": {"handlers": ["stderr"], "level": level},
        "loggers": {name: {"handlers": [], "propagate": True, "level": level}
                    for name in ("uvicorn", "uvicorn.error", "uvicorn.access")},
    }
