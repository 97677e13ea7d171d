"""Investigation pages: one offline folder of HTML pages, one per account, and their index.

Layout: `index.html`, `assets/` (BokehJS, copied from the installed bokeh package, so no CDN),
and `<account>/report.html` with `report.json`, `clock.png` and `waterfall.png`. A page shows
the account record, the score with its band explained, the reasons that raise it and why, a
zoomable map (land outlines, sign-in places labelled by city and country, hops, impossible ones
in red), a sortable sign-in table, the activity clock, the cluster as a graph of accounts and
the keys that tie them (each account linking to its own page), the SHAP waterfall and the
analysts' decisions.
"""

from __future__ import annotations

import html
import json
import re
import shutil
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import networkx as nx  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import shap  # noqa: E402
from bokeh.embed import components  # noqa: E402
from bokeh.models import ColumnDataSource, HoverTool, LabelSet  # noqa: E402
from bokeh.plotting import figure  # noqa: E402
from bokeh.util.paths import bokehjs_path  # noqa: E402

from persona_risk.features import schema as s  # noqa: E402
from persona_risk.features.arrays import Keys, timestamps_ns  # noqa: E402
from persona_risk.features.geo import HOURS_PER_DAY, NS_PER_DAY, NS_PER_HOUR, utc_offset_hours  # noqa: E402
from persona_risk.features.travel import HOP_SPEED_KMH  # noqa: E402
from persona_risk.models.explanation import explanation, save_current_figure  # noqa: E402
from persona_risk.serving.decisions import latest_decisions  # noqa: E402
from persona_risk.serving.investigation.case import Investigation, Population, investigate  # noqa: E402
from persona_risk.serving.investigation.geo import city_names, land_outlines  # noqa: E402

PNGS = ("clock.png", "waterfall.png")
BOKEH_JS = "bokeh.min.js"
RED, BLUE, GREY = "#d62728", "#1f77b4", "#999999"
MAX_ROWS = 2000  # sign-ins listed in the table; the map and the JSON count them all
MAX_CLUSTER = 40  # accounts drawn in the cluster graph


def page_folder(account_id: str) -> str:
    """A folder name for an account: its id when safe in a path, else a safe form of it."""
    safe = re.sub(r"[^A-Za-z0-9._-]", "_", account_id)
    return safe if safe == account_id and not safe.startswith(".") else f"id-{safe}"


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


def _map(inv: Investigation, impossible_kmh: float):
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


def _local_hours(events: pd.DataFrame, zones: pd.Series) -> np.ndarray:
    keys = Keys.of(zones)
    ts = timestamps_ns(events[s.TS])
    offset = utc_offset_hours(keys.codes, keys.values, ts)
    return np.mod((ts % NS_PER_DAY) / NS_PER_HOUR + offset, HOURS_PER_DAY)


def _clock(inv: Investigation, path: Path) -> None:
    claimed = inv.record.get(s.CLAIMED_TIMEZONE)
    fig, axes = plt.subplots(1, 2, subplot_kw={"projection": "polar"}, figsize=(9, 4.8))
    ev = inv.sign_ins
    series = {f"in the claimed zone ({claimed or 'unknown'})":
              _local_hours(ev, pd.Series([claimed] * len(ev), dtype=object)),
              "in the device's own zone": _local_hours(ev, ev[s.DEVICE_TZ])}
    night = (np.arange(24) >= 22) | (np.arange(24) < 6)
    for ax, (title, hours) in zip(axes, series.items(), strict=True):
        hours = hours[~np.isnan(hours)]
        counts = np.bincount(hours.astype(int) % 24, minlength=24)
        theta = (np.arange(24) + 0.5) / 24 * 2 * np.pi
        ax.bar(theta, counts, width=2 * np.pi / 24, color=np.where(night, RED, BLUE))
        ax.set_theta_zero_location("N")
        ax.set_theta_direction(-1)
        ax.set_xticks(np.arange(0, 24, 3) / 24 * 2 * np.pi, [f"{h}:00" for h in range(0, 24, 3)])
        ax.tick_params(axis="y", labelsize=7)
        ax.set_title(f"events per hour of day,\n{title}", fontsize=9)
    fig.legend(handles=[plt.Rectangle((0, 0), 1, 1, color=BLUE),
                        plt.Rectangle((0, 0), 1, 1, color=RED)],
               labels=["06:00-22:00", "night, 22:00-06:00"], loc="lower center", ncol=2,
               fontsize=8, title="bar length: events in that hour (rings: scale)",
               title_fontsize=8)
    fig.subplots_adjust(left=0.05, right=0.95, top=0.82, bottom=0.2, wspace=0.35)
    fig.savefig(path, dpi=100)
    plt.close(fig)


