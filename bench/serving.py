"""Online service latency and throughput over loopback, beside the raw in-process model call.

Trains a small model into its own MLflow store, starts `persona-risk serve` on a free port,
loads 200 accounts' history, then drives `POST /v1/events` (one event per request) with an
async httpx client at concurrency 1 and 16, with and without reason codes.
Targets (issue): p99 < 15 ms at concurrency 16 and >= 500 requests/s with reasons.
Run: .venv/bin/python -m bench.serving [--seconds 10]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import numpy as np

from bench.common import OUT

TOKEN = "bench-token"


def _prepare(folder: Path):
    from features.batch import Inputs
    from features.validate import validate_accounts, validate_events
    from training.simulator.simulate import SimConfig, simulate
    from training.train import run_training

    os.environ["MLFLOW_TRACKING_URI"] = f"sqlite:///{folder}/mlflow.db"
    os.chdir(folder)
    world = simulate(SimConfig(accounts=3000, days=45, fraud_rate=0.05, seed=5))
    events, q = validate_events(world.events)
    accounts = validate_accounts(world.accounts)
    outcome = run_training(Inputs(events, q, accounts), None, "persona-risk-bench",
                           folder / "report")
    return outcome, events, accounts


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def _load(url: str, concurrency: int, seconds: float, reasons: bool,
                accounts: list[str]) -> np.ndarray:
    latencies: list[float] = []
    deadline = time.perf_counter() + seconds
    counter = iter(range(10**9))

    async def worker(client: httpx.AsyncClient):
        while time.perf_counter() < deadline:
            i = next(counter)
            body = {"events": [{"event_id": f"b-{concurrency}-{reasons}-{i}",
                                "account_id": accounts[i % len(accounts)],
                                "ts": "2026-02-19T10:00:00Z", "ip": "203.0.113.7",
                                "lat": 40.7, "lon": -74.0, "device_tz": "America/New_York"}]}
            start = time.perf_counter()
            r = await client.post(f"/v1/events?reasons={str(reasons).lower()}", json=body)
            latencies.append(time.perf_counter() - start)
            assert r.status_code == 200, r.text

    async with httpx.AsyncClient(base_url=url, headers={"Authorization": f"Bearer {TOKEN}"},
                                 timeout=30, limits=httpx.Limits(max_connections=64)) as client:
        await asyncio.gather(*(worker(client) for _ in range(concurrency)))
    return np.array(latencies)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=10.0)
    args = parser.parse_args()
    folder = (OUT / "serving").resolve()
    folder.mkdir(parents=True, exist_ok=True)
    outcome, events, accounts = _prepare(folder)
    chosen = accounts["account_id"].head(200).tolist()
    port = _free_port()
    env = {**os.environ, "PERSONA_RISK_API_TOKEN": TOKEN}
    cli = Path(sys.executable).parent / "persona-risk"
    state = folder / "state.sqlite"
    state.unlink(missing_ok=True)
    server = subprocess.Popen([str(cli), "serve", "--model", "models:/persona-risk-bench@champion",
                               "--port", str(port), "--state", str(state)], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                if httpx.get(f"{url}/readyz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        from serving.api_models import account_json, events_json

        with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {TOKEN}"},
                          timeout=60) as c:
            for _, row in accounts[accounts["account_id"].isin(chosen)].iterrows():
                c.put(f"/v1/accounts/{row['account_id']}", json=account_json(row))
            history = events_json(events[events["account_id"].isin(chosen)])
            for start in range(0, len(history), 500):
                c.post("/v1/events?reasons=false", json={"events": history[start:start + 500]})
        print(f"history: {len(chosen)} accounts, {len(history):,} events; "
              f"{args.seconds:.0f} s per cell")
        print(f"{'case':<34} {'requests/s':>11} {'p50 ms':>8} {'p99 ms':>8}")
        for reasons in (True, False):
            for concurrency in (1, 16):
                lat = asyncio.run(_load(url, concurrency, args.seconds, reasons, chosen))
                print(f"POST /v1/events c={concurrency:<2} reasons={reasons!s:<5}      "
                      f"{len(lat) / args.seconds:>11,.0f} {np.percentile(lat, 50) * 1e3:>8.2f} "
                      f"{np.percentile(lat, 99) * 1e3:>8.2f}")
    finally:
        server.terminate()
        server.wait(20)
    _in_process(outcome, events, accounts, chosen)


def _in_process(outcome, events, accounts, chosen) -> None:
    from features.online import OnlineFeatureState

    model = outcome.model
    state = OnlineFeatureState()
    for record in accounts[accounts["account_id"].isin(chosen)].to_dict("records"):
        state.upsert_account(record)
    state.add_events(events[events["account_id"].isin(chosen)])
    feats = [state.features(a).features for a in chosen[:50]]
    rows = [model.matrix(f) for f in feats]
    cases = {
        "in-process: online features (1 acct)": lambda i: state.features(chosen[i % 50]),
        "in-process: score + reasons (1 row)": lambda i: model.score(feats[i % 50]),
        "in-process: score, no reasons (1 row)": lambda i: model.score(feats[i % 50], False),
        "in-process: raw booster (1 row)": lambda i: model.booster.predict(rows[i % 50]),
    }
    for name, fn in cases.items():
        times = []
        for i in range(200):
            start = time.perf_counter()
            fn(i)
            times.append(time.perf_counter() - start)
        t = np.array(times)
        print(f"{name:<40} {1 / t.mean():>11,.0f} {np.percentile(t, 50) * 1e3:>8.2f} "
              f"{np.percentile(t, 99) * 1e3:>8.2f}")


if __name__ == "__main__":
    main()
