"""The online service, as a real uvicorn process over loopback."""

from __future__ import annotations

import signal
import sqlite3
from concurrent.futures import ThreadPoolExecutor

import mlflow
import pandas as pd
import pytest

from features import schema as s
from features.pipeline import compute_features
from models.pyfunc import PersonaRiskPyfunc, signature
from serving.api_models import account_json, events_json
from tests.serving.conftest import NAME

pytestmark = pytest.mark.slow


def _stored_events(state, account_id: str) -> int:
    with sqlite3.connect(state) as conn:
        return conn.execute("SELECT COUNT(*) FROM events WHERE account_id = ?",
                            (account_id,)).fetchone()[0]


@pytest.fixture()
def sample(labelled):
    """Six accounts (fraud and honest) with their events."""
    inputs, _ = labelled
    acc = inputs.accounts
    chosen = pd.concat([acc[acc[s.LABEL] == 1].head(3), acc[acc[s.LABEL] == 0].head(3)])
    events = inputs.events[inputs.events[s.ACCOUNT_ID].isin(chosen[s.ACCOUNT_ID])]
    return chosen, events.head(300)


def test_auth_validation_idempotency_and_batch_equality(server_factory, sample, trained,
                                                        tmp_path):
    server = server_factory().wait_ready()
    accounts, events = sample
    with server.client(token=None) as anon, server.client("wrong") as wrong:
        assert anon.post("/v1/events", json={"events": []}).status_code == 401
        assert wrong.get("/v1/admin/reload").status_code in (401, 405)
        assert wrong.post("/v1/admin/reload").status_code == 401
        assert anon.get("/healthz").status_code == 200
    with server.client() as c:
        bad = c.post("/v1/events", json={"events": [{"account_id": "a", "ts": "2026-01-01",
                                                     "lat": 123.0, "lon": 0.0}]})
        assert bad.status_code == 422 and "lat" in str(bad.json()["detail"][0]["loc"])
        assert c.post("/v1/events", json={"events": []}).status_code == 422
        assert c.post("/v1/events", json={"evnts": []}).status_code == 422
        assert c.put("/v1/accounts/x", json={"created_at": "not a date"}).status_code == 422

        for _, row in accounts.iterrows():
            assert c.put(f"/v1/accounts/{row[s.ACCOUNT_ID]}",
                         json=account_json(row)).status_code == 200
        body = events_json(events)
        for start in range(0, len(body), 50):
            r = c.post("/v1/events", json={"events": body[start:start + 50]})
            assert r.status_code == 200, r.text
        first = events[s.ACCOUNT_ID].iloc[0]
        before = _stored_events(tmp_path / "state.sqlite", first)
        retry = c.post("/v1/events", json={"events": body[:10]})  # a retried batch
        assert retry.status_code == 200
        assert _stored_events(tmp_path / "state.sqlite", first) == before

        online = {}
        for acc_id in events[s.ACCOUNT_ID].unique():
            one = [e for e in body if e["account_id"] == acc_id][:1]
            scored = c.post("/v1/events", json={"events": one}).json()["scores"]
            online.update({x["account_id"]: x for x in scored})
        metrics = c.get("/metrics").text
        assert "persona_risk_requests_total" in metrics and "persona_risk_model_info" in metrics

    feats = compute_features(events, accounts, events[s.TS].max()).features
    batch = trained.model.score(feats).set_index(s.ACCOUNT_ID)
    for acc_id, got in online.items():
        assert got["score"] == pytest.approx(batch.loc[acc_id, "score"], abs=1e-9)
        assert got["band"] == batch.loc[acc_id, "band"]
        assert got["reasons"][0]["code"] == batch.loc[acc_id, "reason_1_code"]
        assert got["model_version"] == f"{NAME}/1"


def test_unknown_account_is_scored_and_stateless_score_stores_nothing(server_factory, tmp_path):
    server = server_factory().wait_ready()
    event = {"account_id": "nobody", "ts": "2026-02-01T03:00:00Z", "ip": "203.0.113.9",
             "lat": 31.23, "lon": 121.47, "device_tz": "Asia/Shanghai"}
    with server.client() as c:
        r = c.post("/v1/score", json={"account": {"created_at": "2026-01-30T00:00:00Z",
                                                  "claimed_timezone": "America/New_York"},
                                      "events": [event]})
        assert r.status_code == 200 and 0 <= r.json()["scores"][0]["score"] <= 1
        assert _stored_events(tmp_path / "state.sqlite", "nobody") == 0
        r = c.post("/v1/events", json={"events": [event]})
        assert r.status_code == 200 and r.json()["scores"][0]["account_id"] == "nobody"


