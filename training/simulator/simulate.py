"""The labelled fraud-persona simulator: accounts, sign-in events and the ground truth.

One world is assembled in steps, each vectorised over arrays: who is who
(`population`), the honest networks (`honest`), the fraud infrastructure (`fraud`), the
employer's records (`records`), then the sign-in events (`events`). Each archetype leaves the
traces described in the README; `persona` on each account names it, `truth` maps fraud
accounts to operator and farm. The world's structural constants come from `WorldParams`: the
reference world, or with `randomize` one drawn per world (domain randomization), several
worlds pooled.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
import pandas as pd

from persona_risk.features import schema as s
from persona_risk.features.geo import SECONDS_PER_DAY
from persona_risk.training.simulator import world
from persona_risk.training.simulator.events import ids, sign_ins
from persona_risk.training.simulator.fraud import fraud_networks
from persona_risk.training.simulator.honest import honest_networks
from persona_risk.training.simulator.params import WorldParams, draw
from persona_risk.training.simulator.population import draw_population
from persona_risk.training.simulator.records import account_records

WORLD_SIZE_SPREAD = (0.2, 2.0)  # randomized worlds' sizes relative to the mean, drawn uniformly
# accounts of a randomized world (an employer) on average when training pools many: worlds
# of about this size and many of them hold up on shifted worlds (`bench.robustness`); fewer,
# smaller ones let a model learn one draw's artifacts
WORLD_ACCOUNTS = 4_000


# share of fraudulent personas in the worlds models are trained on (the demo, `bench.robustness`,
# simulated accounts beside a user's own)
TRAINING_FRAUD_RATE = 0.03


def worlds_for(accounts: int) -> int:
    """How many randomized worlds to pool for `accounts` accounts in all (at least one)."""
    return max(1, int(accounts / WORLD_ACCOUNTS + 0.5))


@dataclass(frozen=True)
class SimConfig:
    """Knobs of a simulated world; the same config and seed give identical tables."""

    accounts: int = 2000
    days: int = 60
    fraud_rate: float = 0.02
    farms: int | None = None  # default: one farm per ~8 fraud personas
    evasion_share: float = 0.2
    start: str = "2026-01-05"
    seed: int = 0
    params: WorldParams | None = None  # None: the reference world (evasion_share as above)
    randomize: bool = False  # draw the params of each world (see `params.draw`)
    worlds: int = 1  # worlds pooled (employers), the accounts split among them


def training_pool(accounts: int, seed: int = 0) -> SimConfig:
    """`accounts` accounts over 60 days in domain-randomized worlds (`worlds_for`) at the
    training fraud rate: the pool a model is trained on."""
    return SimConfig(accounts=accounts, days=60, fraud_rate=TRAINING_FRAUD_RATE, seed=seed,
                     randomize=True, worlds=worlds_for(accounts))


@dataclass
class SimulatedWorld:
    accounts: pd.DataFrame
    events: pd.DataFrame
    truth: pd.DataFrame


def _world_params(cfg: SimConfig) -> list[WorldParams]:
    if cfg.randomize:
        rng = np.random.default_rng([cfg.seed, 1])
        return [draw(rng) for _ in range(cfg.worlds)]
    base = cfg.params or WorldParams(evasion_share=cfg.evasion_share)
    return [base] * cfg.worlds


def simulate(cfg: SimConfig = SimConfig()) -> SimulatedWorld:
    """Simulate accounts, events and truth for `cfg` (timestamps UTC); several worlds are
    simulated apart (no shared infrastructure) and pooled, their ids prefixed `w<k>-`."""
    params = _world_params(cfg)
    if len(params) == 1:
        return _simulate_world(cfg, params[0])
    sizes = _world_sizes(cfg, len(params))
    parts = [_prefixed(_simulate_world(dataclasses.replace(cfg, accounts=int(n),
                                                           seed=cfg.seed * 1000 + k), p), k)
             for k, (n, p) in enumerate(zip(sizes, params, strict=True))]
    events = pd.concat([w.events for w in parts], ignore_index=True)
    events = events.sort_values([s.TS, s.ACCOUNT_ID], kind="stable", ignore_index=True)
    return SimulatedWorld(pd.concat([w.accounts for w in parts], ignore_index=True),
                          _categoricals(events),
                          pd.concat([w.truth for w in parts], ignore_index=True))


def _world_sizes(cfg: SimConfig, k: int) -> np.ndarray:
    """Accounts per pooled world: equal for the reference world; randomized worlds differ in
    size (`WORLD_SIZE_SPREAD` of the mean), since counts of accounts per IP, prefix or office
    grow with an employer's size and must not be a tell of one size."""
    weights = (np.random.default_rng([cfg.seed, 2]).uniform(*WORLD_SIZE_SPREAD, k)
               if cfg.randomize else np.ones(k))
    edges = np.r_[0.0, np.cumsum(weights)] / weights.sum() * cfg.accounts
    return np.diff(edges.round().astype(int))


