"""Investigation pages: one offline folder of HTML pages, one per account, and their index.

Layout: `index.html`, `assets/` (BokehJS, copied from the installed bokeh package, so no CDN),
and `<account>/report.html` with `report.json`, `clock.png` and `waterfall.png`. A page shows
the account record, the score with its band explained, the reasons that raise it and why, a
zoomable map (`sign_in_map`), a sortable sign-in table, the activity clock (`plots`), the
cluster as a graph of accounts and the keys that tie them (each account linking to its own
page), the SHAP waterfall and the analysts' decisions (`sections`).
"""

from __future__ import annotations

import html
import json
import shutil
from pathlib import Path

import pandas as pd
from bokeh.embed import components
from bokeh.util.paths import bokehjs_path

from persona_risk.features import schema as s
from persona_risk.features.config import FeatureConfig
from persona_risk.serving.decisions import latest_decisions
from persona_risk.serving.investigation.case import Investigation, Population, investigate
from persona_risk.serving.investigation.plots import write_clock, write_waterfall
from persona_risk.serving.investigation.sections import (
    allowed_html,
    band_html,
    cluster_svg,
    cluster_table,
    decisions_html,
    page_folder,
    reasons_html,
    record_html,
    sign_in_table,
    sortable_table,
)
from persona_risk.serving.investigation.sign_in_map import sign_in_map

PNGS = ("clock.png", "waterfall.png")
BOKEH_JS = "bokeh.min.js"


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
    script, div = components(sign_in_map(inv, impossible_kmh))
    sm = inv.summary
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>persona-risk: {html.escape(inv.account_id)}
</title><style>{STYLE}</style><script src="../assets/{BOKEH_JS}"></script>{script}</head>
<body>
<p><a href="../index.html">all accounts</a></p>
<h1>Account {html.escape(inv.account_id)}</h1>
<p id="score">Score <b>{sm['score']:.3f}</b>, band <b class="band-{sm['band']}">{sm['band']}</b>,
as of {html.escape(sm['as_of'])}</p>
<h2>Decision</h2>{decisions_html(decisions)}
<h2>Account record</h2>{record_html(inv)}
<h2>What the band means</h2>{band_html(inv)}
<h2>Why: what raises the score</h2>{reasons_html(inv)}
<h2>Allowed infrastructure</h2>{allowed_html(inv)}
<h2>Where: sign-ins on the map</h2><div id="map">{div}</div>
<h2>Sign-ins ({len(inv.sign_ins):,}; click a column to sort)</h2>
<div id="sign-ins-wrap">{sign_in_table(inv)}</div>
<h2>When</h2><img src="clock.png" alt="activity clock">
<h2>Its cluster: accounts tied by shared keys</h2>
{cluster_svg(inv, pages)}{cluster_table(inv, pages)}
<h2>How the score adds up (SHAP, log-odds)</h2><img src="waterfall.png" alt="SHAP waterfall">
<script>{SCRIPT}</script>
</body></html>
"""


def write_page(inv: Investigation, folder: Path, cfg: FeatureConfig,
               decisions: pd.DataFrame | None = None, pages: frozenset[str] = frozenset()
               ) -> Path:
    """Write `folder/report.html`, `report.json` and the PNGs of one account; accounts in
    `pages` get a link to their page. `cfg`: the features' settings (the model's), whose
    impossible speed and night window the page shows."""
    folder.mkdir(parents=True, exist_ok=True)
    write_clock(inv, folder / PNGS[0], cfg)
    write_waterfall(inv, folder / PNGS[1])
    (folder / "report.html").write_text(_page(inv, cfg.impossible_kmh, decisions, set(pages)))
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
{sortable_table(rows, ["account", "score", "band", "top reasons", "linked accounts", "decision"],
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
        write_page(inv, out / page_folder(account_id), pop.cfg, mine, pages)
    decided = {} if decisions is None else latest_decisions(decisions)["decision"]
    (out / "index.html").write_text(_index(list(invs.values()), dict(decided)))
    return out / "index.html"
