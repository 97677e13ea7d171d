"""Device, IP and identity reuse across accounts: the traces of laptop farms and operators.

The cross-account state is a table of *pairs*: for each key (a device, an IP, an IP prefix) and
each account seen on it, the first time (UTC, ns) the account was seen there. The point-in-time
count of an event is the number of accounts whose first time on the event's key is at or before
the event. Accounts are also linked into clusters through shared devices, payout and phone ids.
Allowed infrastructure (`features.allow`) leaves no key: it makes no pair and has no count.
Non-interactive events (token refreshes, service sign-ins) leave no IP or prefix key: their
address is often the service's or a cloud's, shared by every account of a tenant, not the
network the person sits on (device keys stay: the device is the same).
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import chain

import numpy as np
import pandas as pd
from numba import njit
from pandas.api.types import union_categoricals

from persona_risk.features import schema as s
from persona_risk.features.allow import AllowList, without
from persona_risk.features.arrays import (
    EventArrays,
    Keys,
    prefix_keys,
    shows_person,
    timestamps_ns,
)
from persona_risk.features.geo import ip_prefix, prefix_of
from persona_risk.features.segments import (
    order_by_segment,
    seg_count,
    seg_max,
    seg_mean,
    seg_nunique,
    seg_top_share,
    segment_starts,
)
from persona_risk.features.text import take_text

KIND, KEY, FIRST_TS = "kind", "key", "first_ts"
DEVICE, IPADDR, PREFIX = "device", "ip", "prefix"
REUSE_KINDS = (DEVICE, IPADDR, PREFIX)
PAIR_COLUMNS = [KIND, KEY, s.ACCOUNT_ID, FIRST_TS]
REUSE_COUNT = {kind: f"{kind}_accounts" for kind in REUSE_KINDS}  # event signal per kind
# account signals over other accounts' records: per shared record id, the accounts carrying it;
# and the size of the cluster linked through devices and those ids
SHARED_ID_COUNT = {c: f"{c.removesuffix('_id')}_accounts" for c in (s.PAYOUT_ID, s.PHONE_ID)}
CLUSTER_SIZE = "cluster_size"


def reuse_keys(ev: EventArrays, allow: AllowList) -> dict[str, Keys]:
    """The reuse keys of each event (device, IP, prefix), none where the allow-list allows the
    event's device (device) or network (IP and prefix), nor IP or prefix where the event is
    not interactive."""
    return _allowed_keys(ev.device, ev.ip, ev.prefix, ev.asn, shows_person(ev), allow)


def _network_gone(network_match: np.ndarray, person: np.ndarray) -> np.ndarray:
    """Events whose IP and prefix make no pair and have no count: those on a network the
    allow-list allows (`network_match`, its match index per event, -1 for none) and those that
    do not show the person (`person`: the interactive sign-ins, as `shows_person`)."""
    return (network_match >= 0) | ~person


def _allowed_keys(device: Keys, ip: Keys, prefix: Keys, asn: np.ndarray, person: np.ndarray,
                  allow: AllowList) -> dict[str, Keys]:
    match = allow.network_match(ip, asn) if allow else np.full(len(ip.codes), -1)
    network = _network_gone(match, person)
    return {DEVICE: without(device, allow.device_match(device) >= 0) if allow else device,
            IPADDR: without(ip, network), PREFIX: without(prefix, network)}


def event_keys(events: pd.DataFrame, allow: AllowList = AllowList()) -> dict[str, pd.Series]:
    """The reuse keys of each event: device id, IP and its /24 or /64 prefix (missing where
    left out, as `reuse_keys`)."""
    keys = {DEVICE: events[s.DEVICE_ID], IPADDR: events[s.IP], PREFIX: ip_prefix(events[s.IP])}
    network, device = allow.event_matches(events) if allow else (np.full(len(events), -1),) * 2
    gone = _network_gone(network, events[s.INTERACTIVE].to_numpy(bool))
    return {kind: key.where(~(device >= 0 if kind == DEVICE else gone))
            for kind, key in keys.items()}


def first_seen(keys: dict[str, Keys], accounts: Keys, ts_ns: np.ndarray) -> pd.DataFrame:
    """Pairs from factorized columns: the first time (ns, UTC) each account (`accounts`, one
    code per event) was seen on each key of each kind (`keys[kind]`, one code per event).
    Keys and accounts stay categorical: no Python string per pair."""
    n_accounts = max(len(accounts.values), 1)
    kinds, key_columns, account_codes, firsts = [], [], [], []
    for kind, key in keys.items():
        ok = (key.codes >= 0) & (accounts.codes >= 0)
        combined = key.codes[ok].astype(np.int64) * n_accounts + accounts.codes[ok]
        first = pd.Series(ts_ns[ok]).groupby(combined, sort=False).min()
        comb = first.index.to_numpy()
        kinds.append(np.full(len(comb), REUSE_KINDS.index(kind)))
        key_columns.append(pd.Categorical.from_codes(comb // n_accounts,
                                                     categories=pd.Index(key.values, dtype=str)))
        account_codes.append(comb % n_accounts)
        firsts.append(first.to_numpy(np.int64))
    return pd.DataFrame({
        KIND: pd.Categorical.from_codes(np.concatenate(kinds), categories=list(REUSE_KINDS)),
        KEY: union_categoricals(key_columns),
        s.ACCOUNT_ID: pd.Categorical.from_codes(np.concatenate(account_codes),
                                                categories=pd.Index(accounts.values, dtype=str)),
        FIRST_TS: np.concatenate(firsts)})


def event_pairs(rows: list[tuple], allow: AllowList = AllowList()) -> list[list[tuple]]:
    """Each of a few events' own pairs, (kind, key, account_id, its time), the events given as
    (account_id, ts ns, device_id, ip, asn, interactive) tuples (None when absent)."""
    network = device = np.full(len(rows), -1)
    if allow:
        network = allow.network_match(Keys.of(pd.Series([r[3] for r in rows], dtype=object)),
                                      np.array([r[4] for r in rows], dtype=object).astype(float))
        device = allow.device_match(Keys.of(pd.Series([r[2] for r in rows], dtype=object)))
    gone = _network_gone(network, np.array([r[5] for r in rows], dtype=bool))
    out = []
    for (account, ts, dev, ip, _, _), net_ok, dev_ok in zip(rows, (~gone).tolist(),
                                                            (device < 0).tolist(), strict=True):
        prefix = prefix_of(ip) if ip is not None and net_ok else None
        out.append([(kind, key, account, ts) for kind, key in (
            (DEVICE, dev if dev_ok else None), (IPADDR, ip if net_ok else None), (PREFIX, prefix))
            if key is not None])
    return out


def first_pairs(pairs: list[list[tuple]]) -> list[tuple]:
    """Pairs of several events (`event_pairs`) as one (kind, key, account_id, first_ts) each."""
    first: dict[tuple, int] = {}
    for kind, key, account, ts in chain.from_iterable(pairs):
        first[kind, key, account] = min(ts, first.get((kind, key, account), ts))
    return [(*pair, ts) for pair, ts in first.items()]


def row_pairs(rows: list[tuple], allow: AllowList = AllowList()) -> list[tuple]:
    """`reuse_pairs` of a few events given as `event_pairs` takes them, as (kind, key,
    account_id, first_ts) tuples."""
    return first_pairs(event_pairs(rows, allow))


def reuse_pairs(events: pd.DataFrame, allow: AllowList = AllowList()) -> pd.DataFrame:
    """First time (ns, UTC) each account was seen on each device, IP and prefix that the
    allow-list does not allow (IP and prefix: in interactive events)."""
    ip = Keys.of(events[s.IP])
    keys = _allowed_keys(Keys.of(events[s.DEVICE_ID]), ip, prefix_keys(ip),
                         events[s.ASN].to_numpy(float, na_value=np.nan),
                         events[s.INTERACTIVE].to_numpy(bool), allow)
    pairs = first_seen(keys, Keys.of(events[s.ACCOUNT_ID]), timestamps_ns(events[s.TS]))
    return pairs.assign(**{c: take_text(pairs[c].cat.categories, pairs[c].cat.codes.to_numpy(),
                                        pairs.index) for c in (KIND, KEY, s.ACCOUNT_ID)})


@njit(cache=True, nogil=True)
def _count_at_or_before(key_codes: np.ndarray, ts_ns: np.ndarray, starts: np.ndarray,
                        firsts: np.ndarray) -> np.ndarray:
    out = np.full(len(key_codes), np.nan)
    for i in range(len(key_codes)):
        k = key_codes[i]
        if k >= 0:
            out[i] = np.searchsorted(firsts[starts[k]:starts[k + 1]], ts_ns[i], side="right")
    return out


def counts_at(key_codes: np.ndarray, ts_ns: np.ndarray, pair_codes: np.ndarray,
              first_ns: np.ndarray, n_keys: int) -> np.ndarray:
    """For each event (its key's code, -1 when none, and its time), the number of pairs of its
    key (`pair_codes` into the same `n_keys` keys, `first_ns` their first times) at or before
    it; NaN when the event has no key."""
    order, starts = _by_key_then_time(pair_codes, first_ns, n_keys)
    return _count_at_or_before(key_codes, ts_ns, starts, first_ns[order])


def _by_key_then_time(pair_codes: np.ndarray, first_ns: np.ndarray,
                      n_keys: int) -> tuple[np.ndarray, np.ndarray]:
    by_time = np.argsort(first_ns, kind="stable")
    order = by_time[order_by_segment(pair_codes[by_time], n_keys)]
    return order, segment_starts(pair_codes[order], n_keys)


@dataclass(frozen=True)
class KeyTimes:
    """The pairs of one kind laid out for counting: their distinct keys (`index`, hashed once)
    and the first times (ns, UTC) of each key's pairs in order, `starts` its boundaries."""

    index: pd.Index
    starts: np.ndarray
    firsts: np.ndarray

    @classmethod
    def of(cls, pairs: pd.DataFrame) -> KeyTimes:
        pair_codes, pair_keys = pd.factorize(pairs[KEY])
        first_ns = pairs[FIRST_TS].to_numpy(np.int64)
        order, starts = _by_key_then_time(pair_codes, first_ns, len(pair_keys))
        return cls(pd.Index(pair_keys), starts, first_ns[order])

    def counts(self, keys: Keys, ts_ns: np.ndarray) -> np.ndarray:
        """`accounts_at` of events with these `keys` (one code per event) and times."""
        to_pair = np.append(self.index.get_indexer(keys.values), -1)
        return _count_at_or_before(to_pair[keys.codes], ts_ns, self.starts, self.firsts)


def accounts_at(keys: Keys, ts_ns: np.ndarray, pairs: pd.DataFrame) -> np.ndarray:
    """For each event, the number of distinct accounts first seen on its key (`keys`, one code
    per event) at or before it, its own account included; NaN when the event has no key."""
    return KeyTimes.of(pairs).counts(keys, ts_ns)


def identity_counts_by_account(identities: pd.DataFrame, column: str) -> pd.Series:
    """Per account id of `identities` (index), how many accounts share its `column` value
    (payout or phone id, itself included); NaN when the value is missing."""
    values = identities[column]
    counts = values.map(values.value_counts())
    return pd.Series(counts.to_numpy(float), index=identities[s.ACCOUNT_ID].to_numpy())


def identity_counts(account_ids: np.ndarray, identities: pd.DataFrame,
                    column: str) -> np.ndarray:
    """For each account, how many accounts of `identities` share its `column` value (payout or
    phone id, itself included); NaN when the value or the record is missing."""
    return identity_counts_by_account(identities, column).reindex(account_ids).to_numpy(float)


def component_sizes(n_accounts: int, n_nodes: int, left: np.ndarray,
                    right: np.ndarray) -> np.ndarray:
    """Accounts in the connected component of each account of the undirected graph of
    `n_nodes` nodes (the first `n_accounts` accounts, the others the keys linking them) with
    the edges `left[i]`-`right[i]`."""
    account_label = _component_roots(n_nodes, left, right)[:n_accounts]
    return np.bincount(account_label)[account_label]


@njit(cache=True, nogil=True)
def _root(parent: np.ndarray, node: int) -> int:
    while parent[node] != node:
        parent[node] = parent[parent[node]]  # path halving
        node = parent[node]
    return node


@njit(cache=True, nogil=True)
def _component_roots(n_nodes: int, left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """A label per node, equal for the nodes of one connected component (union-find: no
    sparse matrix to build, which dominated the small graphs of online requests)."""
    parent = np.arange(n_nodes)
    for e in range(len(left)):
        a, b = _root(parent, left[e]), _root(parent, right[e])
        if a != b:
            parent[max(a, b)] = min(a, b)
    for node in range(n_nodes):
        parent[node] = _root(parent, node)
    return parent


def cluster_sizes_by_account(device_pairs: pd.DataFrame, identities: pd.DataFrame) -> pd.Series:
    """Per account id of `device_pairs` or `identities` (index), the accounts in its connected
    component of the graph linking accounts through shared devices and payout or phone ids."""
    node_accounts = pd.Index(pd.unique(np.concatenate([
        device_pairs[s.ACCOUNT_ID].to_numpy(object), identities[s.ACCOUNT_ID].to_numpy(object)])))
    if node_accounts.empty:
        return pd.Series(np.empty(0), index=node_accounts)
    links = [(device_pairs[s.ACCOUNT_ID], "d:" + device_pairs[KEY].astype("str"))]
    for col in (s.PAYOUT_ID, s.PHONE_ID):
        known = identities[identities[col].notna()]
        links.append((known[s.ACCOUNT_ID], col[:3] + ":" + known[col].astype("str")))
    left = np.concatenate([node_accounts.get_indexer(a) for a, _ in links])
    key_codes, _ = pd.factorize(pd.concat([k for _, k in links], ignore_index=True))
    n = len(node_accounts) + (key_codes.max() + 1 if len(key_codes) else 0)
    size = component_sizes(len(node_accounts), n, left, key_codes + len(node_accounts))
    return pd.Series(size.astype(float), index=node_accounts)


def cluster_sizes(account_ids: np.ndarray, device_pairs: pd.DataFrame,
                  identities: pd.DataFrame) -> np.ndarray:
    """Accounts in each account's connected component of the graph linking accounts through
    shared devices (`device_pairs`) and shared payout or phone ids (`identities`, one row per
    account with `payout_id` and `phone_id`). Accounts outside both tables count 1."""
    by_account = cluster_sizes_by_account(device_pairs, identities)
    return by_account.reindex(account_ids, fill_value=1.0).to_numpy(float)


@dataclass(frozen=True)
class CrossIndex:
    """Cross-account state of all accounts, prepared once for many lookups (one per partition):
    the pairs of each kind by key (`KeyTimes`), and per account id its payout, phone and
    cluster counts (none without `identities`)."""

    kinds: dict[str, KeyTimes]
    by_account: pd.DataFrame | None  # columns SHARED_ID_COUNT's and CLUSTER_SIZE

    @classmethod
    def of(cls, pairs: pd.DataFrame, identities: pd.DataFrame | None) -> CrossIndex:
        """From reuse pairs and (optionally) the identities of every account that may share."""
        kinds = {kind: KeyTimes.of(pairs[(pairs[KIND] == kind).to_numpy()])
                 for kind in REUSE_KINDS}
        if identities is None:
            return cls(kinds, None)
        device = pairs[(pairs[KIND] == DEVICE).to_numpy()]
        cluster = cluster_sizes_by_account(device, identities)
        return cls(kinds, pd.DataFrame({
            name: identity_counts_by_account(identities, column)
            for column, name in SHARED_ID_COUNT.items()}).reindex(cluster.index).assign(
                **{CLUSTER_SIZE: cluster}))

    def event_counts(self, keys: dict[str, Keys], ts_ns: np.ndarray) -> dict[str, np.ndarray]:
        """Per event (its `reuse_keys` and time): accounts seen so far on its device, IP and
        prefix (counts, point in time)."""
        return {REUSE_COUNT[kind]: self.kinds[kind].counts(keys[kind], ts_ns)
                for kind in REUSE_KINDS}

    def account_counts(self, account_ids: np.ndarray) -> dict[str, np.ndarray]:
        """Per account: accounts sharing its payout id, its phone id (NaN without one) and its
        cluster's size (1 when it shares nothing)."""
        known = self.by_account.reindex(account_ids)
        return {**{name: known[name].to_numpy(float) for name in SHARED_ID_COUNT.values()},
                CLUSTER_SIZE: known[CLUSTER_SIZE].fillna(1.0).to_numpy(float)}


def account_reuse(ev: EventArrays, sig: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Per account: max and mean of the per-event reuse counts, distinct devices and IPs, and
    the share of its interactive sign-ins (`shows_person`) from its most used IP."""
    out = {}
    for kind in REUSE_KINDS:
        out[f"{REUSE_COUNT[kind]}_max"] = seg_max(sig[REUSE_COUNT[kind]], ev.starts)
        out[f"{REUSE_COUNT[kind]}_mean"] = seg_mean(sig[REUSE_COUNT[kind]], ev.starts)
    for name, codes in (("devices_distinct", ev.device.codes), ("ips_distinct", ev.ip.codes)):
        known = seg_count(codes >= 0, ev.starts) > 0
        out[name] = np.where(known, seg_nunique(codes, ev.starts), np.nan)
    out["top_ip_share"] = seg_top_share(np.where(shows_person(ev), ev.ip.codes, -1), ev.starts)
    return out
