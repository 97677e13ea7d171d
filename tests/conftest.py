"""Shared fixtures: a small simulated world, validated once per session."""

from __future__ import annotations

import pytest

from features.validate import validate_accounts, validate_events
from training.simulator.simulate import SimConfig, simulate


@pytest.fixture(scope="session")
def small_world():
    """300 accounts over 30 days with a raised fraud rate, validated."""
    world = simulate(SimConfig(accounts=300, days=30, fraud_rate=0.1, seed=7))
    events, quarantine = validate_events(world.events)
    assert quarantine.empty
    return world, validate_accounts(world.accounts), events