def _waterfall(inv: Investigation, path: Path) -> None:
    shap.plots.waterfall(explanation(inv.contributions, inv.x, inv.feature_names),
                         max_display=10, show=False)
    b = inv.band
    plt.gcf().suptitle(f"log-odds f(x) = {b['log_odds']:.2f}  ->  calibrated score "
                       f"{inv.summary['score']:.3f}", fontsize=10)
    save_current_figure(path, (8, 5.4))


def _href(account_id: str) -> str:
    return html.escape(f"../{page_folder(account_id)}/report.html")


def _cluster_svg(inv: Investigation, pages: set[str], size: int = 520) -> str:
    """The account, the accounts tied to it and the keys that tie them, as an SVG graph whose
    account nodes link to their pages."""
    if not inv.links:
        return "<p>No device, IP, payout or phone id shared with another account.</p>"
    shown = {c["account_id"]: c for c in inv.cluster[:MAX_CLUSTER]}
    graph = nx.Graph()
    graph.add_node(inv.account_id)
    for link in inv.links:
        key = f"{link['kind']}:{link['key']}"
        for other in link["accounts"]:
            if other in shown:
                graph.add_edge(inv.account_id, key)
                graph.add_edge(key, other)
    pos = np.array(list(nx.spring_layout(graph, seed=0).values()))
    span = np.maximum(pos.max(axis=0) - pos.min(axis=0), 1e-9)
    scaled = 20 + (pos - pos.min(axis=0)) / span * (size - 40)  # fill the box, 20 px margin
    xy = dict(zip(graph.nodes, map(tuple, scaled), strict=True))
    parts = [f'<line x1="{xy[a][0]:.0f}" y1="{xy[a][1]:.0f}" x2="{xy[b][0]:.0f}" '
             f'y2="{xy[b][1]:.0f}" stroke="#bbb"/>' for a, b in graph.edges]
    for node, (x, y) in xy.items():
        text = html.escape(node)
        if node == inv.account_id:
            parts.append(f'<circle cx="{x:.0f}" cy="{y:.0f}" r="9" fill="#000"/>'
                         f'<text x="{x + 11:.0f}" y="{y + 4:.0f}" font-weight="bold">{text}'
                         "</text>")
        elif node in shown:
            c = shown[node]
            color = {"high": RED, "medium": "#ff7f0e"}.get(c["band"], BLUE)
            node_svg = (f'<circle cx="{x:.0f}" cy="{y:.0f}" r="7" fill="{color}"/>'
                        f'<text x="{x + 9:.0f}" y="{y + 4:.0f}">{text} ({c["score"]:.2f})'
                        "</text>")
            parts.append(f'<a class="account-node" href="{_href(node)}" data-account="{text}">'
                         f"{node_svg}</a>" if node in pages else node_svg)
        else:
            kind, _, key = node.partition(":")
            parts.append(f'<rect x="{x - 4:.0f}" y="{y - 4:.0f}" width="8" height="8" '
                         f'fill="{GREY}"/><text x="{x + 7:.0f}" y="{y + 4:.0f}" fill="#555" '
                         f'font-size="10">{html.escape(kind)} {html.escape(key[:18])}</text>')
    more = len(inv.cluster) - len(shown)
    note = f"<p>and {more} more accounts, listed below</p>" if more > 0 else ""
    return (f'<svg id="cluster-graph" width="{size + 220}" height="{size}" font-size="11" '
            f'font-family="sans-serif">{"".join(parts)}</svg>{note}')


