"""A registered model in a real MLflow SQLite store, a real uvicorn server process, and a real
headless Chromium for the pages."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from persona_risk.training.fit import TrainConfig
from persona_risk.training.split import SplitConfig
from persona_risk.training.train import log_and_register
from tests.system import system_program

NAME = "persona-risk-serving"
TOKEN = "test-token-123"


@pytest.fixture(scope="session")
def registry(trained, tmp_path_factory):
    """MLflow store with the trained model registered as champion; returns the env to use."""
    folder = tmp_path_factory.mktemp("mlflow")
    env = {"MLFLOW_TRACKING_URI": f"sqlite:///{folder}/mlflow.db"}
    old = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    cwd = os.getcwd()
    os.chdir(folder)
    try:
        log_and_register(trained, NAME, trained.table["as_of"].iloc[0], TrainConfig(),
                         SplitConfig())
    finally:
        os.chdir(cwd)
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    return {"env": env, "folder": folder, "uri": f"models:/{NAME}@champion"}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Server:
    """`persona-risk serve` in a child process on a free loopback port."""

    def __init__(self, registry: dict, state: Path | str, token: str | None = TOKEN,
                 extra: list[str] | None = None, log_dir: Path | None = None):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = {**os.environ, **registry["env"], "PYTHONUNBUFFERED": "1"}
        env.pop("PERSONA_RISK_API_TOKEN", None)
        if token:
            env["PERSONA_RISK_API_TOKEN"] = token
        cli = Path(sys.executable).parent / "persona-risk"
        self.args = [str(cli), "serve", "--model", registry["uri"], "--port", str(self.port),
                     "--state", str(state), "--reload-every", "3600", *(extra or [])]
        self.log = (log_dir or Path(state).parent) / f"server.{self.port}.log"
        self.proc = subprocess.Popen(self.args, env=env, cwd=registry["folder"],
                                     stdout=self.log.open("w"), stderr=subprocess.STDOUT)

    def wait_ready(self, timeout_s: float = 90) -> Server:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited: {self.log.read_text()[-2000:]}")
            try:
                if httpx.get(f"{self.url}/readyz", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"server not ready: {self.log.read_text()[-2000:]}")

    def client(self, token: str | None = TOKEN) -> httpx.Client:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=30)

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)


@pytest.fixture()
def server_factory(registry, tmp_path):
    started: list[Server] = []

    def start(state: Path | str | None = None, **kwargs) -> Server:
        server = Server(registry, state or tmp_path / "state.sqlite", log_dir=tmp_path, **kwargs)
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop(signal.SIGKILL)


CHROMIUM_FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update",
                  "--disable-sync"]


@pytest.fixture(scope="session")
def browser(tmp_path_factory):
    """Debian's Chromium with a fresh profile, driven by Playwright (which downloads none)."""
    from playwright.sync_api import sync_playwright

    chromium = system_program("chromium")
    with sync_playwright() as p:
        context = p.chromium.launch_persistent_context(
            tmp_path_factory.mktemp("chromium-profile"), executable_path=chromium,
            headless=True, args=CHROMIUM_FLAGS, viewport={"width": 1200, "height": 900})
        yield context
        context.close()
