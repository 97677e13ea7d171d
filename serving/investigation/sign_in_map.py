"""The zoomable sign-in map of an investigation page (Bokeh): land outlines, the account's
sign-in places labelled by city and country, and its hops, the impossible ones in red."""

from __future__ import annotations

import numpy as np
import pandas as pd
from bokeh.models import ColumnDataSource, HoverTool, LabelSet
from bokeh.plotting import figure

from persona_risk.features import schema as s
from persona_risk.features.travel import HOP_SPEED_KMH
from persona_risk.serving.investigation import BLUE, RED
from persona_risk.serving.investigation.case import Investigation
from persona_risk.serving.investigation.geo import city_names, land_outlines


def _places(inv: Investigation) -> pd.DataFrame:
    """One row per distinct sign-in location: label, count, first and last time."""
    ev = inv.sign_ins[inv.sign_ins[s.LAT].notna() & inv.sign_ins[s.LON].notna()]
    places = (ev.groupby([s.LAT, s.LON], sort=False)
              .agg(country=(s.COUNTRY, "first"), sign_ins=(s.TS, "size"), first=(s.TS, "min"),
                   last=(s.TS, "max"), ips=(s.IP, "nunique")).reset_index())
    cities = city_names(places[s.LAT].to_numpy(), places[s.LON].to_numpy())
    places["label"] = [", ".join(str(p) for p in (c, k) if p is not None and not pd.isna(p))
                       or f"{la:.2f}, {lo:.2f}" for c, k, la, lo in
                       zip(cities, places["country"], places[s.LAT], places[s.LON], strict=True)]
    places["first"] = places["first"].dt.strftime("%Y-%m-%d %H:%M")
    places["last"] = places["last"].dt.strftime("%Y-%m-%d %H:%M")
    return places


def _hops(inv: Investigation, impossible_kmh: float) -> pd.DataFrame:
    """Hops between consecutive located sign-ins that moved, with their speed (km/h)."""
    ev = inv.sign_ins
    ev = ev[ev[s.LAT].notna() & ev[s.SUCCESS] & ev[s.INTERACTIVE] & ~ev[s.ANONYMIZER]]
    moved = ev[ev[HOP_SPEED_KMH] > 0]  # a hop's speed sits on its arrival, as in the features
    prev = ev.shift(1).loc[moved.index]
    hops = pd.DataFrame({"x0": prev[s.LON], "y0": prev[s.LAT], "x1": moved[s.LON],
                         "y1": moved[s.LAT], "kmh": moved[HOP_SPEED_KMH],
                         "when": moved[s.TS].dt.strftime("%Y-%m-%d %H:%M")}).dropna()
    hops["impossible"] = hops["kmh"] > impossible_kmh
    return hops.drop_duplicates(["x0", "y0", "x1", "y1", "impossible"])


def _frame(fig, lon: pd.Series, lat: pd.Series, pad: float = 12.0) -> None:
    """Start the map on the sign-ins, with a margin and a degree as wide as it is high."""
    aspect = fig.width / fig.height
    width = max(lon.max() - lon.min() + 2 * pad, (lat.max() - lat.min() + 2 * pad) * aspect)
    width *= 1.15  # labels run to the right of their place
    cx, cy = (lon.max() + lon.min()) / 2 + 0.05 * width, (lat.max() + lat.min()) / 2
    fig.x_range.start, fig.x_range.end = cx - width / 2, cx + width / 2
    fig.y_range.start, fig.y_range.end = cy - width / aspect / 2, cy + width / aspect / 2


def sign_in_map(inv: Investigation, impossible_kmh: float):
    """The map as a Bokeh figure; hops faster than `impossible_kmh` (km/h) drawn in red."""
    places = _places(inv)
    fig = figure(width=900, height=460, tools="pan,wheel_zoom,box_zoom,reset",
                 active_scroll="wheel_zoom", title=f"Sign-ins of {inv.account_id}: scroll to "
                 "zoom, drag to move", x_axis_label="longitude", y_axis_label="latitude")
    land = land_outlines()
    fig.patches([a[:, 0].astype(np.float32) for a in land],
                [a[:, 1].astype(np.float32) for a in land],
                fill_color="#eeeeee", line_color="#bbbbbb", line_width=0.6)
    hops = _hops(inv, impossible_kmh)
    for impossible, color, width, label in (
            (False, BLUE, 1.2, "hop"), (True, RED, 2.5, f"hop faster than {impossible_kmh:,.0f} "
                                                         "km/h: impossible")):
        part = hops[hops["impossible"] == impossible]
        if len(part):
            lines = fig.segment("x0", "y0", "x1", "y1", source=ColumnDataSource(part),
                                color=color, line_width=width, alpha=0.8, legend_label=label)
            fig.add_tools(HoverTool(renderers=[lines], tooltips=[
                ("hop", "@kmh{0,0} km/h"), ("arrived", "@when")]))
    if len(places):
        source = ColumnDataSource(places)
        dots = fig.scatter(s.LON, s.LAT, source=source, size=9, color=BLUE, line_color="white",
                           legend_label="sign-in place")
        fig.add_layout(LabelSet(x=s.LON, y=s.LAT, text="label", source=source, x_offset=6,
                                y_offset=4, text_font_size="9pt"))
        fig.add_tools(HoverTool(renderers=[dots], tooltips=[
            ("place", "@label"), ("sign-ins", "@sign_ins"), ("IPs", "@ips"),
            ("first", "@first"), ("last", "@last")]))
        _frame(fig, places[s.LON], places[s.LAT])
    fig.legend.location = "bottom_left"
    fig.legend.label_text_font_size = "8pt"
    return fig