def _rows(rows: list[list], head: list[str], table_id: str) -> str:
    """A table whose cells are (text, sort value) pairs or plain values."""
    th = "".join(f'<th data-col="{i}">{html.escape(h)}</th>' for i, h in enumerate(head))
    body = []
    for row in rows:
        cells = []
        for cell in row:
            text, key = cell if isinstance(cell, tuple) else (cell, cell)
            cells.append(f'<td data-sort="{html.escape(str(key))}">{text}</td>')
        body.append("<tr>" + "".join(cells) + "</tr>")
    return (f'<table id="{table_id}" class="sortable"><thead><tr>{th}</tr></thead>'
            f'<tbody>{"".join(body)}</tbody></table>')


def _text(value) -> str:
    return "" if value is None or (not isinstance(value, str) and pd.isna(value)) else html.escape(
        str(value))


def _sign_in_table(inv: Investigation) -> str:
    ev = inv.sign_ins.tail(MAX_ROWS)
    cities = city_names(ev[s.LAT].to_numpy(), ev[s.LON].to_numpy())
    rows = []
    for (_, e), city in zip(ev.iterrows(), cities, strict=True):
        speed = e[HOP_SPEED_KMH]
        fast = not pd.isna(speed) and speed > 0
        rows.append([(e[s.TS].strftime("%Y-%m-%d %H:%M:%S"), e[s.TS].value), _text(e[s.IP]),
                     _text(e[s.COUNTRY]), _text(city), _text(e[s.DEVICE_ID]),
                     _text(e[s.USER_AGENT]), "yes" if e[s.SUCCESS] else "no",
                     (f"{speed:,.0f}" if fast else "", speed if fast else -1),
                     _text(e["allowed"])])
    note = (f"<p>the last {MAX_ROWS:,} of {len(inv.sign_ins):,} sign-ins</p>"
            if len(inv.sign_ins) > MAX_ROWS else "")
    return note + _rows(rows, ["time (UTC)", "IP", "country", "city", "device", "user agent",
                               "success", "hop km/h", "allowed"], "sign-ins")


def _allowed_html(inv: Investigation) -> str:
    if not inv.allowed:
        return "<p id='allowed'>None of its sign-ins is on allowed infrastructure.</p>"
    items = "".join(
        f"<li>{_text(a['kind'])} <b>{_text(a['value'])}</b> ({_text(a['reason'])}): "
        f"{a['sign_ins']:,} sign-ins, {_text(a['effect'])}</li>" for a in inv.allowed)
    return f"<ul id='allowed'>{items}</ul><p>Allowed in the settings file ([[allow]]).</p>"


def _band_html(inv: Investigation) -> str:
    b, score = inv.band, inv.summary["score"]
    fpr = (f"chosen on validation accounts (created after {html.escape(str(b['validation_cut']))}"
           f") to keep the false-positive rate at or below {b['target_fpr']:.1%}"
           if b.get("target_fpr") is not None else "chosen on validation accounts")
    return (f"<ul id='band'><li>high band from score {b['thresholds']['high']:.3f}, medium "
            f"from {b['thresholds']['medium']:.3f}: thresholds {fpr}</li>"
            f"<li>model version {html.escape(str(b['model_version']))}</li>"
            f"<li>base rate: of the {b['accounts_scored']:,} accounts scored, "
            f"{b['expected_fraud_share']:.2%} are expected fraudulent (mean calibrated score); "
            f"{b['high_band_share']:.2%} are in the high band</li>"
            f"<li>this score: log-odds {b['log_odds']:.2f} (sum of the SHAP waterfall), "
            f"calibrated 1 / (1 + e<sup>-({b['platt_a']:.3f} &times; {b['log_odds']:.2f} "
            f"{b['platt_b']:+.3f})</sup>) = <b>{score:.3f}</b></li></ul>")


def _reasons_html(inv: Investigation) -> str:
    if not inv.summary["reasons"]:
        return "<p>Nothing raises this score above the model's baseline.</p>"
    items = "".join(
        f"<li><b>{html.escape(r['code'])}</b>: {html.escape(r['text'])}"
        f"{': ' + html.escape(r['why']) if r['why'] else ''} "
        f"<span class='contrib'>(+{r['contribution']:.2f} log-odds)</span></li>"
        for r in inv.summary["reasons"])
    return f"<ol id='reasons'>{items}</ol>"


