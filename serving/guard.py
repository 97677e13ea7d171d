"""The ASGI layer in front of the service: bearer token, body limit, status metrics, and a
generic 500.

It runs before routing and body parsing, so an anonymous caller learns nothing and an
oversized body (declared or chunked) is refused after at most `max_body` bytes have been read.
Every response, a 500 included, is counted by endpoint and status.
"""

from __future__ import annotations

import hmac
import logging
import time
from collections.abc import Callable

from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger("persona_risk.serving")
CLIENT_GONE = 499  # the status counted when the client left before its body was read


def bearer_token(header: str) -> str | None:
    """The token of an `Authorization: Bearer <token>` header; the scheme name is
    case-insensitive (RFC 7235)."""
    scheme, _, token = header.strip().partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


class TooLarge(Exception):
    """The body grew past the limit while being read; `read` bytes had been read."""

    def __init__(self, read: int):
        super().__init__(read)
        self.read = read


async def read_body(receive: Receive, limit: int) -> bytes | None:
    """The whole request body, reading no more than `limit` bytes past which it raises
    `TooLarge` (the last message read may overshoot by the server's buffer, 64 KiB for
    uvicorn); None when the client went away."""
    body = bytearray()
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None
        body += message.get("body", b"")
        if len(body) > limit:
            raise TooLarge(len(body))
        if not message.get("more_body", False):
            return bytes(body)


class Guard:
    """ASGI middleware: `token` (None: no auth) guards the paths under `protected`; bodies over
    `max_body` bytes get 413; `record(endpoint, status, seconds, body_bytes)` sees every
    response with the body bytes read for it; an uncaught error is logged (type and frames
    only, see `serving.log_safety`) and answered with a generic 500."""

    def __init__(self, app: ASGIApp, token: str | None, max_body: int,
                 record: Callable[[str, int, float, int], None], protected: str = "/v1/"):
        self.app, self.token, self.max_body = app, token, max_body
        self.record, self.protected = record, protected

    def _refusal(self, scope: Scope) -> JSONResponse | None:
        headers = {k.decode("latin-1").lower(): v.decode("latin-1")
                   for k, v in scope.get("headers", [])}
        if self.token is not None and scope["path"].startswith(self.protected):
            given = bearer_token(headers.get("authorization", ""))
            if given is None or not hmac.compare_digest(given.encode(), self.token.encode()):
                return JSONResponse({"detail": "missing or wrong bearer token"}, 401,
                                    headers={"WWW-Authenticate": "Bearer"})
        length = headers.get("content-length")
        if length is not None and (not length.isdigit() or int(length) > self.max_body):
            return self._too_large()
        return None

    def _too_large(self) -> JSONResponse:
        # the rest of the body is never read, so the connection cannot serve another request
        return JSONResponse({"detail": f"body larger than {self.max_body} bytes"}, 413,
                            headers={"Connection": "close"})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start, status, read = time.perf_counter(), [0], 0

        async def send_counted(message: Message) -> None:
            if message["type"] == "http.response.start":
                status[0] = message["status"]
            await send(message)

        try:
            refusal = self._refusal(scope)
            if refusal is None:
                try:
                    body = await read_body(receive, self.max_body)
                    read = len(body or b"")
                except TooLarge as err:
                    refusal, read = self._too_large(), err.read
            if refusal is not None:
                await refusal(scope, receive, send_counted)
            elif body is None:
                status[0] = CLIENT_GONE
            else:
                await self.app(scope, _replay(body, receive), send_counted)
        except Exception as err:  # noqa: BLE001 - the last line of defence: log, answer 500
            log.error("unhandled %s on %s %s", type(err).__name__, scope["method"],
                      _endpoint(scope), exc_info=err)
            if status[0] == 0:
                await JSONResponse({"detail": "internal error"}, 500)(scope, receive, send_counted)
        finally:
            self.record(_endpoint(scope), status[0] or 500, time.perf_counter() - start, read)


def _endpoint(scope: Scope) -> str:
    """The route's path template (ids never appear in metric labels); `unmatched` before
    routing or for unknown paths."""
    route = scope.get("route")
    return getattr(route, "path", None) or "unmatched"


def _replay(body: bytes, receive: Receive) -> Receive:
    """A `receive` that hands the app the body already read, then the client's later messages
    (a disconnect)."""
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay
