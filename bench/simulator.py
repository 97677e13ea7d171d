"""Simulator speed and memory: 100,000 accounts over 60 days (about 10 million events).

Reference: the foundation issue's budget, 2 minutes and 4 GiB on a 2-core machine.
Run: .venv/bin/python -m bench.simulator [--accounts N]
"""

from __future__ import annotations

import argparse

from bench.common import OUT, measure, row


def simulate_to_disk(accounts: int, days: int) -> dict:
    from persona_risk.features.io import write_table
    from persona_risk.training.simulator.simulate import SimConfig, simulate

    world = simulate(SimConfig(accounts=accounts, days=days, seed=0))
    folder = OUT / f"world-{accounts}"
    for name in ("accounts", "events", "truth"):
        write_table(getattr(world, name), folder / f"{name}.parquet")
    return {"events": len(world.events)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--accounts", type=int, default=100_000)
    parser.add_argument("--days", type=int, default=60)
    args = parser.parse_args()
    result = measure(simulate_to_disk, args.accounts, args.days)
    print(row(f"simulate {args.accounts:,} accounts x {args.days} d", result["events"], result,
              "reference: <= 120 s and <= 4,096 MiB"))


if __name__ == "__main__":
    main()
