"""Adapters: vendor sign-in logs in, canonical `events` (and `accounts`) out."""

from __future__ import annotations

from pathlib import Path

from persona_risk.features.adapters.base import Options, Source
from persona_risk.features.adapters.cloudtrail import CloudTrailLogins
from persona_risk.features.adapters.entra import EntraSignIns, EntraUsers
from persona_risk.features.adapters.mapped import MappedTable, Mapping
from persona_risk.features.adapters.okta import OktaEvents, OktaUsers

SOURCES: dict[str, type[Source]] = {
    "entra": EntraSignIns, "entra-users": EntraUsers, "okta": OktaEvents,
    "okta-users": OktaUsers, "cloudtrail": CloudTrailLogins, "csv": MappedTable,
}


def make_source(name: str, options: Options, mapping: Path | None = None) -> Source:
    """The adapter for a source name; `csv` needs a mapping file."""
    if name not in SOURCES:
        raise ValueError(f"unknown source {name!r}; one of {', '.join(SOURCES)}")
    if name == "csv":
        if mapping is None:
            raise ValueError("source csv needs --mapping FILE (YAML or TOML)")
        return MappedTable(options, Mapping.read(mapping))
    return SOURCES[name](options)
