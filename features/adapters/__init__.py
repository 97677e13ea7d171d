"""Adapters: vendor sign-in logs in, canonical `events` (and `accounts`) out.

Each source's adapter is imported when it is made, so that naming the sources (the command
line's help does) loads none of the ingest code.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from persona_risk.features.adapters.base import Options, Source

ACCOUNT_FIELDS = ("upn", "id")  # the user identifier an adapter takes: UPN/login/arn or user id
# source name -> the module and class of its adapter
SOURCES: dict[str, tuple[str, str]] = {
    "entra": ("entra", "EntraSignIns"), "entra-users": ("entra", "EntraUsers"),
    "okta": ("okta", "OktaEvents"), "okta-users": ("okta", "OktaUsers"),
    "cloudtrail": ("cloudtrail", "CloudTrailLogins"), "csv": ("mapped", "MappedTable"),
}


def make_source(name: str, options: Options, mapping: Path | None = None) -> Source:
    """The adapter for a source name; `csv` needs a mapping file."""
    if name not in SOURCES:
        raise ValueError(f"unknown source {name!r}; one of {', '.join(SOURCES)}")
    module, adapter = SOURCES[name]
    source = getattr(importlib.import_module(f"{__name__}.{module}"), adapter)
    if name == "csv":
        from persona_risk.features.adapters.mapped import Mapping

        if mapping is None:
            raise ValueError("source csv needs --mapping FILE (YAML or TOML)")
        return source(options, Mapping.read(mapping))
    return source(options)
