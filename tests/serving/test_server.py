"""Starting the service: the token rule and the log key."""

from __future__ import annotations

import stat

import pytest

from persona_risk.serving.log_safety import LOG_KEY_ENV, hashed, log_key
from persona_risk.serving.server import (
    TOKEN_ENV,
    TOKEN_FILE_ENV,
    StartupError,
    build_service,
    open_store,
    read_token,
)
from tests.serving.conftest import free_port


def test_a_missing_token_file_is_a_one_line_startup_error(tmp_path, monkeypatch):
    """Finding 9: a missing PERSONA_RISK_API_TOKEN_FILE was a 71-line traceback."""
    monkeypatch.delenv(TOKEN_ENV, raising=False)
    monkeypatch.setenv(TOKEN_FILE_ENV, str(tmp_path / "absent"))
    with pytest.raises(StartupError, match="cannot read the token file"):
        read_token()
    (tmp_path / "token").write_text(" t0ken \n")
    monkeypatch.setenv(TOKEN_FILE_ENV, str(tmp_path / "token"))
    assert read_token() == "t0ken"


def test_a_state_that_cannot_be_used_is_a_one_line_startup_error(tmp_path):
    """A probe: an unreachable Redis or a file that is not SQLite printed a long traceback."""
    (tmp_path / "notes.txt").write_text("not a database, " * 100)
    with pytest.raises(StartupError, match="notes.txt: cannot use this SQLite file"):
        open_store(tmp_path / "notes.txt")
    with pytest.raises(StartupError, match="ConnectionError") as err:
        open_store(f"redis://:hunt@er2@127.0.0.1:{free_port()}/0")
    assert "hunt" not in str(err.value) and "er2" not in str(err.value)
    assert "\n" not in str(err.value)


def test_durability_sets_how_sqlite_commits_and_is_refused_for_redis(tmp_path):
    """`--durability`: power-loss (the default) syncs the log at every commit, crash does not;
    Redis keeps its own fsync policy, so asking it of a Redis state is a startup error."""
    synchronous = {}
    for durability in (None, "power-loss", "crash"):
        store = open_store(tmp_path / f"{durability}.sqlite", durability=durability)
        synchronous[durability] = store._conn().execute("PRAGMA synchronous").fetchone()[0]
    assert synchronous == {None: 2, "power-loss": 2, "crash": 1}  # FULL, FULL, NORMAL
    with pytest.raises(StartupError, match="--durability is a SQLite state's setting"):
        open_store(f"redis://127.0.0.1:{free_port()}/0", durability="crash")


def test_durability_for_redis_is_refused_before_the_model_loads(tmp_path, monkeypatch):
    """Loading a model takes seconds (and a missing one has its own error): a setting the
    state cannot take is said first."""
    monkeypatch.setenv(TOKEN_ENV, "t0ken")
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")
    with pytest.raises(StartupError, match="--durability is a SQLite state's setting"):
        build_service("models:/absent@champion", "127.0.0.1", f"redis://127.0.0.1:{free_port()}/0",
                      insecure_no_auth=False, reload_every_s=60.0, durability="crash")


def test_log_key_is_generated_once_beside_the_state_and_private(tmp_path, monkeypatch):
    """Finding 6: log ids were unkeyed SHA-256, so `5feceb66ffc8` reversed to "0"."""
    monkeypatch.delenv(LOG_KEY_ENV, raising=False)
    state = tmp_path / "state.sqlite"
    key = log_key(state)
    path = tmp_path / "state.sqlite.log-key"
    assert len(key) == 64 and log_key(state) == key
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert not hashed(key, "0").startswith("5feceb66ffc8")
    assert hashed(key, "0") != hashed(log_key(tmp_path / "other.sqlite"), "0")
    monkeypatch.setenv(LOG_KEY_ENV, "from-settings")
    assert log_key(state) == b"from-settings"


@pytest.mark.slow
def test_refuses_a_model_whose_feature_settings_the_settings_file_contradicts(
        registry, tmp_path, monkeypatch):
    """PERSONA_RISK_CONFIG names the settings; the champion was trained at 900 km/h."""
    from tests.serving.conftest import Server

    config = tmp_path / "settings.toml"
    config.write_text("[features]\nimpossible_kmh = 800\n")
    monkeypatch.setenv("PERSONA_RISK_CONFIG", str(config))
    server = Server(registry, tmp_path / "s.sqlite")
    assert server.proc.wait(90) == 2
    log = " ".join(server.log.read_text().split())
    assert "persona-risk serve: error:" in log  # one line, exit 2
    assert f"{config}: features.impossible_kmh = 800.0, but model" in log
    assert "trained with 900.0" in log
