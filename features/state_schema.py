"""The layout of stored online state: named event and account columns under a schema version,
stored with the state (SQLite: the `meta` table; Redis: a key; in memory: a field of `to_dict`).

Opening a state compares the stored layout with this code's (`CURRENT`): the same -> used as it
is; an older version whose change is additive (only new optional columns, read as missing in the
rows stored before) -> migrated; anything else -> refused with a one-line `StateVersionError`
naming the version found, the version expected and what to do.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from persona_risk.features import schema as s
from persona_risk.features.pipeline import IDENTITY_COLUMNS
from persona_risk.features.stored_rows import ACCOUNT_NAMES, EVENT_NAMES

STATE_VERSION = 2  # bump with every change of what is stored: columns or a store's layout
# record columns that link accounts (shared payout or phone): indexed by every store
SHARED_IDS = tuple(c for c in IDENTITY_COLUMNS if c not in (s.ACCOUNT_ID, s.CREATED_AT))
REPLAY = "replay the events and account records into a fresh state"


class StateVersionError(ValueError):
    """Stored state this code cannot read or migrate."""


@dataclass(frozen=True)
class StateLayout:
    """A schema version with the event and account columns stored under it."""

    version: int
    events: tuple[str, ...]
    accounts: tuple[str, ...]

    def to_json(self) -> str:
        return json.dumps({"version": self.version, "events": list(self.events),
                           "accounts": list(self.accounts)})

    @classmethod
    def from_json(cls, text: str) -> StateLayout:
        data = json.loads(text)
        return cls(int(data["version"]), tuple(data["events"]), tuple(data["accounts"]))


CURRENT = StateLayout(STATE_VERSION, tuple(EVENT_NAMES), tuple(ACCOUNT_NAMES))
_REQUIRED = set(s.required(s.EVENT_COLUMNS)) | set(s.required(s.ACCOUNT_COLUMNS))


def migration(found: StateLayout | None, where: str) -> StateLayout:
    """The columns to add to a state stored with layout `found` (None: state without a
    version) to bring it to `CURRENT`, as a layout of `CURRENT`'s version holding only them
    (none: nothing to do). Raises `StateVersionError` for any change that is not additive."""
    if found == CURRENT:
        return StateLayout(STATE_VERSION, (), ())
    expected = f"this persona-risk expects version {STATE_VERSION}"
    if found is None:
        raise StateVersionError(f"{where}: online state without a schema version (written "
                                f"before version 1); {expected}: {REPLAY}")
    if found.version > STATE_VERSION:
        raise StateVersionError(f"{where}: online state of schema version {found.version}, "
                                f"newer than this code; {expected}: upgrade persona-risk or "
                                f"{REPLAY}")
    events = tuple(c for c in CURRENT.events if c not in found.events)
    accounts = tuple(c for c in CURRENT.accounts if c not in found.accounts)
    unknown = sorted({*found.events} - {*CURRENT.events} | {*found.accounts} - {*CURRENT.accounts})
    required = sorted(_REQUIRED.intersection(events + accounts))
    if found.version == STATE_VERSION or unknown or required:
        why = (f"columns {', '.join(unknown)} no longer exist" if unknown else
               f"required columns {', '.join(required)} are new" if required else
               "its columns differ under the same version")
        raise StateVersionError(f"{where}: online state of schema version {found.version} "
                                f"cannot be migrated ({why}); {expected}: {REPLAY}")
    return StateLayout(STATE_VERSION, events, accounts)
