"""Alerts for a SIEM: the high band of a scores table as JSON lines with ECS field names, and
an optional webhook POST of them with retries.

Each alert carries `@timestamp` (the scores' as-of time), `event.*` (kind alert, category iam),
`user.id`, `rule.*`, `risk.calculated_score` (0-1), `risk.calculated_score_norm` (0-100),
`risk.calculated_level`, a one-line `message`, and our own `persona_risk.reasons` (code,
sentence, and value and log-odds contribution when the table has them).
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pandas as pd

from persona_risk.features import schema as s
from persona_risk.features.validate import SchemaError
from persona_risk.models.reasons import REASON_SLOTS
from persona_risk.serving.decisions import latest_decisions

RETRY_STATUS = {429, 500, 502, 503, 504}
RULE = "persona-risk high band"


def _num(row: pd.Series, col: str) -> float | None:
    value = row.get(col)
    return None if value is None or pd.isna(value) else float(value)


def alerts(scores: pd.DataFrame, band: str = "high",
           decisions: pd.DataFrame | None = None) -> Iterator[dict]:
    """One ECS-style alert per account of `band`, riskiest first. With the analysts'
    `decisions` (see serving.decisions), each alert carries the account's latest decision, and
    accounts last decided legit are left out: an analyst already cleared them."""
    for column in (s.ACCOUNT_ID, "score", "band"):
        if column not in scores.columns:
            raise SchemaError("scores", column, "required column is missing (give the output "
                              "of `persona-risk score`)")
    chosen = scores[scores["band"] == band].sort_values(["score", s.ACCOUNT_ID],
                                                        ascending=[False, True])
    latest = {} if decisions is None else latest_decisions(decisions).to_dict("index")
    for _, row in chosen.iterrows():
        decided = latest.get(row[s.ACCOUNT_ID])
        if decided is not None and decided["decision"] == "legit":
            continue
        reasons = [{"code": row[slot.code], "text": row[slot.text],
                    "value": _num(row, slot.value), "contribution": _num(row, slot.shap)}
                   for slot in REASON_SLOTS
                   if slot.code in row and not pd.isna(row[slot.code])]
        score = float(row["score"])
        yield {
            "@timestamp": pd.Timestamp(row[s.AS_OF]).isoformat(),
            "event": {"kind": "alert", "category": ["iam"], "type": ["user", "info"],
                      "module": "persona-risk", "dataset": "persona_risk.scores",
                      "risk_score": round(score * 100, 2)},
            "user": {"id": row[s.ACCOUNT_ID]},
            "rule": {"name": RULE, "version": str(row.get("model_version", ""))},
            "risk": {"calculated_score": score, "calculated_score_norm": round(score * 100, 2),
                     "calculated_level": row["band"]},
            "message": f"account {row[s.ACCOUNT_ID]} scored {score:.3f} ({row['band']}): "
                       + "; ".join(r["text"] for r in reasons),
            "persona_risk": {
                "reasons": reasons, "model_version": str(row.get("model_version", "")),
                "decision": None if decided is None else {
                    "decision": decided["decision"], "analyst": decided["analyst"],
                    "note": decided["note"], "decided_at": str(decided["decided_at"])}},
        }


def write_alerts(scores: pd.DataFrame, out: Path, decisions: pd.DataFrame | None = None) -> int:
    """Write the alerts as JSON lines (atomically); returns how many."""
    lines = [json.dumps(alert, default=str) for alert in alerts(scores, decisions=decisions)]
    tmp = out.with_name("." + out.name + ".tmp")
    tmp.write_text("".join(line + "\n" for line in lines))
    tmp.replace(out)
    return len(lines)


class WebhookError(RuntimeError):
    """The webhook refused the alerts or stayed unreachable through every retry."""


def post_alerts(path: Path, url: str, token: str | None = None, attempts: int = 4,
                backoff_s: float = 0.5, timeout_s: float = 10.0) -> int:
    """POST the JSON lines file to `url` (application/x-ndjson), retrying on connection errors,
    429 and 5xx with exponential backoff (`backoff_s`, doubled each time); returns the HTTP
    status. A 4xx other than 429 is not retried."""
    body = Path(path).read_bytes()
    headers = {"Content-Type": "application/x-ndjson"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    last = ""
    for attempt in range(attempts):
        if attempt:
            time.sleep(backoff_s * 2 ** (attempt - 1))
        request = urllib.request.Request(url, data=body, headers=headers, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=timeout_s) as response:
                return response.status
        except urllib.error.HTTPError as err:
            last = f"HTTP {err.code}"
            if err.code not in RETRY_STATUS:
                raise WebhookError(f"webhook {url} refused the alerts: {last}") from err
        except (urllib.error.URLError, TimeoutError, ConnectionError) as err:
            last = str(getattr(err, "reason", err))
    raise WebhookError(f"webhook {url} failed {attempts} times; last: {last}")
