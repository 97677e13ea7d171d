"""`/healthz` while chunked 200 MB bodies hit `POST /v1/events`, beside `/healthz` of the same
server left alone (the floor, measured in the same run).

Starts `persona-risk serve` (the model of `bench.serving`), measures `/healthz` one request at
a time for a few seconds, then again while attackers (separate processes) stream chunked 200 MB
bodies one after another. Reports the statuses they got, the body bytes the server read for
each (its own `/metrics`) and its memory growth.
Targets (issue 16): 413 after at most 1 MB read, RSS growth under 20 MB, `/healthz` p99 under
50 ms while it happens.
Run: .venv/bin/python -m bench.hostile_body [--attackers 1] [--seconds 5]
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import re
import socket
import sys
import threading
import time
from pathlib import Path

import httpx
import numpy as np
import psutil

from bench.common import OUT
from bench.serving import TOKEN, _free_port, _prepare, _start

BODY_BYTES = 200 * 2**20
PIECE = b"[" + b" " * (64 * 2**10 - 2) + b"]"


def _attack(port: int, results: list) -> None:
    """Stream a chunked body of `BODY_BYTES` (or until the server closes); record the status
    line's code and the bytes sent."""
    sock = socket.create_connection(("127.0.0.1", port))
    sock.sendall((f"POST /v1/events HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {TOKEN}"
                  "\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
                  ).encode())
    answer = bytearray()

    def read() -> None:
        try:
            while chunk := sock.recv(4096):
                answer.extend(chunk)
        except OSError:
            pass

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    chunk, sent = b"%x\r\n" % len(PIECE) + PIECE + b"\r\n", 0
    try:
        while sent < BODY_BYTES:
            sock.sendall(chunk)
            sent += len(PIECE)
    except OSError:  # the server closed the connection after refusing
        pass
    reader.join(10)
    sock.close()
    status = answer.split(b" ", 2)[1].decode() if answer.startswith(b"HTTP/") else "none"
    results.append((status, sent))


def _attacker(port: int, stop, queue) -> None:
    """One oversized body after another until `stop`; puts the (status, sent) of each."""
    results: list = []
    while not stop.is_set():
        _attack(port, results)
    queue.put(results)


def _healthz_ms(url: str, seconds: float) -> np.ndarray:
    times = []
    with httpx.Client(base_url=url, timeout=30) as c:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            start = time.perf_counter()
            c.get("/healthz").raise_for_status()
            times.append((time.perf_counter() - start) * 1e3)
    return np.array(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--attackers", type=int, default=1)
    parser.add_argument("--seconds", type=float, default=5.0)
    args = parser.parse_args()
    folder = (OUT / "hostile").resolve()
    folder.mkdir(parents=True, exist_ok=True)
    (OUT / "serving").mkdir(parents=True, exist_ok=True)
    _prepare(folder)
    for leftover in folder.glob("state.sqlite*"):
        leftover.unlink()
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    cli = Path(sys.executable).parent / "persona-risk"
    env = {**os.environ, "PERSONA_RISK_API_TOKEN": TOKEN}
    server = _start("hostile-server", [
        str(cli), "serve", "--model", "models:/persona-risk-bench@champion", "--port", str(port),
        "--state", str(folder / "state.sqlite")], url, env)
    try:
        proc = psutil.Process(server.pid)
        floor = _healthz_ms(url, args.seconds)
        rss_before = proc.memory_info().rss
        ctx = mp.get_context("spawn")
        stop, queue = ctx.Event(), ctx.Queue()
        attackers = [ctx.Process(target=_attacker, args=(port, stop, queue))
                     for _ in range(args.attackers)]
        for p in attackers:
            p.start()
        time.sleep(1)  # the attackers are under way
        during = _healthz_ms(url, args.seconds)
        stop.set()
        results = [r for _ in attackers for r in queue.get(timeout=120)]
        for p in attackers:
            p.join(60)
        rss_mb = (proc.memory_info().rss - rss_before) / 2**20
        metrics = httpx.get(f"{url}/metrics").text
        read = float(re.search(r'body_bytes_sum\{endpoint="unmatched"\} (\S+)', metrics)[1])
        bodies = float(re.search(r'body_bytes_count\{endpoint="unmatched"\} (\S+)', metrics)[1])
    finally:
        server.terminate()
        server.wait(20)
    statuses = sorted({status for status, _ in results})
    sent = np.array([s for _, s in results]) / 2**20
    print(f"{args.attackers} attackers sent {len(results)} chunked bodies of up to "
          f"{BODY_BYTES / 2**20:.0f} MB; statuses {statuses}; sent before the server closed: "
          f"median {np.median(sent):.1f} MB, max {sent.max():.1f} MB")
    print(f"server read {read / bodies / 1e6:.3f} MB a refused body (limit 1.000 MB), "
          f"{bodies:.0f} bodies; RSS growth {rss_mb:+.1f} MB")
    print(f"{'/healthz':<28} {'requests':>9} {'p50 ms':>8} {'p99 ms':>8}")
    for name, t in (("floor (no attack)", floor), ("ours (under attack)", during)):
        print(f"{name:<28} {len(t):>9} {np.percentile(t, 50):>8.2f} {np.percentile(t, 99):>8.2f}")


if __name__ == "__main__":
    main()