def _record_html(inv: Investigation) -> str:
    if not inv.record:
        return "<p>No account record: built from sign-ins only.</p>"
    return "<table id='record'>" + "".join(
        f"<tr><th>{html.escape(k)}</th><td>{_text(v)}</td></tr>"
        for k, v in inv.record.items()) + "</table>"


def _decisions_html(decisions: pd.DataFrame | None) -> str:
    if decisions is None or decisions.empty:
        return "<p id='decision'>No decision yet.</p>"
    last = decisions.iloc[-1]
    rows = "".join(f"<tr><td>{_text(d.decided_at)}</td><td>{_text(d.decision)}</td>"
                   f"<td>{_text(d.analyst)}</td><td>{_text(d.note)}</td></tr>"
                   for d in decisions.itertuples())
    return (f"<p id='decision'>Decided <b>{_text(last.decision)}</b> by {_text(last.analyst)} "
            f"at {_text(last.decided_at)}</p><table><tr><th>when (UTC)</th><th>decision</th>"
            f"<th>who</th><th>why</th></tr>{rows}</table>")


def _cluster_table(inv: Investigation, pages: set[str]) -> str:
    def name(a: str) -> str:
        return f'<a href="{_href(a)}">{html.escape(a)}</a>' if a in pages else html.escape(a)

    rows = [[(name(c["account_id"]), c["account_id"]),
             (f"{c['score']:.3f}", c["score"]), html.escape(c["band"])] for c in inv.cluster]
    keys = "".join(f"<li>{html.escape(link['kind'])} <code>{html.escape(link['key'])}</code> "
                   f"with {len(link['accounts'])} other account(s)</li>" for link in inv.links)
    return (f"<ul id='shared-keys'>{keys}</ul>" if keys else "") + (
        _rows(rows, ["account", "score", "band"], "cluster") if rows else "")


SCRIPT = """
document.querySelectorAll("table.sortable th").forEach(function (th) {
  th.addEventListener("click", function () {
    var table = th.closest("table"), body = table.tBodies[0], col = +th.dataset.col;
    var up = th.dataset.dir !== "asc";
    table.querySelectorAll("th").forEach(function (h) { delete h.dataset.dir; });
    th.dataset.dir = up ? "asc" : "desc";
    var key = function (row) {
      var v = row.cells[col].dataset.sort, n = Number(v);
      return v !== "" && !isNaN(n) ? n : v.toLowerCase();
    };
    Array.from(body.rows).sort(function (a, b) {
      var x = key(a), y = key(b);
      return (x < y ? -1 : x > y ? 1 : 0) * (up ? 1 : -1);
    }).forEach(function (row) { body.appendChild(row); });
  });
});
window.addEventListener("load", function () {
  var imgs = Array.from(document.images);
  var ok = imgs.filter(function (i) { return i.complete && i.naturalWidth > 0; }).length;
  document.body.setAttribute("data-images-loaded", ok + "/" + imgs.length);
});
"""

STYLE = """body{font-family:sans-serif;margin:2em;max-width:1100px}
table{border-collapse:collapse;font-size:13px}td,th{border:1px solid #ccc;padding:3px 8px;
text-align:left}th[data-col]{cursor:pointer;background:#f4f4f4}th[data-dir=asc]::after{
content:" \\25B2"}th[data-dir=desc]::after{content:" \\25BC"}.band-high{color:#b00}
.band-medium{color:#b60}.band-low{color:#070}img{max-width:100%}.contrib{color:#777}
#sign-ins-wrap{max-height:420px;overflow:auto}"""


