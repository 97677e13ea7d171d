"""The ASGI guard in front of the service, in a FastAPI app as the service has it, called
through httpx's ASGI transport."""

from __future__ import annotations

import asyncio
import logging
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from fastapi import FastAPI, Request

from persona_risk.serving.guard import Guard, bearer_token
from persona_risk.serving.log_safety import WithholdMessages

TOKEN = "s3cret"


def guarded(limit: int = 1000):
    seen: list[tuple[str, int, int]] = []  # endpoint, status, body bytes read
    app = FastAPI()
    app.add_middleware(Guard, token=TOKEN, max_body=limit,
                       record=lambda where, status, _, read: seen.append((where, status, read)))

    @app.post("/v1/echo")
    @app.get("/healthz")
    async def echo_length(request: Request) -> dict:
        return {"bytes": len(await request.body())}

    @app.get("/v1/boom")
    async def explode() -> dict:
        raise KeyError("acct-raw-id 203.0.113.9")

    return app, seen


def call(app, method: str, path: str, **kwargs) -> httpx.Response:
    async def go():
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            return await client.request(method, path, **kwargs)
    with ThreadPoolExecutor(1) as pool:  # its own loop: a sync Playwright may hold this one
        return pool.submit(asyncio.run, go()).result()


@pytest.mark.parametrize(("header", "token"), [
    ("Bearer abc", "abc"), ("bearer abc", "abc"), ("BEARER  abc ", "abc"),
    ("Basic abc", None), ("Bearer", None), ("", None)])
def test_bearer_scheme_is_case_insensitive(header, token):
    """Finding 10: lowercase `bearer` was refused."""
    assert bearer_token(header) == token


def test_token_is_checked_before_anything_else():
    app, seen = guarded()
    assert call(app, "POST", "/v1/echo", content=b"x" * 5000).status_code == 401
    ok = call(app, "POST", "/v1/echo", content=b"{}", headers={"Authorization": f"bearer {TOKEN}"})
    assert ok.status_code == 200
    assert call(app, "GET", "/healthz").status_code == 200
    assert [(status, read) for _, status, read in seen] == [(401, 0), (200, 2), (200, 0)]


def test_a_chunked_body_over_the_limit_is_refused_after_the_limit_is_read():
    """Finding 5: only Content-Length was checked; a chunked body was read whole."""
    app, seen = guarded(limit=1000)
    pulled = []

    async def chunks():
        for _ in range(10_000):  # 10 MB offered, 100 bytes at a time
            pulled.append(1)
            yield b"y" * 100

    auth = {"Authorization": f"Bearer {TOKEN}"}
    r = call(app, "POST", "/v1/echo", content=chunks(), headers=auth)
    assert r.status_code == 413 and r.headers["connection"] == "close"
    assert len(pulled) <= 12  # 1,000 bytes and the chunk that crossed the limit, give or take
    assert seen[0][1:] == (413, 1100)
    small = call(app, "POST", "/v1/echo", content=b"z" * 1000, headers=auth)
    assert small.json() == {"bytes": 1000}
    declared = call(app, "POST", "/v1/echo", content=b"z" * 1001, headers=auth)
    assert declared.status_code == 413


def test_an_uncaught_error_is_a_counted_generic_500_logged_without_its_message(caplog):
    """Findings 6 and 7: a 500 logged the input whole, and /metrics never counted 500s."""
    app, seen = guarded()
    handler = logging.StreamHandler()
    handler.addFilter(WithholdMessages())
    with caplog.at_level(logging.ERROR, logger="persona_risk.serving"):
        logging.getLogger("persona_risk.serving").addHandler(handler)
        try:
            r = call(app, "GET", "/v1/boom", headers={"Authorization": f"Bearer {TOKEN}"})
        finally:
            logging.getLogger("persona_risk.serving").removeHandler(handler)
    assert r.status_code == 500 and r.json() == {"detail": "internal error"}
    assert seen == [("/v1/boom", 500, 0)]
    record = caplog.records[-1]
    assert "KeyError" in handler.format(record) and "explode" in handler.format(record)
    assert "acct-raw-id" not in handler.format(record) and "203.0.113.9" not in r.text
