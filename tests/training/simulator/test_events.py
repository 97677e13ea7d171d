"""Sign-in events: what real exports lack, the compact id columns."""

from __future__ import annotations

import dataclasses

import numpy as np

from persona_risk.features import schema as s
from persona_risk.training.simulator.events import categorical, ids
from persona_risk.training.simulator.params import WorldParams
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
