"""Batch feature step: files -> validated events -> account features, on 1M and 10M events.

Printed beside two references that compute the four core signals (travel speed with the
same-IP and 50 km rules, device-zone vs claimed-zone mismatch by name, point-in-time accounts
per device, account age) in polars and in duckdb SQL. The references do less than ours (no
validation, no zone offsets, no IP/prefix/identity reuse, no clusters, no quantiles): they
bound what a columnar engine needs for the core, not an equal workload. A third line, the floor,
only reads the events as ours does and orders them by account and time.
Run: .venv/bin/python -m bench.features [--accounts 10000 100000]
"""

from __future__ import annotations

import argparse
from pathlib import Path

from bench.common import OUT, measure, row
from bench.simulator import simulate_to_disk


def ours(folder: Path) -> dict:
    from persona_risk.features.memory_engine import build_features, load_inputs

    inputs = load_inputs(folder / "events.parquet", folder / "accounts.parquet")
    features = build_features(inputs).features
    return {"accounts": len(features)}


def numpy_floor(folder: Path) -> dict:
    """Read the events as ours does and put them in (account, time, id) order with ours'
    ordering step: the least a sort-based numpy pipeline does before computing a signal."""
    import numpy as np

    from persona_risk.features.arrays import account_numbers, event_order, timestamps_ns
    from persona_risk.features.io import read_table

    events = read_table(folder / "events.parquet")
    accounts = np.sort(events["account_id"].unique().to_numpy(object))
    order, _, _ = event_order(account_numbers(events, accounts), timestamps_ns(events["ts"]),
                              events["event_id"].array, len(accounts))
    return {"sorted": len(order)}


def polars_reference(folder: Path) -> dict:
    import polars as pl

    as_text = pl.col(pl.Categorical).cast(pl.String)
    ev = pl.read_parquet(folder / "events.parquet").with_columns(as_text).sort(
        ["account_id", "ts"])
    acc = pl.read_parquet(folder / "accounts.parquet").with_columns(as_text)
    as_of = ev["ts"].max()
    elig = ev.filter(pl.col("success") & pl.col("interactive") & pl.col("lat").is_not_null()
                     & ~pl.col("anonymizer"))
    prev = {c: pl.col(c).shift().over("account_id") for c in ("lat", "lon", "ts", "ip")}
    p1, p2 = prev["lat"].radians(), pl.col("lat").radians()
    a = ((p2 - p1) / 2).sin() ** 2 + p1.cos() * p2.cos() * (
        (pl.col("lon").radians() - prev["lon"].radians()) / 2).sin() ** 2
    km = 2 * 6371.0088 * a.sqrt().arcsin()
    hours = (pl.col("ts") - prev["ts"]).dt.total_microseconds() / 3.6e9
    speed = (pl.when((pl.col("ip") == prev["ip"]) | (km < 50)).then(0.0)
             .otherwise(km / pl.max_horizontal(hours, pl.lit(1 / 60))))
    travel = elig.with_columns(speed=speed).group_by("account_id").agg(
        pl.col("speed").max().alias("speed_max"), (pl.col("speed") > 900).sum().alias("hops"))
    tz = ev.join(acc.select("account_id", "claimed_timezone"), on="account_id", how="left")
    tz = tz.group_by("account_id").agg(
        (pl.col("device_tz") != pl.col("claimed_timezone")).mean().alias("tz_mismatch"))
    pairs = (ev.filter(pl.col("device_id").is_not_null())
             .group_by("device_id", "account_id").agg(pl.col("ts").min().alias("first"))
             .sort("device_id", "first")
             .with_columns(n=pl.col("account_id").cum_count().over("device_id"))
             .sort("first"))
    reuse = (ev.filter(pl.col("device_id").is_not_null()).sort("ts")
             .join_asof(pairs.select("device_id", "first", "n"), left_on="ts", right_on="first",
                        by="device_id", strategy="backward", check_sortedness=False)
             .group_by("account_id").agg(pl.col("n").max().alias("device_accounts_max")))
    age = acc.select("account_id", ((as_of - pl.col("created_at")).dt.total_seconds()
                                    / 86400).alias("age_days"))
    out = age.join(travel, on="account_id", how="left").join(tz, on="account_id", how="left") \
        .join(reuse, on="account_id", how="left")
    return {"accounts": out.height}


