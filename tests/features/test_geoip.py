"""Locating IP-only events: a database file that is no MaxMind database is named, not a
traceback at the first lookup."""

from __future__ import annotations

import pandas as pd
import pytest

from persona_risk.features import schema as s
from persona_risk.features.geoip import GeoipDatabaseError, locate, open_database


def test_a_file_that_is_no_maxmind_database_is_refused_naming_it(tmp_path):
    junk = tmp_path / "junk.mmdb"
    junk.write_text("junk")
    with pytest.raises(GeoipDatabaseError, match=f"--geoip-db {junk}: not a MaxMind-format"):
        open_database(junk)
    with pytest.raises(GeoipDatabaseError, match="No such file"):
        open_database(tmp_path / "none.mmdb")
    events = pd.DataFrame({s.IP: ["8.8.8.8"], s.LAT: [float("nan")], s.COUNTRY: [None],
                           s.GEO_SOURCE: [None]})
    with pytest.raises(GeoipDatabaseError, match="junk.mmdb"):
        locate(events, junk)
