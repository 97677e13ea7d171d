"""The pairs cache: read once per key, follows its connection's own writes (earliest time
kept), starts over when another connection has written, and leaves out keys without pairs."""

from __future__ import annotations

from persona_risk.features.reuse import DEVICE, IPADDR
from persona_risk.serving import pair_cache
from persona_risk.serving.pair_cache import PairCache


class Reads:
    """A store's `pairs_for` over fixed rows, counting the keys it is asked for."""

    def __init__(self, rows: list[tuple]):
        self.rows, self.asked = rows, []

    def __call__(self, kind: str, keys: list[str]) -> list[tuple]:
        self.asked += keys
        return [r for r in self.rows if r[0] == kind and r[1] in keys]


ROWS = [(IPADDR, "ip1", "b", 30), (IPADDR, "ip1", "a", 10), (IPADDR, "ip2", "c", 5),
        (DEVICE, "ip1", "z", 1)]


def test_each_key_is_read_once_and_its_first_times_come_sorted():
    cache, read = PairCache().checked(1), Reads(ROWS)
    first = cache.firsts(IPADDR, ["ip1", "none"], read)
    again = cache.firsts(IPADDR, ["ip1", "ip2", "none"], read)
    assert read.asked == ["ip1", "none", "ip2"]  # a key without pairs is not asked twice
    assert first["ip1"].tolist() == again["ip1"].tolist() == [10, 30]
    assert again["ip2"].tolist() == [5]
    assert "none" not in again  # kinds apart: the device pair of "ip1" is not an IP pair


def test_own_writes_keep_each_pairs_earliest_time():
    cache, read = PairCache().checked(1), Reads(ROWS)
    cache.firsts(IPADDR, ["ip1", "none"], read)
    cache.merged([(IPADDR, "ip1", "b", 20), (IPADDR, "ip1", "a", 15), (IPADDR, "ip1", "d", 40),
                  (IPADDR, "none", "e", 7), (IPADDR, "unread", "f", 1)])
    read.rows = [(IPADDR, "unread", "f", 1)]  # what the store holds of a key not held
    got = cache.firsts(IPADDR, ["ip1", "none", "unread"], read)
    assert got["ip1"].tolist() == [10, 20, 40]  # b earlier, a's later time ignored, d new
    assert got["none"].tolist() == [7]
    assert got["unread"].tolist() == [1]  # read from the store when first asked
    assert read.asked == ["ip1", "none", "unread"]


def test_another_connections_write_empties_it():
    cache, read = PairCache().checked(1), Reads(ROWS)
    cache.firsts(IPADDR, ["ip1"], read)
    read.rows = [*ROWS, (IPADDR, "ip1", "c", 20)]
    assert cache.checked(1).firsts(IPADDR, ["ip1"], read)["ip1"].tolist() == [10, 30]
    assert cache.checked(2).firsts(IPADDR, ["ip1"], read)["ip1"].tolist() == [10, 20, 30]
    assert read.asked == ["ip1", "ip1"]


def test_past_its_bound_it_starts_over_with_the_keys_asked(monkeypatch):
    monkeypatch.setattr(pair_cache, "MAX_PAIRS", 2)
    cache, read = PairCache().checked(1), Reads(ROWS)
    cache.firsts(IPADDR, ["ip1"], read)  # 1 key and 2 pairs held: past the bound
    got = cache.firsts(IPADDR, ["ip1", "ip2", "ip1"], read)
    assert got["ip1"].tolist() == [10, 30] and got["ip2"].tolist() == [5]
    assert read.asked == ["ip1", "ip1", "ip2"]  # read again after the clear, once a call


def test_a_write_that_does_not_end_leaves_it_to_start_over():
    cache, read = PairCache().checked(1), Reads(ROWS)
    cache.firsts(IPADDR, ["ip1"], read)
    cache.writing()  # the write failed or was cut off: `merged` never comes
    read.rows = [*ROWS, (IPADDR, "ip1", "c", 20)]
    assert cache.checked(1).firsts(IPADDR, ["ip1"], read)["ip1"].tolist() == [10, 20, 30]
    held = cache.writing()  # a write that ends: committed, followed, version given back
    cache.merged([(IPADDR, "ip1", "d", 40)])
    cache.version = held
    assert cache.checked(1).firsts(IPADDR, ["ip1"], read)["ip1"].tolist() == [10, 20, 30, 40]
    assert read.asked == ["ip1", "ip1"]
