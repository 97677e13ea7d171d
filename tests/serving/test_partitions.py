"""The partitioned passes: stable partitions and the seen-ids set (the passes themselves are
checked through `score_events` in test_batch.py and the conformance suite)."""

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from persona_risk.serving import partitions
from persona_risk.serving.partitions import partition_of


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
