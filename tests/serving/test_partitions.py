"""The partitioned passes: stable partitions and the seen-ids set (the passes themselves are
checked through `score_events` in test_batch.py and the conformance suite)."""

import numpy as np
import pandas as pd

from persona_risk.serving.partitions import SeenIds, partition_of


def test_partition_is_stable():
    ids = np.array(["a", "b", "acct-000001"], dtype=object)
    assert partition_of(ids, 7).tolist() == partition_of(ids.copy(), 7).tolist()
    assert partition_of(ids, 1).tolist() == [0, 0, 0]



def test_seen_ids_match_repeats_only():
    seen = SeenIds()
    assert seen.add(pd.Series(["e1", "e2", ""], dtype="str")).tolist() == [False, False, False]
    again = seen.add(pd.Series(["E1", "e2", "e3", "e1"], dtype="str"))
    assert again.tolist() == [False, True, False, True]
    assert len(seen.first) == len(seen.second) == 5 and (np.diff(seen.first) > 0).all()
