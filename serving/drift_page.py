"""The drift page of a nightly run: one self-contained HTML file (inline SVG, no script, opens
offline) with the warnings, the PSI and missing-share change of each feature, and the score
distribution of tonight beside the previous run's.

Plain SVG rather than a plotting library: the page is written at the end of every nightly run,
and importing one (Bokeh: over 2 s) cost more than the rest of the drift check.
"""

from __future__ import annotations

import html
from pathlib import Path

import numpy as np

from persona_risk.models.profile import SCORE_EDGES, Profile

AGAINST = {"against_reference": ("training reference", "#1f77b4"),
           "against_previous": ("previous run", "#ff7f0e")}
TONIGHT, PREVIOUS, LIMIT = "#1f77b4", "#ff7f0e", "#d62728"
WIDTH, LEFT, RIGHT = 900, 190, 170  # px: the figure, the label margin, the legend margin
ROW = 16  # px per feature


def _text(x: float, y: float, text: str, anchor: str = "start", size: int = 11) -> str:
    return (f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size}" text-anchor="{anchor}">'
            f"{html.escape(text)}</text>")


def _rect(x: float, y: float, w: float, h: float, color: str) -> str:
    return (f'<rect x="{x:.1f}" y="{y:.1f}" width="{max(w, 0):.1f}" height="{max(h, 0):.1f}" '
            f'fill="{color}"/>')


def _legend(items: list[tuple[str, str]], top: float) -> str:
    x = WIDTH - RIGHT + 15
    return "".join(_rect(x, top + 18 * i, 12, 12, color) + _text(x + 18, top + 18 * i + 10, label)
                   for i, (label, color) in enumerate(items))


def _figure(title: str, height: float, body: str) -> str:
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height:.0f}" '
            f'font-family="sans-serif">{_text(10, 18, title, size=13)}{body}</svg>')


def _per_feature(report: dict, key: str, title: str, limit: float) -> str:
    """Horizontal bars per feature, one per comparison, with the limit(s) as dashed lines."""
    names = sorted({n for a in AGAINST if report.get(a) for n in report[a]["features"]})
    parts = {a: report[a]["features"] for a in AGAINST if report.get(a)}
    lines = (limit, -limit) if key == "null_rate_change" else (limit,)
    values = [v for p in parts.values() for n in names if (v := p[n][key]) is not None]
    lo, hi = min([0.0, *values, *lines]), max([0.0, *values, *lines])
    span = (hi - lo) or 1.0
    plot = WIDTH - LEFT - RIGHT

    def x(v: float) -> float:
        return LEFT + (v - lo) / span * plot

    top, body = 30, []
    for i, name in enumerate(names):
        y = top + ROW * i
        body.append(_text(LEFT - 6, y + ROW * 0.7, name, "end"))
        for k, (against, feats) in enumerate(parts.items()):
            v = feats[name][key] or 0.0
            body.append(_rect(min(x(0), x(v)), y + 2 + k * 6, abs(x(v) - x(0)), 6,
                              AGAINST[against][1]))
    bottom = top + ROW * len(names)
    body += [f'<line x1="{x(v):.1f}" y1="{top}" x2="{x(v):.1f}" y2="{bottom}" stroke="{LIMIT}" '
             'stroke-dasharray="5,4"/>' for v in lines]
    body.append(f'<line x1="{x(0):.1f}" y1="{top}" x2="{x(0):.1f}" y2="{bottom}" '
                'stroke="#444"/>')
    body += [_text(x(v), bottom + 14, f"{v:.3g}", "middle") for v in np.linspace(lo, hi, 5)]
    body.append(_legend([(AGAINST[a][0], AGAINST[a][1]) for a in parts], top))
    return _figure(title, bottom + 30, "".join(body))


def _scores(current: Profile, previous: Profile | None) -> str:
    """Share of accounts per score bin of 0.1, tonight beside the previous run."""
    edges = np.concatenate([[0.0], SCORE_EDGES, [1.0]])
    top, height, plot = 45, 230, WIDTH - LEFT - RIGHT
    shown = [(p, label, color, shift) for p, label, color, shift in (
        (previous, "previous run", PREVIOUS, 0.0), (current, "tonight", TONIGHT, 0.05))
        if p is not None and sum(p.scores) > 0]
    shares = [np.asarray(p.scores, float) / sum(p.scores) for p, *_ in shown]
    peak = max([1e-9, *[share.max() for share in shares]])
    body = []
    for (_, _, color, shift), share in zip(shown, shares, strict=True):
        for left, value in zip(edges[:-1], share, strict=True):
            h = value / peak * height
            body.append(_rect(LEFT + (left + 0.0025 + shift) * plot, top + height - h,
                              0.045 * plot, h, color))
    bottom = top + height
    body.append(f'<line x1="{LEFT}" y1="{bottom}" x2="{LEFT + plot}" y2="{bottom}" '
                'stroke="#444"/>')
    body += [_text(LEFT + e * plot, bottom + 14, f"{e:.1f}", "middle") for e in edges]
    body += [_text(LEFT - 6, bottom - f * height + 4, f"{f * peak:.2f}", "end")
             for f in (0.0, 0.5, 1.0)]
    body += [_text(LEFT + plot / 2, bottom + 32, "score", "middle"),
             _text(LEFT - 6, top - 12, "share of accounts", "end"),
             _legend([(label, color) for _, label, color, _ in shown], top)]
    return _figure("scores: share of accounts per bin of 0.1", bottom + 45, "".join(body))


def write_drift_page(report: dict, current: Profile, previous: Profile | None,
                     path: Path) -> Path:
    """Write the drift page of `report` (see serving.drift.compare) to `path`."""
    limits = report["limits"]
    warnings = "".join(f"<li>{html.escape(w)}</li>" for w in report["warnings"])
    parts = [f"<h1>Drift of the nightly run ({report['accounts']:,} accounts)</h1>",
             f"<h2>Warnings</h2><ul id='warnings'>{warnings}</ul>" if warnings
             else f"<p id='warnings'>{html.escape(report.get('not_compared', 'No limit passed.'))}"
                  "</p>", _scores(current, previous)]
    if report.get("against_reference") or report.get("against_previous"):
        parts += [_per_feature(report, "psi", f"PSI per feature (limit {limits['feature_psi']})",
                               limits["feature_psi"]),
                  _per_feature(report, "null_rate_change", "change of the share of accounts "
                               f"missing each feature (limit {limits['null_rate_change']:.0%})",
                               limits["null_rate_change"])]
    body = "\n".join(f"<div>{part}</div>" for part in parts)
    path.write_text("<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"
                    "<title>persona-risk: nightly drift</title></head>"
                    f"<body style='font-family: sans-serif; width: {WIDTH}px'>\n{body}\n"
                    "</body></html>\n")
    return path