def _prefixed(w: SimulatedWorld, k: int) -> SimulatedWorld:
    def prefix(df: pd.DataFrame, cols) -> pd.DataFrame:
        return df.assign(**{c: (f"w{k}-" + df[c].astype(str)).where(df[c].notna())
                            for c in cols if c in df})
    cols = (s.ACCOUNT_ID, s.PAYOUT_ID, s.PHONE_ID, s.EVENT_ID, s.DEVICE_ID, s.OPERATOR_ID,
            s.FARM_ID)
    return SimulatedWorld(prefix(w.accounts, cols), prefix(w.events, cols),
                          prefix(w.truth, cols))


def _categoricals(events: pd.DataFrame) -> pd.DataFrame:
    for col in (s.ACCOUNT_ID, s.IP, s.COUNTRY, s.DEVICE_ID, s.DEVICE_TZ, s.USER_AGENT,
                s.GEO_SOURCE):
        events[col] = events[col].astype("category")
    return events


def _simulate_world(cfg: SimConfig, p: WorldParams) -> SimulatedWorld:
    """One world of `cfg.accounts` accounts with the structure `p`; the steps draw from one
    generator in a fixed order, so a seed gives one world."""
    rng = np.random.default_rng(cfg.seed)
    start = pd.Timestamp(cfg.start, tz="UTC")
    n = cfg.accounts
    pop = draw_population(rng, n, cfg.fraud_rate, cfg.days, p)
    ips = world.IpTable.empty()
    honest = honest_networks(rng, pop, p, ips)
    fraud = fraud_networks(rng, cfg.farms, pop, p, ips, honest)
    records = account_records(rng, pop, fraud, honest, p)
    events = sign_ins(rng, start, cfg.days, p, pop, ips, honest, fraud, records)

    cities, is_fraud, city = world.cities(), pop.fraud, records.claimed_city
    created_at = start + pd.to_timedelta(pop.created_days * SECONDS_PER_DAY,
                                         unit="s").round("s")
    accounts = pd.DataFrame({
        s.ACCOUNT_ID: ids("acct", n), s.CREATED_AT: created_at.as_unit("ns"),
        s.CLAIMED_COUNTRY: cities.country.to_numpy()[city],
        s.CLAIMED_TIMEZONE: cities.tz.to_numpy()[city],
        s.CLAIMED_LAT: cities.lat.to_numpy()[city], s.CLAIMED_LON: cities.lon.to_numpy()[city],
        s.PAYOUT_ID: ids("pay", 30 * n)[records.payout],
        s.PHONE_ID: ids("tel", 30 * n)[records.phone],
        s.LABEL: is_fraud.astype("int64"), s.PERSONA: pop.persona,
    })
    for col in (s.ACCOUNT_ID, s.CLAIMED_COUNTRY, s.CLAIMED_TIMEZONE, s.PAYOUT_ID, s.PHONE_ID,
                s.PERSONA):
        accounts[col] = accounts[col].astype("str")
    op, farm, n_farms = np.maximum(pop.operator, 0), fraud.farm, len(fraud.farm_city)
    truth = pd.DataFrame({
        s.ACCOUNT_ID: accounts[s.ACCOUNT_ID][is_fraud].to_numpy(),
        s.PERSONA: pop.persona[is_fraud],
        s.OPERATOR_ID: ids("op", pop.operators)[op[is_fraud]],
        s.FARM_ID: np.where(farm[is_fraud] >= 0,
                            ids("farm", n_farms)[np.maximum(farm[is_fraud], 0)], None),
    }).astype("str")
    return SimulatedWorld(accounts, events, truth)
