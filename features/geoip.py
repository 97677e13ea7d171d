"""Locating events that carry only an IP, offline.

With a MaxMind-format city database (`db_path`, read with `maxminddb`) events get lat/lon and
country; without one, the country comes from the data shipped in the `geoip2fast` package.
The `geo_source` column says where each location came from: `log`, `mmdb` or `geoip2fast`.
Nothing is fetched at run time.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd

from persona_risk.features import schema as s

MMDB, GEOIP2FAST = "mmdb", "geoip2fast"


@cache
def _geoip2fast():
    from geoip2fast import GeoIP2Fast

    return GeoIP2Fast(verbose=False)


class GeoipDatabaseError(ValueError):
    """A `--geoip-db` file that is no MaxMind-format database; the message names it."""


def open_database(db_path: Path | str):
    """A reader of the MaxMind-format database at `db_path` (close it, or use it in `with`);
    `GeoipDatabaseError` naming the file when it is not one."""
    import maxminddb

    try:
        return maxminddb.open_database(str(db_path))
    except OSError as err:  # missing, a folder, not permitted
        raise GeoipDatabaseError(f"--geoip-db {db_path}: {err.strerror or err}") from err
    except maxminddb.InvalidDatabaseError as err:
        raise GeoipDatabaseError(f"--geoip-db {db_path}: not a MaxMind-format database "
                                 f"({err})") from err


def _lookup_mmdb(ips: list[str], db_path: Path) -> list[tuple[float, float, str | None]]:
    out = []
    with open_database(db_path) as reader:
        for ip in ips:
            try:
                rec = reader.get(ip) or {}
            except ValueError:
                rec = {}
            loc = rec.get("location", {})
            country = rec.get("country", {}).get("iso_code")
            out.append((loc.get("latitude", np.nan), loc.get("longitude", np.nan), country))
    return out


def _lookup_geoip2fast(ips: list[str]) -> list[tuple[float, float, str | None]]:
    g = _geoip2fast()
    out = []
    for ip in ips:
        code = g.lookup(ip).country_code
        out.append((np.nan, np.nan, code if len(code) == 2 and code.isalpha() else None))
    return out


def locate(events: pd.DataFrame, db_path: Path | str | None = None) -> pd.DataFrame:
    """Fill lat/lon/country of canonical events that have an IP but no location.

    Each distinct IP is looked up once. Events that had a location keep it (`geo_source` log).
    """
    need = events[s.LAT].isna() & events[s.IP].notna()
    if not need.any():
        return events
    events = events.copy()
    for col in (s.COUNTRY, s.GEO_SOURCE):  # new values go in: categories would refuse them
        if isinstance(events[col].dtype, pd.CategoricalDtype):
            events[col] = events[col].astype("str")
    ips = pd.unique(events.loc[need, s.IP])
    found = (_lookup_mmdb(list(ips), Path(db_path)) if db_path else _lookup_geoip2fast(list(ips)))
    table = pd.DataFrame(found, index=ips, columns=[s.LAT, s.LON, s.COUNTRY])
    hit = table.reindex(events.loc[need, s.IP].to_numpy())
    rows = np.flatnonzero(need)
    events.loc[need, s.LAT] = hit[s.LAT].to_numpy(float)
    events.loc[need, s.LON] = hit[s.LON].to_numpy(float)
    known_country = events.loc[need, s.COUNTRY].notna().to_numpy()
    events.loc[need, s.COUNTRY] = np.where(known_country, events.loc[need, s.COUNTRY],
                                           hit[s.COUNTRY].to_numpy(object))
    located = hit[s.LAT].notna().to_numpy() | hit[s.COUNTRY].notna().to_numpy()
    source = MMDB if db_path else GEOIP2FAST
    events.loc[events.index[rows[located]], s.GEO_SOURCE] = source
    return events
