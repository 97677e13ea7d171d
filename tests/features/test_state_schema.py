"""The stored layout rule: the same layout is used, an older additive one migrated, anything
else refused with a one-line error naming both versions (each store's own test opens real
stored state of each kind)."""

from __future__ import annotations

import pytest

from persona_risk.features import schema as s
from persona_risk.features.state_schema import CURRENT, StateLayout, StateVersionError, migration


def _without(*names: str, version: int = CURRENT.version - 1) -> StateLayout:
    return StateLayout(version, tuple(c for c in CURRENT.events if c not in names),
                       tuple(c for c in CURRENT.accounts if c not in names))


def test_the_current_layout_needs_nothing():
    assert migration(StateLayout.from_json(CURRENT.to_json()), "x") == StateLayout(
        CURRENT.version, (), ())


def test_an_older_layout_lacking_optional_columns_gets_them_added():
    added = migration(_without(s.USER_AGENT, s.PHONE_ID), "x")
    assert (added.events, added.accounts) == ((s.USER_AGENT,), (s.PHONE_ID,))


@pytest.mark.parametrize(("found", "why"), [
    (_without(s.TS), "required columns ts are new"),
    (StateLayout(CURRENT.version - 1, (*CURRENT.events, "gone"), CURRENT.accounts),
     "columns gone no longer exist"),
    (_without(s.USER_AGENT, version=CURRENT.version), "differ under the same version"),
    (_without(version=CURRENT.version + 1), "newer than this code"),
    (None, "without a schema version"),
])
def test_any_other_layout_is_refused_in_one_line(found, why):
    with pytest.raises(StateVersionError, match="state.sqlite: ") as error:
        migration(found, "state.sqlite")
    assert why in str(error.value) and "\n" not in str(error.value)
    assert f"expects version {CURRENT.version}" in str(error.value)
