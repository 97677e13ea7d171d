"""Sign-in events: what real exports lack, the compact id columns."""

from __future__ import annotations

import dataclasses

import numpy as np

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
