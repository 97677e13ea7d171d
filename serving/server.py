"""Starting the online service: token, store, model, then uvicorn."""

from __future__ import annotations

import ipaddress
import logging
import logging.config
import os
import re
import sqlite3
from collections.abc import Callable
from pathlib import Path

import uvicorn

from persona_risk.features.allow import AllowList
from persona_risk.features.config import FeatureConfig
from persona_risk.features.feature_store import FeatureStore
from persona_risk.features.state_schema import StateVersionError
from persona_risk.models.risk_model import RiskModel
from persona_risk.models.tracking import configure_tracking
from persona_risk.serving.app import ServiceConfig, create_app
from persona_risk.serving.log_safety import log_config, log_key
from persona_risk.serving.model_holder import ModelHolder
from persona_risk.serving.sqlite_store import DEFAULT_DURABILITY, SqliteFeatureStore
from persona_risk.serving.state_url import is_redis_url

TOKEN_ENV, TOKEN_FILE_ENV = "PERSONA_RISK_API_TOKEN", "PERSONA_RISK_API_TOKEN_FILE"


class StartupError(RuntimeError):
    """The service refuses to start; the message says why."""


def read_token() -> str | None:
    """The API token from `PERSONA_RISK_API_TOKEN`, or the file `PERSONA_RISK_API_TOKEN_FILE`."""
    token = os.environ.get(TOKEN_ENV)
    if not token and os.environ.get(TOKEN_FILE_ENV):
        path = Path(os.environ[TOKEN_FILE_ENV])
        try:
            token = path.read_text().strip()
        except (OSError, UnicodeDecodeError) as err:
            raise StartupError(f"{TOKEN_FILE_ENV}={path}: cannot read the token file "
                               f"({err.strerror or type(err).__name__})") from err
    return token or None


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def open_store(state: str | Path, allow: AllowList = AllowList(),
               retention_days: float | None = None, durability: str | None = None
               ) -> FeatureStore:
    """The online state: Redis for a redis:// (rediss://, unix://) URL, else a SQLite file;
    `allow` decides which reuse pairs it keeps (`features.allow`), `retention_days` how much
    history (days behind the latest event; None: all), `durability` what an acknowledged event
    of a SQLite state survives (`serving.sqlite_store.DURABILITY`; None: power loss). Redis
    keeps its own (its fsync policy), so `durability` is refused there."""
    cfg = FeatureConfig(allow=allow, retention_days=retention_days)
    check_durability(state, durability)
    if is_redis_url(state):
        from persona_risk.serving.redis_store import OPEN_ERRORS, RedisFeatureStore

        try:
            return RedisFeatureStore(str(state), cfg)
        except OPEN_ERRORS as err:
            raise StartupError(f"--state {_without_password(state)}: cannot use this Redis "
                               f"({type(err).__name__}: {err})") from err
    try:
        return SqliteFeatureStore(Path(state), cfg, durability or DEFAULT_DURABILITY)
    except (sqlite3.Error, StateVersionError) as err:
        raise StartupError(f"--state {state}: cannot use this SQLite file "
                           f"({type(err).__name__}: {err})") from err


def check_durability(state: str | Path, durability: str | None) -> None:
    """Refuse `durability` for a Redis state: its fsync policy is its own."""
    if durability is not None and is_redis_url(state):
        raise StartupError("--durability is a SQLite state's setting; Redis's is its own "
                           "(appendonly yes, appendfsync always or everysec)")


def _without_password(url: str | Path) -> str:
    """A Redis URL as it may be shown: without the user and password part."""
    return re.sub(r"//[^/]*@", "//", str(url))  # to the last @: a password may hold one


def build_service(model_uri: str, host: str, state: str | Path, insecure_no_auth: bool,
                  reload_every_s: float, batch_budget_s: float = ServiceConfig.batch_budget_s,
                  allow: AllowList = AllowList(),
                  accept: Callable[[RiskModel, str], object] | None = None,
                  durability: str | None = None):
    """Check the token rule, open the store (with `durability`, see `open_store`) and load the
    model (refused when `accept` raises); returns the app. Features use the model's thresholds
    and `allow`."""
    token = read_token()
    if token is None and not (insecure_no_auth and is_loopback(host)):
        raise StartupError(
            f"no API token: set {TOKEN_ENV} (or {TOKEN_FILE_ENV}); without one the server only "
            "starts on a loopback address with --insecure-no-auth")
    check_durability(state, durability)  # before the model: loading it takes seconds
    configure_tracking()
    holder = ModelHolder(model_uri, accept)
    if not holder.reload():
        raise StartupError(f"model {model_uri} could not be loaded: {holder.last_error}")
    store = open_store(state, allow, holder.current.model.feature_config().retention_days,
                       durability)
    return create_app(store, holder, ServiceConfig(token, reload_every_s, log_key=log_key(state),
                                                   batch_budget_s=batch_budget_s))


def serve(model_uri: str, host: str, port: int, state: str | Path, insecure_no_auth: bool = False,
          reload_every_s: float = 60.0,
          batch_budget_s: float = ServiceConfig.batch_budget_s, allow: AllowList = AllowList(),
          accept: Callable[[RiskModel, str], object] | None = None,
          durability: str | None = None) -> None:
    """Run the service until interrupted (access log off: paths carry account ids; errors
    logged by type and frames only, `serving.log_safety`)."""
    logging.config.dictConfig(log_config())
    app = build_service(model_uri, host, state, insecure_no_auth, reload_every_s, batch_budget_s,
                        allow, accept, durability)
    uvicorn.run(app, host=host, port=port, access_log=False, log_config=log_config())
