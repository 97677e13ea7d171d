"""Allow-lists: infrastructure known to be benign (corporate egress ranges, VPN exits, shared
kiosk or family devices), left out of the cross-account reuse counts and of travel hops.

The one rule, used by every engine (batch, partitioned, Spark, online): an event whose IP lies in
an allowed range (`cidr`) or whose ASN is allowed (`asn`) is on an *allowed network*: it leaves
no IP or prefix key for reuse and is no end of a travel hop (nor of the typical sign-in place).
An event whose device is allowed (`device`) leaves no device key (device reuse, clusters).
Allowed events count everywhere else (events, countries, distinct IPs and devices, time zones).
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import pandas as pd

from persona_risk.features import schema as s
from persona_risk.features.arrays import Keys

CIDR, ASN, DEVICE_ENTRY = "cidr", "asn", "device"


@dataclass(frozen=True)
class AllowEntry:
    """One allowed piece of infrastructure: kind (cidr, asn or device), value and why."""

    kind: str
    value: str
    reason: str


def _address(value) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(value)
    except ValueError:
        return None


@dataclass(frozen=True)
class AllowList:
    """The allowed entries in file order; the first entry that matches an event is its match."""

    entries: tuple[AllowEntry, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.entries)

    @cached_property
    def _networks(self) -> list[tuple[int, ipaddress.IPv4Network | ipaddress.IPv6Network]]:
        return [(i, ipaddress.ip_network(e.value, strict=False))
                for i, e in enumerate(self.entries) if e.kind == CIDR]

    @cached_property
    def _asns(self) -> dict[int, int]:
        found: dict[int, int] = {}
        for i, e in enumerate(self.entries):
            if e.kind == ASN:
                found.setdefault(int(e.value), i)
        return found

    @cached_property
    def _devices(self) -> dict[str, int]:
        found: dict[str, int] = {}
        for i, e in enumerate(self.entries):
            if e.kind == DEVICE_ENTRY:
                found.setdefault(e.value, i)
        return found

    def network_match(self, ip: Keys, asn: np.ndarray) -> np.ndarray:
        """Per event (its IP factorized, its ASN as float, NaN when unknown): the index of the
        first cidr or asn entry it matches, -1 when none."""
        out = np.full(len(ip.codes), len(self.entries), dtype=np.int64)
        if self._networks:  # each distinct IP once
            by_value = np.full(len(ip.values) + 1, len(self.entries), dtype=np.int64)
            for j, value in enumerate(ip.values):
                address = _address(value)
                if address is not None:
                    by_value[j] = next((i for i, net in self._networks if address in net),
                                       len(self.entries))
            out = by_value[ip.codes]
        if self._asns:  # each distinct ASN once
            known = ~np.isnan(asn)
            values, inverse = np.unique(asn[known], return_inverse=True)
            codes = np.full(len(asn), len(self.entries), dtype=np.int64)
            codes[known] = np.array([self._asns.get(int(a), len(self.entries)) for a in values],
                                    dtype=np.int64)[inverse]
            out = np.minimum(out, codes)
        return np.where(out < len(self.entries), out, -1)

    def device_match(self, device: Keys) -> np.ndarray:
        """Per event (its device factorized): the index of its device entry, -1 when none."""
        if not self._devices:
            return np.full(len(device.codes), -1, dtype=np.int64)
        by_value = np.array([self._devices.get(v, -1) for v in device.values] + [-1],
                            dtype=np.int64)
        return by_value[device.codes]

    def event_matches(self, events: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        """Per event of a canonical events table: its `network_match` and `device_match`."""
        return (self.network_match(Keys.of(events[s.IP]),
                                   events[s.ASN].to_numpy(float, na_value=np.nan)),
                self.device_match(Keys.of(events[s.DEVICE_ID])))

    def allowed_devices(self) -> set[str]:
        """The allowed device ids."""
        return set(self._devices)


def without(keys: Keys, gone: np.ndarray) -> Keys:
    """`keys` with the events where `gone` (bool) set to no key."""
    return Keys(np.where(gone, -1, keys.codes).astype(keys.codes.dtype), keys.values)