def _page(inv: Investigation, impossible_kmh: float, decisions: pd.DataFrame | None,
          pages: set[str]) -> str:
    script, div = components(_map(inv, impossible_kmh))
    sm = inv.summary
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>persona-risk: {html.escape(inv.account_id)}
</title><style>{STYLE}</style><script src="../assets/{BOKEH_JS}"></script>{script}</head>
<body>
<p><a href="../index.html">all accounts</a></p>
<h1>Account {html.escape(inv.account_id)}</h1>
<p id="score">Score <b>{sm['score']:.3f}</b>, band <b class="band-{sm['band']}">{sm['band']}</b>,
as of {html.escape(sm['as_of'])}</p>
<h2>Decision</h2>{_decisions_html(decisions)}
<h2>Account record</h2>{_record_html(inv)}
<h2>What the band means</h2>{_band_html(inv)}
<h2>Why: what raises the score</h2>{_reasons_html(inv)}
<h2>Allowed infrastructure</h2>{_allowed_html(inv)}
<h2>Where: sign-ins on the map</h2><div id="map">{div}</div>
<h2>Sign-ins ({len(inv.sign_ins):,}; click a column to sort)</h2>
<div id="sign-ins-wrap">{_sign_in_table(inv)}</div>
<h2>When</h2><img src="clock.png" alt="activity clock">
<h2>Its cluster: accounts tied by shared keys</h2>
{_cluster_svg(inv, pages)}{_cluster_table(inv, pages)}
<h2>How the score adds up (SHAP, log-odds)</h2><img src="waterfall.png" alt="SHAP waterfall">
<script>{SCRIPT}</script>
</body></html>
"""


def write_page(inv: Investigation, folder: Path, impossible_kmh: float,
               decisions: pd.DataFrame | None = None, pages: frozenset[str] = frozenset()
               ) -> Path:
    """Write `folder/report.html`, `report.json` and the PNGs of one account; accounts in
    `pages` get a link to their page."""
    folder.mkdir(parents=True, exist_ok=True)
    _clock(inv, folder / PNGS[0])
    _waterfall(inv, folder / PNGS[1])
    (folder / "report.html").write_text(_page(inv, impossible_kmh, decisions, set(pages)))
    content = {**inv.summary, "record": inv.record, "band_context": inv.band, "links": inv.links,
               "cluster": inv.cluster, "sign_ins": len(inv.sign_ins), "images": list(PNGS),
               "allowed": inv.allowed,
               "decisions": [] if decisions is None else decisions.to_dict("records"),
               "contributions": dict(zip(inv.feature_names, map(float, inv.contributions[:-1]),
                                         strict=True))}
    (folder / "report.json").write_text(json.dumps(content, indent=1, default=str))
    return folder / "report.html"


def _index(pages: list[Investigation], decided: dict[str, str]) -> str:
    rows = [[(f'<a href="{html.escape(page_folder(p.account_id))}/report.html">'
              f"{html.escape(p.account_id)}</a>", p.account_id),
             (f"{p.summary['score']:.3f}", p.summary["score"]), html.escape(p.summary["band"]),
             html.escape("; ".join(r["code"] for r in p.summary["reasons"][:3])),
             (str(len(p.cluster)), len(p.cluster)), html.escape(decided.get(p.account_id, ""))]
            for p in sorted(pages, key=lambda p: -p.summary["score"])]
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>persona-risk: investigations</title>
<style>{STYLE}</style></head><body><h1>Investigations ({len(pages)} accounts)</h1>
<p>Click a column to sort.</p>
{_rows(rows, ["account", "score", "band", "top reasons", "linked accounts", "decision"],
       "index")}
<script>{SCRIPT}</script></body></html>
"""


def write_pages(pop: Population, account_ids: list[str], out: Path | str,
                decisions: pd.DataFrame | None = None, linked: bool = True) -> Path:
    """Pages of `account_ids` (and, with `linked`, of the accounts in their clusters, so that
    their links lead somewhere) with `index.html` and the assets; returns the index's path.
    `decisions` is the decisions table (see serving.decisions) or None."""
    out = Path(out)
    (out / "assets").mkdir(parents=True, exist_ok=True)
    shutil.copyfile(Path(bokehjs_path()) / "js" / BOKEH_JS, out / "assets" / BOKEH_JS)
    invs = {a: investigate(pop, a) for a in dict.fromkeys(account_ids)}
    if linked:
        for inv in list(invs.values()):
            for c in inv.cluster:
                if c["account_id"] not in invs:
                    invs[c["account_id"]] = investigate(pop, c["account_id"])
    pages = frozenset(invs)
    for account_id, inv in invs.items():
        mine = None if decisions is None else decisions[decisions[s.ACCOUNT_ID] == account_id]
        write_page(inv, out / page_folder(account_id), pop.cfg.impossible_kmh, mine, pages)
    decided = {} if decisions is None else latest_decisions(decisions)["decision"]
    (out / "index.html").write_text(_index(list(invs.values()), dict(decided)))
    return out / "index.html"
