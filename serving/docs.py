"""The service's documentation pages and the guard's part of its OpenAPI document.

Swagger UI (`/docs`) and ReDoc (`/redoc`) load their scripts and styles from the installed
`fastapi-offline` package, served under `ASSETS`, so the pages work with no network (an offline
security operations centre). The OpenAPI document gains what `serving.guard` does before any
route runs: the bearer scheme on the protected paths (Swagger UI's Authorize button) with their
401, the 413 of an oversized body and the generic 500.
"""

from __future__ import annotations

from importlib.resources import files

from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

from persona_risk.serving.api_responses import Invalid, Refusal

ASSETS = "/docs-assets"  # URL path of the Swagger UI and ReDoc files
ASSET_PACKAGE = "fastapi_offline"  # ships swagger-ui-bundle.js, swagger-ui.css, redoc.standalone.js
BEARER = "bearer"  # name of the security scheme in the document

DESCRIPTION = """Scores accounts for the risk that they are fraudulent remote-worker personas
(e.g. North Korean IT workers on laptop farms), from their sign-in events.

Every `/v1/` operation needs the service's API token as `Authorization: Bearer <token>` (the
Authorize button); an oversized body gets 413. Error replies never echo the request's data."""
TAGS = [
    {"name": "scoring", "description": "store events and score, or score without storing"},
    {"name": "accounts", "description": "account records and analysts' decisions"},
    {"name": "operations", "description": "health, readiness, metrics and model reload"},
]
INVALID = {"model": Invalid, "description": "the request, or one of its fields, could not be "
           "used (each problem's place and reason); nothing was stored"}
NO_MODEL = {"model": Refusal, "description": "no model loaded yet"}
METRICS_EXAMPLE = (
    '# TYPE persona_risk_score histogram\n'
    'persona_risk_score_bucket{le="0.5",model_version="persona-risk/3"} 41.0\n'
    '# TYPE persona_risk_scores_total counter\n'
    'persona_risk_scores_total{band="high",model_version="persona-risk/3"} 2.0\n')


def _refusal(description: str, **extra) -> dict:
    return {"description": description, **extra, "content": {"application/json": {
        "schema": {"$ref": "#/components/schemas/Refusal"}}}}


def add_guard_replies(doc: dict, protected: str | None, max_body: int) -> dict:
    """`doc` (an OpenAPI document) with the bearer scheme and 401 on the operations under
    `protected` (None: no token, none), 413 on those with a body of over `max_body` bytes, and
    500 on all."""
    components = doc.setdefault("components", {})
    components.setdefault("schemas", {})["Refusal"] = Refusal.model_json_schema(
        ref_template="#/components/schemas/{model}")
    components["securitySchemes"] = {BEARER: {
        "type": "http", "scheme": "bearer",
        "description": "the service's API token (`PERSONA_RISK_API_TOKEN`) as "
                       "`Authorization: Bearer <token>`"}}
    for path, operations in doc.get("paths", {}).items():
        for operation in operations.values():
            replies = operation.setdefault("responses", {})
            if protected is not None and path.startswith(protected):
                operation["security"] = [{BEARER: []}]
                replies["401"] = _refusal("missing or wrong bearer token", headers={
                    "WWW-Authenticate": {"description": "`Bearer`", "schema": {"type": "string"}}})
            if "requestBody" in operation:
                replies["413"] = _refusal(f"body larger than {max_body:,} bytes; the connection "
                                          "is closed")
            replies["500"] = _refusal("internal error: logged by type, never with the "
                                      "request's data")
    return doc


def add_docs(app: FastAPI, protected: str | None, max_body: int) -> None:
    """Serve `/docs` and `/redoc` from the packaged assets, and complete `app`'s OpenAPI
    document with the guard's replies (`add_guard_replies`). `app` is made with `docs_url` and
    `redoc_url` None."""
    app.mount(ASSETS, StaticFiles(directory=str(files(ASSET_PACKAGE) / "static")),
              name="docs-assets")
    generate = app.openapi

    def openapi() -> dict:
        if app.openapi_schema is None:
            app.openapi_schema = add_guard_replies(generate(), protected, max_body)
        return app.openapi_schema

    app.openapi = openapi

    @app.get("/docs", include_in_schema=False)
    def swagger_ui(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "")
        return get_swagger_ui_html(
            openapi_url=f"{root}{app.openapi_url}", title=f"{app.title} - Swagger UI",
            swagger_js_url=f"{root}{ASSETS}/swagger-ui-bundle.js",
            swagger_css_url=f"{root}{ASSETS}/swagger-ui.css",
            swagger_favicon_url=f"{root}{ASSETS}/favicon.png",
            swagger_ui_parameters={"validatorUrl": None})  # no call to an online validator

    @app.get("/redoc", include_in_schema=False)
    def redoc(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "")
        return get_redoc_html(
            openapi_url=f"{root}{app.openapi_url}", title=f"{app.title} - ReDoc",
            redoc_js_url=f"{root}{ASSETS}/redoc.standalone.js",
            redoc_favicon_url=f"{root}{ASSETS}/favicon.png", with_google_fonts=False)
