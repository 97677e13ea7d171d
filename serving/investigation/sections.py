"""The HTML sections of an investigation page: the record, the band, the reasons, the
allow-list, the sign-in table, the cluster (graph and table) and the decisions; all text from
the data is escaped."""

from __future__ import annotations

import html
import re

import networkx as nx
import numpy as np
import pandas as pd

from persona_risk.features import schema as s
from persona_risk.features.travel import HOP_SPEED_KMH
from persona_risk.serving.investigation import BLUE, GREY, RED
from persona_risk.serving.investigation.case import Investigation
from persona_risk.serving.investigation.geo import city_names

MAX_ROWS = 2000  # sign-ins listed in the table; the map and the JSON count them all
MAX_CLUSTER = 40  # accounts drawn in the cluster graph


def page_folder(account_id: str) -> str:
    """A folder name for an account: its id when safe in a path, else a safe form of it."""
    safe = re.sub(r"[^A-Za-z0-9._-]", "_", account_id)
    return safe if safe == account_id and not safe.startswith(".") else f"id-{safe}"


def _href(account_id: str) -> str:
    return html.escape(f"../{page_folder(account_id)}/report.html")


def cluster_svg(inv: Investigation, pages: set[str], size: int = 520) -> str:
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


def sortable_table(rows: list[list], head: list[str], table_id: str) -> str:
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


def cell_text(value) -> str:
    """A value as escaped HTML text; missing values as nothing."""
    return "" if value is None or (not isinstance(value, str) and pd.isna(value)) else html.escape(
        str(value))


def sign_in_table(inv: Investigation) -> str:
    ev = inv.sign_ins.tail(MAX_ROWS)
    cities = city_names(ev[s.LAT].to_numpy(), ev[s.LON].to_numpy())
    rows = []
    for (_, e), city in zip(ev.iterrows(), cities, strict=True):
        speed = e[HOP_SPEED_KMH]
        fast = not pd.isna(speed) and speed > 0
        rows.append([(e[s.TS].strftime("%Y-%m-%d %H:%M:%S"), e[s.TS].value), cell_text(e[s.IP]),
                     cell_text(e[s.COUNTRY]), cell_text(city), cell_text(e[s.DEVICE_ID]),
                     cell_text(e[s.USER_AGENT]), "yes" if e[s.SUCCESS] else "no",
                     (f"{speed:,.0f}" if fast else "", speed if fast else -1),
                     cell_text(e["allowed"])])
    note = (f"<p>the last {MAX_ROWS:,} of {len(inv.sign_ins):,} sign-ins</p>"
            if len(inv.sign_ins) > MAX_ROWS else "")
    return note + sortable_table(rows, ["time (UTC)", "IP", "country", "city", "device",
                                        "user agent", "success", "hop km/h", "allowed"],
                                 "sign-ins")


def allowed_html(inv: Investigation) -> str:
    if not inv.allowed:
        return "<p id='allowed'>None of its sign-ins is on allowed infrastructure.</p>"
    items = "".join(
        f"<li>{cell_text(a['kind'])} <b>{cell_text(a['value'])}</b> ({cell_text(a['reason'])}): "
        f"{a['sign_ins']:,} sign-ins, {cell_text(a['effect'])}</li>" for a in inv.allowed)
    return f"<ul id='allowed'>{items}</ul><p>Allowed in the settings file ([[allow]]).</p>"


def band_html(inv: Investigation) -> str:
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


def reasons_html(inv: Investigation) -> str:
    if not inv.summary["reasons"]:
        return "<p>Nothing raises this score above the model's baseline.</p>"
    items = "".join(
        f"<li><b>{html.escape(r['code'])}</b>: {html.escape(r['text'])}"
        f"{': ' + html.escape(r['why']) if r['why'] else ''} "
        f"<span class='contrib'>(+{r['contribution']:.2f} log-odds)</span></li>"
        for r in inv.summary["reasons"])
    return f"<ol id='reasons'>{items}</ol>"


def record_html(inv: Investigation) -> str:
    if not inv.record:
        return "<p>No account record: built from sign-ins only.</p>"
    return "<table id='record'>" + "".join(
        f"<tr><th>{html.escape(k)}</th><td>{cell_text(v)}</td></tr>"
        for k, v in inv.record.items()) + "</table>"


def decisions_html(decisions: pd.DataFrame | None) -> str:
    if decisions is None or decisions.empty:
        return "<p id='decision'>No decision yet.</p>"
    last = decisions.iloc[-1]
    rows = "".join(f"<tr><td>{cell_text(d.decided_at)}</td><td>{cell_text(d.decision)}</td>"
                   f"<td>{cell_text(d.analyst)}</td><td>{cell_text(d.note)}</td></tr>"
                   for d in decisions.itertuples())
    return (f"<p id='decision'>Decided <b>{cell_text(last.decision)}</b> by "
            f"{cell_text(last.analyst)} at {cell_text(last.decided_at)}</p>"
            "<table><tr><th>when (UTC)</th><th>decision</th>"
            f"<th>who</th><th>why</th></tr>{rows}</table>")


def cluster_table(inv: Investigation, pages: set[str]) -> str:
    def name(a: str) -> str:
        return f'<a href="{_href(a)}">{html.escape(a)}</a>' if a in pages else html.escape(a)

    rows = [[(name(c["account_id"]), c["account_id"]),
             (f"{c['score']:.3f}", c["score"]), html.escape(c["band"])] for c in inv.cluster]
    keys = "".join(f"<li>{html.escape(link['kind'])} <code>{html.escape(link['key'])}</code> "
                   f"with {len(link['accounts'])} other account(s)</li>" for link in inv.links)
    return (f"<ul id='shared-keys'>{keys}</ul>" if keys else "") + (
        sortable_table(rows, ["account", "score", "band"], "cluster") if rows else "")