def duckdb_reference(folder: Path) -> dict:
    import duckdb

    con = duckdb.connect()
    con.execute("SET threads TO 2")
    ev, acc = folder / "events.parquet", folder / "accounts.parquet"
    n = con.execute(f"""
    WITH ev AS (SELECT * FROM read_parquet('{ev}')),
    elig AS (
      SELECT account_id, ts, ip, lat, lon,
        lag(lat) OVER w AS plat, lag(lon) OVER w AS plon, lag(ts) OVER w AS pts,
        lag(ip) OVER w AS pip
      FROM ev WHERE success AND interactive AND lat IS NOT NULL AND NOT anonymizer
      WINDOW w AS (PARTITION BY account_id ORDER BY ts)),
    hop AS (
      SELECT account_id, 2 * 6371.0088 * asin(sqrt(
        pow(sin(radians(lat - plat) / 2), 2) + cos(radians(plat)) * cos(radians(lat))
        * pow(sin(radians(lon - plon) / 2), 2))) AS km,
        (epoch_ns(ts) - epoch_ns(pts)) / 3.6e12 AS hours, ip = pip AS same_ip FROM elig),
    travel AS (
      SELECT account_id,
        max(CASE WHEN same_ip OR km < 50 THEN 0 ELSE km / greatest(hours, 1 / 60) END) AS smax
      FROM hop GROUP BY account_id),
    tz AS (
      SELECT e.account_id, avg(CASE WHEN e.device_tz <> a.claimed_timezone THEN 1 ELSE 0 END) m
      FROM ev e LEFT JOIN read_parquet('{acc}') a USING (account_id) GROUP BY e.account_id),
    pairs AS (
      SELECT device_id, account_id, min(ts) AS first FROM ev WHERE device_id IS NOT NULL
      GROUP BY device_id, account_id),
    ranked AS (
      SELECT device_id, first,
        row_number() OVER (PARTITION BY device_id ORDER BY first) AS n FROM pairs),
    reuse AS (
      SELECT e.account_id, max(r.n) AS dmax FROM ev e ASOF JOIN ranked r
        ON e.device_id = r.device_id AND e.ts >= r.first GROUP BY e.account_id),
    age AS (
      SELECT account_id,
        ((SELECT max(epoch_ns(ts)) FROM ev) - epoch_ns(created_at)) / 8.64e13 AS age_days
      FROM read_parquet('{acc}'))
    SELECT count(*) FROM age LEFT JOIN travel USING (account_id) LEFT JOIN tz USING (account_id)
      LEFT JOIN reuse USING (account_id)""").fetchone()[0]
    return {"accounts": n}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--accounts", type=int, nargs="+", default=[10_000, 100_000])
    args = parser.parse_args()
    for accounts in args.accounts:
        folder = OUT / f"world-{accounts}"
        if not (folder / "events.parquet").exists():
            measure(simulate_to_disk, accounts, 60)
        import pyarrow.parquet as pq

        events = pq.ParquetFile(folder / "events.parquet").metadata.num_rows
        target = "target: >= 1,500,000 ev/s, <= 4,096 MiB"
        print(row("persona-risk features (all 30)", events, measure(ours, folder), target))
        print(row("floor: read + order by account, time", events, measure(numpy_floor, folder)))
        print(row("reference: polars (4 core signals)", events,
                  measure(polars_reference, folder)))
        print(row("reference: duckdb SQL (4 core signals)", events,
                  measure(duckdb_reference, folder)))


if __name__ == "__main__":
    main()
