"""Shared fixtures: small simulated worlds and a model trained once per session."""

from __future__ import annotations

import pytest
from hypothesis import settings

from persona_risk.features import schema as s
from persona_risk.features.validate import validate_accounts, validate_events
from persona_risk.training.dataset import logs_only_table, training_table
from persona_risk.training.fit import TrainConfig
from persona_risk.training.simulated import simulated_inputs
from persona_risk.training.simulator.simulate import SimConfig, simulate
from persona_risk.training.split import SplitConfig
from persona_risk.training.train import fit_and_evaluate
from tests.system import system_program

# Tests don't time things: a first call that compiles a kernel must not fail a deadline.
settings.register_profile("persona-risk", deadline=None)
settings.load_profile("persona-risk")


def pytest_collection_modifyitems(items):
    """Run every test that uses the Spark session on one xdist worker, so one JVM starts."""
    for item in items:
        if "spark" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.xdist_group("spark"))


@pytest.fixture(scope="session")
def small_world():
    """300 accounts over 30 days with a raised fraud rate, validated."""
    world = simulate(SimConfig(accounts=300, days=30, fraud_rate=0.1, seed=7))
    events, quarantine = validate_events(world.events)
    assert quarantine.empty
    return world, validate_accounts(world.accounts), events


@pytest.fixture(scope="session")
def labelled():
    inputs = simulated_inputs(simulate(SimConfig(accounts=5000, days=45, fraud_rate=0.05,
                                                 seed=21)))
    return inputs, training_table(inputs)


@pytest.fixture(scope="session")
def trained(labelled, tmp_path_factory):
    inputs, table = labelled
    return fit_and_evaluate(table, inputs.events[s.TS].min(), TrainConfig(), SplitConfig(),
                            tmp_path_factory.mktemp("report"),
                            logs_only=logs_only_table(inputs, table))


@pytest.fixture(scope="session")
def spark():
    """A local Spark session (Java from scripts/install-system-packages), stopped at the end."""
    system_program("java")
    from persona_risk.features.spark_engine import spark_session

    session = spark_session("local[2]")
    yield session
    session.stop()
