"""The drift page of a nightly run: one self-contained HTML file (BokehJS inlined, offline)
with the warnings, the PSI and missing-share change of each feature, and the score distribution
of tonight beside the previous run's."""

from __future__ import annotations

import html
from pathlib import Path

import numpy as np
from bokeh.embed import file_html
from bokeh.layouts import column
from bokeh.models import ColumnDataSource, Div, Span
from bokeh.plotting import figure
from bokeh.resources import INLINE
from bokeh.transform import dodge

from persona_risk.models.profile import SCORE_EDGES, Profile

AGAINST = {"against_reference": ("training reference", "#1f77b4"),
           "against_previous": ("previous run", "#ff7f0e")}


def _per_feature(report: dict, key: str, title: str, limit: float):
    names = sorted({n for a in AGAINST if report.get(a) for n in report[a]["features"]})
    fig = figure(y_range=names[::-1], width=900, height=16 * len(names) + 80, title=title,
                 tools="save", toolbar_location="right")
    for offset, (against, (label, color)) in zip((-0.2, 0.2), AGAINST.items(), strict=True):
        part = report.get(against)
        if not part:
            continue
        values = [part["features"][n][key] for n in names]
        source = ColumnDataSource({"name": names,
                                   "value": [0 if v is None else v for v in values]})
        fig.hbar(y=dodge("name", offset, range=fig.y_range), right="value", source=source,
                 height=0.35, color=color, alpha=0.8, legend_label=label)
    for x in (limit, -limit) if key == "null_rate_change" else (limit,):
        fig.add_layout(Span(location=x, dimension="height", line_color="#d62728",
                            line_dash="dashed"))
    fig.add_layout(fig.legend[0], "right")
    return fig


def _scores(current: Profile, previous: Profile | None):
    edges = np.concatenate([[0.0], SCORE_EDGES, [1.0]])
    fig = figure(width=900, height=300, title="scores: share of accounts per bin of 0.1",
                 x_axis_label="score", y_axis_label="share of accounts", tools="save")
    for profile, label, color, shift in ((previous, "previous run", "#ff7f0e", 0.0),
                                         (current, "tonight", "#1f77b4", 0.05)):
        if profile is None or sum(profile.scores) == 0:
            continue
        share = np.asarray(profile.scores, float) / sum(profile.scores)
        fig.vbar(x=edges[:-1] + 0.025 + shift, top=share, width=0.045, color=color,
                 legend_label=label)
    return fig


def write_drift_page(report: dict, current: Profile, previous: Profile | None,
                     path: Path) -> Path:
    """Write the drift page of `report` (see serving.drift.compare) to `path`."""
    limits = report["limits"]
    warnings = "".join(f"<li>{html.escape(w)}</li>" for w in report["warnings"])
    head = Div(text=f"<h1>Drift of the nightly run ({report['accounts']:,} accounts)</h1>"
               + (f"<h2>Warnings</h2><ul id='warnings'>{warnings}</ul>" if warnings
                  else "<p id='warnings'>No limit passed.</p>"), width=900)
    parts = [head, _scores(current, previous)]
    if report.get("against_reference") or report.get("against_previous"):
        parts += [_per_feature(report, "psi", f"PSI per feature (limit {limits['feature_psi']})",
                               limits["feature_psi"]),
                  _per_feature(report, "null_rate_change", "change of the share of accounts "
                               f"missing each feature (limit {limits['null_rate_change']:.0%})",
                               limits["null_rate_change"])]
    path.write_text(file_html(column(*parts), INLINE, "persona-risk: nightly drift"))
    return path
