"""The team stack: a real PostgreSQL, `mlflow server` on it with a shared artifact folder,
training and the champion gate through `MLFLOW_TRACKING_URI` only, and a server serving the
champion from there."""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import mlflow
import pytest

from persona_risk.features import schema as s
from tests.serving.conftest import Server, free_port
from tests.system import system_program

pytestmark = pytest.mark.slow
BIN = Path(sys.executable).parent


def _as_postgres() -> list[str]:
    """PostgreSQL refuses to run as root: run its programs as the `postgres` user then (made
    when the machine has the programs but not the user)."""
    if os.geteuid() != 0:
        return []
    try:
        pwd.getpwnam("postgres")
    except KeyError:
        subprocess.run(["useradd", "--system", "--no-create-home", "postgres"], check=True)
    return ["runuser", "-u", "postgres", "--"]


@pytest.fixture(scope="module")
def postgres():
    """A throwaway PostgreSQL cluster on a free loopback port with a database `mlflow`."""
    pg_ctl = Path(system_program("pg_ctl")).resolve()
    folder = Path(tempfile.mkdtemp(prefix="persona-risk-pg-"))
    if os.geteuid() == 0:
        shutil.chown(folder, "postgres")
    data, port = folder / "data", free_port()
    subprocess.run([*_as_postgres(), str(pg_ctl.parent / "initdb"), "-D", str(data), "-U",
                    "postgres", "--auth=trust", "-E", "UTF8"], check=True, capture_output=True)
    subprocess.run([*_as_postgres(), str(pg_ctl), "-D", str(data), "-l", str(folder / "log"),
                    "-o", f"-p {port} -k {folder} -c listen_addresses=127.0.0.1", "-w",
                    "start"], check=True, capture_output=True)
    try:
        subprocess.run([*_as_postgres(), str(pg_ctl.parent / "createdb"), "-h", "127.0.0.1",
                        "-p", str(port), "-U", "postgres", "mlflow"], check=True)
        yield f"postgresql://postgres@127.0.0.1:{port}/mlflow"
    finally:
        subprocess.run([*_as_postgres(), str(pg_ctl), "-D", str(data), "-m", "fast", "stop"],
                       capture_output=True)
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="module")
def mlflow_server(postgres, tmp_path_factory):
    """`mlflow server` with the PostgreSQL backend store and a shared artifact folder."""
    folder = tmp_path_factory.mktemp("mlflow-server")
    port = free_port()
    log = (folder / "server.log").open("w")
    proc = subprocess.Popen(
        [str(BIN / "mlflow"), "server", "--backend-store-uri", postgres,
         "--artifacts-destination", str(folder / "artifacts"), "--host", "127.0.0.1",
         "--port", str(port), "--workers", "1"], stdout=log, stderr=subprocess.STDOUT,
        cwd=folder)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.5)
        assert proc.poll() is None, (folder / "server.log").read_text()[-3000:]
    else:
        raise RuntimeError((folder / "server.log").read_text()[-3000:])
    yield {"url": url, "artifacts": folder / "artifacts"}
    proc.terminate()
    proc.wait(30)


def _train(data: Path, work: Path, env: dict) -> str:
    out = subprocess.run(
        [str(BIN / "persona-risk"), "train", "--events", str(data / "events.parquet"),
         "--accounts", str(data / "accounts.parquet"), "--model-name", "team-model",
         "--report", str(work / "report")], env=env, cwd=work, capture_output=True, text=True,
        timeout=900)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    return out.stdout


def test_train_gate_and_serve_through_a_postgres_backed_mlflow_server(
        mlflow_server, labelled, tmp_path):
    inputs, _ = labelled
    inputs.events.to_parquet(tmp_path / "events.parquet")
    inputs.accounts.to_parquet(tmp_path / "accounts.parquet")
    env = {**os.environ, "MLFLOW_TRACKING_URI": mlflow_server["url"]}

    first = " ".join(_train(tmp_path, tmp_path, env).split())
    assert "challenger v1" in first and "promoted to champion (no champion yet)" in first
    second = " ".join(_train(tmp_path, tmp_path, env).split())  # same data, seed: not better
    assert "challenger v2" in second and "stays challenger (not better)" in second

    client = mlflow.MlflowClient(tracking_uri=mlflow_server["url"])
    assert client.get_model_version_by_alias("team-model", "champion").version == "1"
    assert client.get_model_version_by_alias("team-model", "challenger").version == "2"
    assert not (tmp_path / "mlflow.db").exists()  # nothing went to the local default
    assert list(mlflow_server["artifacts"].rglob("MLmodel"))  # artifacts in the shared folder

    registry = {"env": {"MLFLOW_TRACKING_URI": mlflow_server["url"]}, "folder": tmp_path,
                "uri": "models:/team-model@champion"}
    server = Server(registry, tmp_path / "state.sqlite").wait_ready()
    try:
        events = inputs.events[inputs.events[s.ACCOUNT_ID] == inputs.events[s.ACCOUNT_ID].iloc[0]]
        body = {"events": [{"event_id": e, "account_id": a, "ts": t.isoformat()} for e, a, t in
                           events[[s.EVENT_ID, s.ACCOUNT_ID, s.TS]].head(5).itertuples(
                               index=False)]}
        with server.client() as c:
            reply = c.post("/v1/events", json=body)
        assert reply.status_code == 200
        assert reply.json()["scores"][0]["model_version"] == "team-model/1"
    finally:
        server.stop()