def test_state_survives_restart_and_sigkill_after_reply(server_factory, tmp_path):
    state = tmp_path / "state.sqlite"
    server = server_factory(state).wait_ready()
    events = [{"event_id": f"k{i}", "account_id": "a1", "ts": f"2026-02-01T0{i}:00:00Z",
               "lat": 40.7, "lon": -74.0} for i in range(3)]
    with server.client() as c:
        assert c.post("/v1/events", json={"events": events[:2]}).status_code == 200
    server.stop(signal.SIGTERM)
    server = server_factory(state).wait_ready()
    with server.client() as c:
        assert c.post("/v1/events", json={"events": events[2:]}).status_code == 200
    server.proc.send_signal(signal.SIGKILL)  # killed right after the acknowledged reply
    server.proc.wait(10)
    assert _stored_events(state, "a1") == 3
    server = server_factory(state).wait_ready()
    with server.client() as c:
        assert c.post("/v1/events", json={"events": events}).status_code == 200
    assert _stored_events(state, "a1") == 3


def test_concurrent_burst_on_one_account_loses_nothing(server_factory, tmp_path):
    server = server_factory().wait_ready()

    def send(i: int) -> int:
        with server.client() as c:
            return c.post("/v1/events", json={"events": [{
                "event_id": f"burst-{i}", "account_id": "busy",
                "ts": f"2026-02-01T10:{i % 60:02d}:00Z", "device_id": f"d{i % 5}"}]}).status_code

    with ThreadPoolExecutor(16) as pool:
        codes = list(pool.map(send, range(64)))
    assert codes == [200] * 64
    assert _stored_events(tmp_path / "state.sqlite", "busy") == 64


def test_broken_model_is_refused_while_the_old_one_serves(server_factory, registry, trained):
    server = server_factory().wait_ready()
    mlflow.set_tracking_uri(registry["env"]["MLFLOW_TRACKING_URI"])
    with mlflow.start_run():
        saved = trained.model.save(registry["folder"] / "old_contract")
        info = mlflow.pyfunc.log_model(
            name="model", python_model=PersonaRiskPyfunc(), artifacts={"risk_model": str(saved)},
            signature=signature(trained.model.feature_names), registered_model_name=NAME,
            metadata={"feature_contract_version": "0-old"}, pip_requirements=["mlflow"])
    client = mlflow.MlflowClient()
    client.set_registered_model_alias(NAME, "champion", info.registered_model_version)
    try:
        with server.client() as c:
            r = c.post("/v1/admin/reload").json()
            assert r["swapped"] is False and "0-old" in r["error"]
            ready = c.get("/readyz").json()
            assert ready["model"] == f"{NAME}/1" and "0-old" in ready["last_model_error"]
            scored = c.post("/v1/events", json={"events": [
                {"account_id": "z", "ts": "2026-02-01T10:00:00Z"}]}).json()["scores"][0]
            assert scored["model_version"] == f"{NAME}/1"
    finally:
        client.set_registered_model_alias(NAME, "champion", "1")
        mlflow.set_tracking_uri(None)


def test_refuses_to_start_without_a_token(registry, tmp_path):
    from tests.serving.conftest import Server

    server = Server(registry, tmp_path / "s.sqlite", token=None)
    assert server.proc.wait(60) == 2
    assert "no API token" in server.log.read_text()
    server = Server(registry, tmp_path / "s.sqlite", token=None, extra=["--insecure-no-auth"])
    try:
        server.wait_ready()
        with server.client(token=None) as c:
            assert c.post("/v1/events", json={"events": [
                {"account_id": "q", "ts": "2026-02-01T10:00:00Z"}]}).status_code == 200
    finally:
        server.stop()


def test_first_event_before_the_account_record_is_scored(server_factory):
    server = server_factory().wait_ready()
    with server.client() as c:
        assert c.put("/v1/accounts/late", json={"created_at": "2026-03-01T00:00:00Z"}
                     ).status_code == 200
        r = c.post("/v1/events", json={"events": [{
            "event_id": "late-1", "account_id": "late", "ts": "2026-02-01T00:00:00Z",
            "ip": "198.51.100.7", "lat": 40.7, "lon": -74.0}]})
        assert r.status_code == 200, r.text
        assert [score["account_id"] for score in r.json()["scores"]] == ["late"]
