"""`/healthz` while chunked 200 MB bodies hit `POST /v1/events`, beside `/healthz` of the same
server left alone (the floor, measured in the same run).

Starts `persona-risk serve` (the model of `bench.serving`), measures `/healthz` one request at
a time for a few seconds, then again while attackers each stream a chunked 200 MB body. Reports
the status each attacker got, the bytes the server read from its sockets and its memory growth.
Targets (issue 16): 413 after at most 1 MB read, RSS growth under 20 MB, `/healthz` p99 under
50 ms while it happens.
Run: .venv/bin/python -m bench.hostile_body [--attackers 4] [--seconds 5]
"""

from __future__ import annotations

import argparse
import os
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
    parser.add_argument("--attackers", type=int, default=4)
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
        read_before, rss_before = proc.io_counters().read_chars, proc.memory_info().rss
        results: list = []
        stop = threading.Event()

        def attacker() -> None:  # one oversized body after another until the window ends
            while not stop.is_set():
                _attack(port, results)

        attackers = [threading.Thread(target=attacker) for _ in range(args.attackers)]
        for t in attackers:
            t.start()
        during = _healthz_ms(url, args.seconds)
        stop.set()
        for t in attackers:
            t.join(120)
        read_mb = (proc.io_counters().read_chars - read_before) / 2**20
        rss_mb = (proc.memory_info().rss - rss_before) / 2**20
    finally:
        server.terminate()
        server.wait(20)
    statuses = sorted({status for status, _ in results})
    sent = np.array([s for _, s in results]) / 2**20
    print(f"{args.attackers} attackers sent {len(results)} chunked bodies of up to "
          f"{BODY_BYTES / 2**20:.0f} MB; statuses {statuses}; sent before the server closed: "
          f"median {np.median(sent):.1f} MB, max {sent.max():.1f} MB")
    print(f"server read {read_mb:.2f} MB from sockets and files in all, "
          f"{read_mb / len(results):.2f} MB a body; RSS growth {rss_mb:+.1f} MB")
    print(f"{'/healthz':<28} {'requests':>9} {'p50 ms':>8} {'p99 ms':>8}")
    for name, t in (("floor (no attack)", floor), ("ours (under attack)", during)):
        print(f"{name:<28} {len(t):>9} {np.percentile(t, 50):>8.2f} {np.percentile(t, 99):>8.2f}")


if __name__ == "__main__":
    main()
