"""The service's OpenAPI document explains every operation and field, with the bearer scheme
and the guard's replies; /docs and /redoc render in a real headless Chromium with every request
off the loopback blocked."""

from __future__ import annotations

from importlib.resources import files
from urllib.parse import urlparse

import httpx
import pytest
from pydantic import BaseModel

from persona_risk import __version__
from persona_risk.serving import api_requests, api_responses
from persona_risk.serving.app import MAX_BODY_BYTES, PROTECTED, ServiceConfig, create_app
from persona_risk.serving.docs import ASSET_PACKAGE, ASSETS, BEARER
from persona_risk.serving.model_holder import ModelHolder
from persona_risk.serving.sqlite_store import SqliteFeatureStore
from tests.serving.conftest import TOKEN

REFUSAL = {"$ref": "#/components/schemas/Refusal"}
REDOC_LOGO = "https://cdn.redoc.ly/redoc/logo-mini.svg"


def _document(folder, token: str | None) -> dict:
    """The OpenAPI document of an app over an empty store (no model needs loading for it)."""
    app = create_app(SqliteFeatureStore(folder / "state.sqlite"), ModelHolder("models:/none@x"),
                     ServiceConfig(token))
    return app.openapi()


@pytest.fixture(scope="module")
def document(tmp_path_factory):
    return _document(tmp_path_factory.mktemp("docs"), TOKEN)


def _reply_schema(operation: dict, status: str) -> dict:
    return operation["responses"][status]["content"]["application/json"]["schema"]


def test_every_operation_model_and_field_is_described_with_examples(document):
    assert document["info"]["version"] == __version__ and document["info"]["description"]
    operations = [(path, op) for path, ops in document["paths"].items() for op in ops.values()]
    assert len(operations) == 8
    for path, op in operations:
        assert op["summary"] and op["description"] and op["tags"], path
        assert all(reply["description"] for reply in op["responses"].values()), path
        for param in op.get("parameters", []):
            assert param["description"] and param["schema"]["examples"], (path, param["name"])
    for name, model in document["components"]["schemas"].items():
        assert model["description"] and model["examples"], name
        for field, spec in model["properties"].items():
            assert spec["description"] and spec["examples"], (name, field)


def test_every_example_is_a_valid_body():
    models = [m for module in (api_requests, api_responses) for m in vars(module).values()
              if isinstance(m, type) and issubclass(m, BaseModel) and m is not BaseModel]
    assert len(models) >= 15
    for model in models:
        examples = model.model_json_schema()["examples"]
        assert examples and all(model.model_validate(e) for e in examples), model.__name__


def test_bearer_scheme_and_guard_replies_are_documented(document):
    scheme = document["components"]["securitySchemes"][BEARER]
    assert (scheme["type"], scheme["scheme"]) == ("http", "bearer") and scheme["description"]
    for path, ops in document["paths"].items():
        for op in ops.values():
            guarded = path.startswith(PROTECTED)
            assert (op.get("security") == [{BEARER: []}]) == guarded, path
            assert ("401" in op["responses"]) == guarded, path
            assert _reply_schema(op, "500") == REFUSAL
            if "requestBody" in op:
                assert _reply_schema(op, "413") == REFUSAL
                assert f"{MAX_BODY_BYTES:,}" in op["responses"]["413"]["description"]
                assert _reply_schema(op, "422") == {"$ref": "#/components/schemas/Invalid"}
    for scored in ("/v1/events", "/v1/score"):
        assert _reply_schema(document["paths"][scored]["post"], "503") == REFUSAL
    assert "503" in document["paths"]["/readyz"]["get"]["responses"]
    assert "text/plain" in document["paths"]["/metrics"]["get"]["responses"]["200"]["content"]


def test_without_a_token_no_operation_claims_one(tmp_path):
    insecure = _document(tmp_path, None)  # the loopback-only --insecure-no-auth service
    for ops in insecure["paths"].values():
        assert all("security" not in op and "401" not in op["responses"] for op in ops.values())


def _offline_page(browser, url: str):
    """A page that lets only loopback requests through; returns it and the URLs it blocked."""
    page = browser.new_page()
    blocked, errors = [], []

    def only_loopback(route):
        if urlparse(route.request.url).hostname in ("127.0.0.1", "localhost"):
            route.continue_()
        else:
            blocked.append(route.request.url)
            route.abort()

    page.route("**/*", only_loopback)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(url)
    return page, blocked, errors


@pytest.mark.slow
def test_docs_and_redoc_render_offline_in_chromium(server_factory, browser):
    server = server_factory().wait_ready()
    packaged = files(ASSET_PACKAGE) / "static" / "swagger-ui-bundle.js"
    assert httpx.get(f"{server.url}{ASSETS}/swagger-ui-bundle.js").content == \
        packaged.read_bytes()
    page, blocked, errors = _offline_page(browser, f"{server.url}/docs")
    summary = page.locator(".opblock-summary-description", has_text="Score without storing")
    summary.wait_for(timeout=20_000)
    assert page.locator(".opblock").count() == 8
    authorize = page.locator("button.authorize")
    assert authorize.is_visible()
    authorize.click()  # the bearer scheme's dialog takes the token
    page.locator(".modal-ux input").fill(TOKEN)
    page.locator(".modal-ux button.authorize").click()
    page.locator(".modal-ux button.close-modal").click()
    page.locator(".opblock-summary", has_text="/v1/admin/reload").click()  # try it out, signed
    page.locator("button.try-out__btn").click()
    page.locator("button.execute").click()
    status = page.locator(".live-responses-table tbody .response-col_status").first
    status.wait_for(timeout=20_000)
    assert status.inner_text().strip() == "200"
    assert not errors and not blocked, (errors, blocked)
    page.close()

    page, blocked, errors = _offline_page(browser, f"{server.url}/redoc")
    page.locator("h2", has_text="Store events and score their accounts").wait_for(timeout=20_000)
    assert page.get_by_text("bearer", exact=False).count() > 0
    page.wait_for_timeout(500)
    # ReDoc's one outside request is the footer's "by Redocly" logo, which it drops when that
    # fails to load (as it does offline); nothing the page needs comes from outside
    assert page.locator("img[alt='redocly logo']").count() == 0
    assert not errors and set(blocked) <= {REDOC_LOGO}, (errors, blocked)
    page.close()

