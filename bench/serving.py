"""Online service latency and throughput over loopback, beside the raw in-process model call.

Trains a small model into its own MLflow store, starts `persona-risk serve` on a free port,
over a SQLite state (the default durability: each reply waits for the disk), over a SQLite
state with `--durability crash` (no disk wait per commit) and over Redis (Debian's
redis-server, where installed, appendfsync always), loads
200 accounts' history (about 300 events each) into each, then drives `POST /v1/events` (one
new event per request) with wrk (Debian's package; an async httpx client where it is absent)
at concurrency 1 and 16, with and without reason codes. Beside it, the same cells against
`bench.floor_app` (the same web stack around the raw booster only) and the in-process calls.
Targets (issue 15): at concurrency 1 p50 <= 5 ms and p99 <= 15 ms; at concurrency 16 at least
60% of the floor's requests/s and p99 within twice the floor's.
Each cell runs three times (`--repeats`) and prints its median: single runs on a shared
machine differ by a millisecond or more at concurrency 1. Every request adds an event to its
account's history, so the histories grow while a store is measured (five-second runs: from
about 300 to about 380 events per account over its twelve runs); the floor stores nothing.
Run: .venv/bin/python -m bench.serving [--seconds 5] [--repeats 3]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import httpx
import numpy as np
import pandas as pd

from bench.common import OUT

TOKEN = "bench-token"
HISTORY_START, HISTORY_DAYS = "2026-01-05", 170  # about 300 events per account
EVENT = {"ts": (pd.Timestamp(HISTORY_START, tz="UTC")
               + pd.Timedelta(days=HISTORY_DAYS, hours=10)).isoformat(),
         "ip": "203.0.113.7", "lat": 40.7, "lon": -74.0, "device_tz": "America/New_York"}


def _prepare(folder: Path):
    from persona_risk.training.simulated import simulated_inputs
    from persona_risk.training.simulator.simulate import SimConfig, simulate
    from persona_risk.training.train import run_training

    os.environ["MLFLOW_TRACKING_URI"] = f"sqlite:///{folder}/mlflow.db"
    os.chdir(folder)
    world = simulate(SimConfig(accounts=3000, days=HISTORY_DAYS, fraud_rate=0.05, seed=5,
                               start=HISTORY_START))
    inputs = simulated_inputs(world)
    outcome = run_training(inputs, None, "persona-risk-bench", folder / "report")
    return outcome, inputs.events, inputs.accounts


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def _httpx_load(url: str, concurrency: int, seconds: float, reasons: bool,
                      accounts: list[str], tag: str) -> dict:
    """Closed-loop load with an async httpx client (used only where wrk is absent: at a few
    hundred requests per second the client itself becomes the bottleneck)."""
    latencies: list[float] = []
    deadline = time.perf_counter() + seconds
    counter = iter(range(10**9))

    async def worker(client: httpx.AsyncClient):
        while time.perf_counter() < deadline:
            i = next(counter)
            body = {"events": [{**EVENT, "event_id": f"{tag}-{i}",
                                "account_id": accounts[i % len(accounts)]}]}
            start = time.perf_counter()
            r = await client.post(f"/v1/events?reasons={str(reasons).lower()}", json=body)
            latencies.append(time.perf_counter() - start)
            assert r.status_code == 200, r.text

    async with httpx.AsyncClient(base_url=url, headers={"Authorization": f"Bearer {TOKEN}"},
                                 timeout=30, limits=httpx.Limits(max_connections=64)) as client:
        await asyncio.gather(*(worker(client) for _ in range(concurrency)))
    lat = np.array(latencies)
    return {"rps": len(lat) / seconds, "p50_ms": np.percentile(lat, 50) * 1e3,
            "p99_ms": np.percentile(lat, 99) * 1e3, "failed": 0}


WRK_SCRIPT = """
local accounts = {%(accounts)s}
local counter = 0
request = function()
  counter = counter + 1
  local body = string.format('%(body)s', counter, accounts[counter %% #accounts + 1])
  return wrk.format("POST", "%(path)s", {["Content-Type"] = "application/json",
                    ["Authorization"] = "Bearer %(token)s"}, body)
end
"""
_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 6e4}


def _wrk_ms(text: str) -> float:
    number = re.match(r"[0-9.]+", text).group()
    return float(number) * _UNITS[text[len(number):]]


def _wrk_load(wrk: str, url: str, concurrency: int, seconds: float, reasons: bool,
              accounts: list[str], tag: str) -> dict:
    """Closed-loop load with wrk (one thread, `concurrency` connections), each request one new
    event of the next account in turn."""
    template = json.dumps({"events": [{**EVENT, "event_id": "ID", "account_id": "ACC"}]})
    body = template.replace('"ID"', f'"{tag}-%d"').replace('"ACC"', '"%s"')
    script = OUT / "serving" / "load.lua"
    script.write_text(WRK_SCRIPT % {
        "accounts": ", ".join(f'"{a}"' for a in accounts), "body": body, "token": TOKEN,
        "path": f"/v1/events?reasons={str(reasons).lower()}"})
    out = subprocess.run([wrk, "-t1", f"-c{concurrency}", f"-d{seconds:.0f}s", "--timeout", "30s",
                          "--latency", "-s", str(script), url], capture_output=True, text=True,
                         check=True).stdout
    latency = dict(re.findall(r"^\s+(50|99)%\s+(\S+)$", out, re.M))
    failed = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {"rps": float(re.search(r"Requests/sec:\s+([0-9.]+)", out).group(1)),
            "p50_ms": _wrk_ms(latency["50"]), "p99_ms": _wrk_ms(latency["99"]),
            "failed": int(failed.group(1)) if failed else 0}


def _drive(url: str, concurrency: int, seconds: float, reasons: bool, accounts: list[str],
           tag: str) -> dict:
    wrk = shutil.which("wrk")
    if wrk:
        return _wrk_load(wrk, url, concurrency, seconds, reasons, accounts, tag)
    return asyncio.run(_httpx_load(url, concurrency, seconds, reasons, accounts, tag))


def _start(name: str, command: list[str], url: str, env: dict) -> subprocess.Popen:
    log = OUT / "serving" / f"{name}.log"
    with log.open("w") as sink:
        proc = subprocess.Popen(command, env=env, stdout=sink, stderr=subprocess.STDOUT)
    for _ in range(600):
        try:
            if httpx.get(f"{url}/openapi.json", timeout=1).status_code == 200:
                return proc
        except httpx.HTTPError:
            time.sleep(0.2)
    proc.kill()
    raise RuntimeError(f"{name} did not start; see {log}")


def _print_cells(name: str, url: str, seconds: float, accounts: list[str], repeats: int) -> None:
    """Each cell `repeats` times, its median requests/s, p50 and p99 (each its own median)."""
    for reasons in (True, False):
        for concurrency in (1, 16):
            runs = [_drive(url, concurrency, seconds, reasons, accounts,
                           f"{name}-{concurrency}-{reasons}-{k}") for k in range(repeats)]
            r = {key: float(np.median([run[key] for run in runs])) for key in runs[0]}
            n_failed = sum(run["failed"] for run in runs)
            failed = f"  ({n_failed} failed)" if n_failed else ""
            print(f"{name:<12} POST /v1/events c={concurrency:<2} reasons={reasons!s:<5}"
                  f"{r['rps']:>11,.0f} {r['p50_ms']:>8.2f} {r['p99_ms']:>8.2f}{failed}")


def _redis(folder: Path) -> tuple[subprocess.Popen, str] | None:
    """Debian's redis-server on a free port with the durable settings the service asks for;
    None where it is not installed."""
    binary = shutil.which("redis-server")
    if binary is None:
        return None
    port = _free_port()
    proc = subprocess.Popen([binary, "--port", str(port), "--bind", "127.0.0.1", "--dir",
                             str(folder), "--appendonly", "yes", "--appendfsync", "always",
                             "--save", ""], stdout=(folder / "redis.log").open("w"),
                            stderr=subprocess.STDOUT)
    url = f"redis://127.0.0.1:{port}/0"
    import redis

    for _ in range(100):
        try:
            redis.Redis.from_url(url).flushdb()
            return proc, url
        except redis.ConnectionError:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError("redis-server did not start")


def _load_history(url: str, accounts, events, chosen: list[str]) -> int:
    from persona_risk.serving.api_requests import account_json, events_json

    with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {TOKEN}"},
                      timeout=60) as c:
        for _, row in accounts[accounts["account_id"].isin(chosen)].iterrows():
            c.put(f"/v1/accounts/{row['account_id']}", json=account_json(row))
        history = events_json(events[events["account_id"].isin(chosen)])
        for start in range(0, len(history), 500):
            c.post("/v1/events?reasons=false", json={"events": history[start:start + 500]})
    return len(history)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=5.0, help="length of one run")
    parser.add_argument("--repeats", type=int, default=3,
                        help="runs of each cell, its median reported (the machine is noisy)")
    args = parser.parse_args()
    folder = (OUT / "serving").resolve()
    folder.mkdir(parents=True, exist_ok=True)
    outcome, events, accounts = _prepare(folder)
    chosen = accounts["account_id"].head(200).tolist()
    env = {**os.environ, "PERSONA_RISK_API_TOKEN": TOKEN,
           "PERSONA_RISK_FLOOR_BOOSTER": str(folder / "booster.txt")}
    (folder / "booster.txt").write_text(outcome.model.booster_text)
    cli = Path(sys.executable).parent / "persona-risk"
    state = folder / "state.sqlite"
    for leftover in folder.glob("state*.sqlite*"):  # a stale -wal file would not match
        leftover.unlink()
    redis_server = _redis(folder)
    # name -> (--state, more options): SQLite with each durability, then Redis
    states = {"sqlite": (str(state), []),
              "sqlite-crash": (str(folder / "state-crash.sqlite"), ["--durability", "crash"]),
              **({"redis": (redis_server[1], [])} if redis_server else {})}
    floor_port = _free_port()
    floor_url = f"http://127.0.0.1:{floor_port}"
    servers = [redis_server[0]] if redis_server else []
    try:
        urls = {}
        for name, (where, options) in states.items():
            port = _free_port()
            urls[name] = f"http://127.0.0.1:{port}"
            servers.append(_start(name, [
                str(cli), "serve", "--model", "models:/persona-risk-bench@champion", "--port",
                str(port), "--state", where, *options], urls[name], env))
        servers.append(_start("floor", [
            sys.executable, "-m", "uvicorn", "bench.floor_app:app", "--app-dir",
            str(Path(__file__).resolve().parent.parent), "--port", str(floor_port),
            "--log-level", "warning", "--no-access-log"], floor_url, env))
        n_history = 0
        for url in urls.values():
            n_history = _load_history(url, accounts, events, chosen)
        print(f"history: {len(chosen)} accounts, {n_history:,} events; {args.seconds:.0f} s "
              f"per run, median of {args.repeats} runs per cell; load generator: "
              f"{'wrk' if shutil.which('wrk') else 'httpx (no wrk)'}"
              f"; state: {', '.join(states)}{'' if redis_server else ' (no redis-server)'}")
        print("floor = the same FastAPI + uvicorn stack and body around the raw booster only")
        print(f"{'case':<47} {'requests/s':>11} {'p50 ms':>8} {'p99 ms':>8}")
        for name, url in urls.items():
            _print_cells(name, url, args.seconds, chosen, args.repeats)
        _print_cells("floor", floor_url, args.seconds, chosen, args.repeats)
    finally:
        for proc in servers:
            proc.terminate()
            proc.wait(20)
    _in_process(outcome, events, accounts, chosen)


def _in_process(outcome, events, accounts, chosen) -> None:
    """What the service does per request, in process: an account's features from its stored
    state (in memory and in SQLite) as arrays, and the score with reasons of those arrays."""
    import tempfile

    from persona_risk.features.memory_store import OnlineFeatureState
    from persona_risk.serving.model_holder import LoadedModel
    from persona_risk.serving.sqlite_store import SqliteFeatureStore

    model = outcome.model
    loaded, cfg = LoadedModel(model, "bench"), model.feature_config()
    folder = Path(tempfile.mkdtemp())
    stores = {"memory": OnlineFeatureState(cfg), "SQLite": SqliteFeatureStore(folder / "s.db", cfg)}
    for state in stores.values():
        for record in accounts[accounts["account_id"].isin(chosen)].to_dict("records"):
            state.upsert_account(record)
        state.add_events(events[events["account_id"].isin(chosen)])
    state = stores["memory"]
    rows = [state.feature_rows([a], cfg=cfg) for a in chosen[:50]]
    x = [model.matrix({"account_id": r.account_ids, **r.features}) for r in rows]
    cases = {
        **{f"in-process: {name} features (1 acct)": (lambda i, st=st: st.feature_rows(
            [chosen[i % 50]], cfg=cfg)) for name, st in stores.items()},
        "in-process: score + reasons (1 row)": lambda i: loaded.scores(rows[i % 50]),
        "in-process: score, no reasons (1 row)": lambda i: loaded.scores(rows[i % 50], False),
        "in-process: raw booster (1 row)": lambda i: model.booster.predict(
            x[i % 50], num_threads=1),
        "in-process: raw booster + SHAP (1 row)": lambda i: model.booster.predict(
            x[i % 50], num_threads=1, pred_contrib=True),
    }
    print(f"{'in-process case':<42} {'calls/s':>11} {'p50 ms':>8} {'p99 ms':>8}")
    for name, fn in cases.items():
        times = []
        for i in range(200):
            start = time.perf_counter()
            fn(i)
            times.append(time.perf_counter() - start)
        t = np.array(times)
        print(f"{name:<42} {1 / t.mean():>11,.0f} {np.percentile(t, 50) * 1e3:>8.2f} "
              f"{np.percentile(t, 99) * 1e3:>8.2f}")


if __name__ == "__main__":
    main()
