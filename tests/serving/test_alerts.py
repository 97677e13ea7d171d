"""Alert export: the high band as ECS-style JSON lines, and a webhook POST that retries on
a real loopback HTTP server."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pandas as pd
import pytest

from persona_risk.features import schema as s
from persona_risk.features.pipeline import compute_features
from persona_risk.serving.alerts import WebhookError, post_alerts, write_alerts
from persona_risk.serving.batch import OUTPUT_COLUMNS
from tests.serving.conftest import free_port


@pytest.fixture(scope="module")
def scores(small_world, trained):
    _, accounts, events = small_world
    features = compute_features(events, accounts, with_signals=False).features
    return trained.model.score(features).assign(model_version="4", as_of=features["as_of"])


def test_high_band_as_ecs_json_lines(scores, tmp_path):
    n = write_alerts(scores, tmp_path / "alerts.jsonl")
    lines = [json.loads(line) for line in (tmp_path / "alerts.jsonl").read_text().splitlines()]
    high = scores[scores["band"] == "high"]
    assert n == len(lines) == len(high) > 0
    assert [a["user"]["id"] for a in lines] == high.sort_values(
        ["score", s.ACCOUNT_ID], ascending=[False, True])[s.ACCOUNT_ID].tolist()
    first = lines[0]
    assert first["event"]["kind"] == "alert" and first["event"]["category"] == ["iam"]
    assert first["risk"]["calculated_level"] == "high"
    assert first["risk"]["calculated_score_norm"] == pytest.approx(
        first["risk"]["calculated_score"] * 100, abs=0.01)
    assert first["rule"]["version"] == "4"
    assert pd.Timestamp(first["@timestamp"]) == scores["as_of"].iloc[0]
    reasons = first["persona_risk"]["reasons"]
    assert len(reasons) == 3 and all(r["contribution"] is not None for r in reasons)
    assert reasons[0]["text"] in first["message"]
    # an older scores table, without each reason's value and contribution, still exports
    old = [c for c in OUTPUT_COLUMNS if not c.endswith(("_value", "_shap"))]
    write_alerts(scores[old], tmp_path / "b.jsonl")
    slim = json.loads((tmp_path / "b.jsonl").read_text().splitlines()[0])
    assert slim["persona_risk"]["reasons"][0]["code"] == reasons[0]["code"]
    assert slim["persona_risk"]["reasons"][0]["contribution"] is None


class _Hook(BaseHTTPRequestHandler):
    failures = 0  # answers 503 to this many requests first
    status = 200
    bodies: list[bytes] = []

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        type(self).bodies.append(body)
        if type(self).failures > 0:
            type(self).failures -= 1
            self.send_response(503)
        else:
            self.send_response(type(self).status)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture()
def hook():
    _Hook.failures, _Hook.status, _Hook.bodies = 0, 200, []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Hook)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/alerts"
    server.shutdown()
    server.server_close()


def test_webhook_retries_then_delivers(scores, tmp_path, hook):
    write_alerts(scores, tmp_path / "alerts.jsonl")
    _Hook.failures = 2
    assert post_alerts(tmp_path / "alerts.jsonl", hook, backoff_s=0.01) == 200
    assert len(_Hook.bodies) == 3
    assert _Hook.bodies[-1] == (tmp_path / "alerts.jsonl").read_bytes()


def test_webhook_refusal_is_not_retried_and_unreachable_gives_up(scores, tmp_path, hook):
    write_alerts(scores, tmp_path / "alerts.jsonl")
    _Hook.status = 400
    with pytest.raises(WebhookError, match="refused the alerts: HTTP 400"):
        post_alerts(tmp_path / "alerts.jsonl", hook, backoff_s=0.01)
    assert len(_Hook.bodies) == 1
    with pytest.raises(WebhookError, match="failed 3 times"):
        post_alerts(tmp_path / "alerts.jsonl", f"http://127.0.0.1:{free_port()}/", attempts=3,
                    backoff_s=0.01)


def test_alerts_command(scores, tmp_path, hook):
    from typer.testing import CliRunner

    from persona_risk.cli import app
    from persona_risk.features.io import write_table

    write_table(scores[OUTPUT_COLUMNS], tmp_path / "scores.parquet")
    result = CliRunner().invoke(app, ["alerts", "--scores", str(tmp_path / "scores.parquet"),
                                      "--out", str(tmp_path / "a.jsonl"), "--webhook", hook])
    assert result.exit_code == 0, result.output
    n = (scores["band"] == "high").sum()
    assert f"{n:,} alerts" in result.output and "HTTP 200" in result.output
    assert len(_Hook.bodies[0].splitlines()) == n


def test_decisions_show_in_alerts_and_cleared_accounts_drop_out(scores, tmp_path):
    from persona_risk.serving.decisions import read_decisions, record_decision

    high = scores[scores["band"] == "high"].sort_values("score", ascending=False)
    cleared, confirmed = high[s.ACCOUNT_ID].iloc[0], high[s.ACCOUNT_ID].iloc[1]
    db = tmp_path / "d.sqlite"
    record_decision(db, cleared, "fraud", "ana")
    record_decision(db, cleared, "legit", "bo", "known contractor on a VPN")
    record_decision(db, confirmed, "fraud", "ana", "farm")
    n = write_alerts(scores, tmp_path / "a.jsonl", read_decisions(db))
    lines = [json.loads(x) for x in (tmp_path / "a.jsonl").read_text().splitlines()]
    assert n == len(high) - 1 and cleared not in {a["user"]["id"] for a in lines}
    by_id = {a["user"]["id"]: a["persona_risk"]["decision"] for a in lines}
    assert by_id[confirmed]["decision"] == "fraud" and by_id[confirmed]["note"] == "farm"
    assert sum(d is None for d in by_id.values()) == len(high) - 2
