"""The partitioned passes: stable partitions and the seen-ids set (the passes themselves are
checked through `score_events` in test_batch.py and the conformance suite)."""

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from persona_risk.serving import partitions
from persona_risk.serving.partitions import SeenIds, partition_of


def test_partition_is_stable():
    ids = np.array(["a", "b", "acct-000001"], dtype=object)
    assert partition_of(ids, 7).tolist() == partition_of(ids.copy(), 7).tolist()
    assert partition_of(ids, 1).tolist() == [0, 0, 0]


def test_chunks_join_whole_row_groups_up_to_the_chunk_size(tmp_path, monkeypatch):
    path = tmp_path / "events.parquet"
    rows = pd.DataFrame({"n": np.arange(23)})
    pq.write_table(pa.Table.from_pandas(rows), path, row_group_size=4)  # 5 groups of 4, one of 3
    monkeypatch.setattr(partitions, "CHUNK_ROWS", 9)
    chunks = list(partitions._chunks(path))
    assert [len(c) for c in chunks] == [8, 8, 7]  # two groups fit in 9 rows, not three
    assert pd.concat(chunks)["n"].tolist() == list(range(23))
    monkeypatch.setattr(partitions, "CHUNK_ROWS", 3)  # a group larger than a chunk is split
    assert [len(c) for c in partitions._chunks(path)] == [3, 1] * 5 + [3]


def test_seen_ids_match_repeats_only():
    seen = SeenIds()
    assert seen.add(pd.Series(["e1", "e2", ""], dtype="str")).tolist() == [False, False, False]
    again = seen.add(pd.Series(["E1", "e2", "e3", "e1"], dtype="str"))
    assert again.tolist() == [False, True, False, True]
    assert len(seen.first) == len(seen.second) == 5 and (np.diff(seen.first) > 0).all()


def test_seen_ids_agree_with_a_set_over_many_chunks():
    rng = np.random.default_rng(0)
    seen, known = SeenIds(), set()
    for _ in range(6):
        ids = pd.unique(rng.integers(0, 3_000, 800).astype(str))
        again = seen.add(pd.Series(ids, dtype="str"))
        assert again.tolist() == [i in known for i in ids]
        known.update(ids)
        assert (seen.first[1:] >= seen.first[:-1]).all() and len(seen.first) == len(known)


def test_seen_ids_tell_ids_apart_when_their_first_hashes_collide(monkeypatch):
    real = partitions.text_hashes

    def colliding(ids, seed=0):  # the first hash takes 7 values only
        hashes = real(ids, seed=seed)
        return hashes % np.uint64(7) if seed == 0 else hashes

    monkeypatch.setattr(partitions, "text_hashes", colliding)
    seen, known = SeenIds(), set()
    for chunk in (["a", "b", "c"], ["c", "d", "e", "f", "g", "h", "i"], ["a", "x", "i", "y"]):
        assert seen.add(pd.Series(chunk, dtype="str")).tolist() == [i in known for i in chunk]
        known.update(chunk)
    assert len(seen.first) == len(known) and (seen.first[1:] >= seen.first[:-1]).all()
