"""Sign-in events: what real exports lack, the compact id columns."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd

from persona_risk.features import schema as s
from persona_risk.training.simulator.events import categorical, ids
from persona_risk.training.simulator.params import HONEST_MIX, WorldParams
from persona_risk.training.simulator.simulate import SimConfig, simulate


def test_logs_without_device_fields_carry_none_and_ipv6_lines_rotate():
    p = dataclasses.replace(WorldParams(), no_device_id_share=1.0, no_device_tz_share=1.0,
                            ipv6_share=1.0)
    events = simulate(SimConfig(accounts=300, days=10, seed=4, params=p)).events
    assert events[s.DEVICE_ID].isna().all() and events[s.DEVICE_TZ].isna().all()
    assert events[s.IP].astype(str).str.contains(":").any()


def test_ipv6_is_a_property_of_a_line_not_of_a_sign_in():
    """A dual-stack home signs in over IPv6 nearly always, a v4-only one never: per account the
    IPv6 share is near 0 or high, not the world's share drawn afresh for every sign-in (which
    left every IPv6 user one steady IPv4 address, and no one rotating alone on a /64)."""
    events = simulate(SimConfig(accounts=300, days=20, seed=4,
                                params=WorldParams(ipv6_share=0.5))).events
    share = events[s.IP].astype(str).str.contains(":").groupby(
        events[s.ACCOUNT_ID].astype(str)).agg(["mean", "size"])
    share = share.loc[share["size"] >= 10, "mean"]
    assert (share == 0).mean() > 0.15 and (share > 0.8).mean() > 0.1


def test_categorical_keeps_the_values_of_its_codes():
    values = ids("acct", 5)
    got = categorical(np.array([3, 1, 3, 0]), values)
    assert list(got.astype(str)) == ["acct-000003", "acct-000001", "acct-000003", "acct-000000"]


def test_rows_without_coordinates_keep_the_country_of_their_ip():
    p = dataclasses.replace(WorldParams(), no_location_share=0.5)
    events = simulate(SimConfig(accounts=300, days=10, seed=4, params=p)).events
    gone = events[s.LAT].isna()
    assert gone.mean() > 0.4 and events[s.LON].isna().equals(gone)
    assert events[s.COUNTRY].notna().all()


def _night_share_abroad(overlap: float) -> float:
    p = WorldParams(honest_mix={**HONEST_MIX, "contractor_abroad": 0.5},
                    abroad_overlap_share=overlap)
    world = simulate(SimConfig(accounts=300, days=10, seed=4, params=p))
    acc = world.accounts.set_index(s.ACCOUNT_ID)
    ev = world.events[world.events[s.ACCOUNT_ID].map(acc[s.PERSONA]).eq("contractor_abroad")]
    hours = np.array([ts.tz_convert(tz).hour for ts, tz in zip(
        ev[s.TS], ev[s.ACCOUNT_ID].map(acc[s.CLAIMED_TIMEZONE]), strict=True)])
    return float(((hours >= 22) | (hours < 6)).mean())


def test_people_abroad_who_keep_us_hours_work_in_their_night():
    assert _night_share_abroad(1.0) > 0.6 > 0.3 > _night_share_abroad(0.0)


def _local_hours(p: WorldParams) -> pd.DataFrame:
    w = simulate(SimConfig(accounts=400, days=20, seed=4, params=p))
    honest = w.accounts.loc[w.accounts[s.PERSONA] == "office"].set_index(s.ACCOUNT_ID)
    ev = w.events[w.events[s.ACCOUNT_ID].isin(honest.index)]
    hours = [ts.tz_convert(tz).hour + ts.minute / 60 for ts, tz in zip(
        ev[s.TS], ev[s.ACCOUNT_ID].map(honest[s.CLAIMED_TIMEZONE]), strict=True)]
    return pd.DataFrame({"account": ev[s.ACCOUNT_ID].astype(str).to_numpy(), "hour": hours})


def test_people_keep_their_own_hours_when_habits_vary():
    """Each person's median hour and hour spread vary from person to person with their habits;
    without habits only chance separates them."""
    alike = _local_hours(dataclasses.replace(WorldParams(), off_hours_share=0.0))
    habits = _local_hours(dataclasses.replace(WorldParams(), off_hours_share=0.0,
                                              hour_habit_sd=2.5))
    centres = [h.groupby("account").hour.median().std() for h in (alike, habits)]
    spreads = [h.groupby("account").hour.std().std() for h in (alike, habits)]
    assert centres[1] > 2 * centres[0]
    assert spreads[1] > 1.5 * spreads[0]
    narrow = _local_hours(dataclasses.replace(WorldParams(), off_hours_share=0.0,
                                              hour_spread_h=1.5))
    assert narrow.groupby("account").hour.std().median() < 0.75 * alike.groupby(
        "account").hour.std().median()


def _service_events(zone_share: float) -> pd.DataFrame:
    p = WorldParams(honest_mix={**HONEST_MIX, "service_account": 0.2},
                    service_zone_share=zone_share)
    w = simulate(SimConfig(accounts=300, days=10, seed=4, params=p))
    service = w.accounts.loc[w.accounts[s.PERSONA] == "service_account", s.ACCOUNT_ID]
    return w.events[w.events[s.ACCOUNT_ID].isin(service)]


def test_service_hosts_that_report_a_zone_report_utc():
    ev = _service_events(1.0)
    assert len(ev) and (ev[s.DEVICE_TZ] == "UTC").all() and ev[s.DEVICE_ID].isna().all()
    assert _service_events(0.0)[s.DEVICE_TZ].isna().all()
