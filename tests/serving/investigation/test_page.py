"""Investigation pages of a laptop-farm account and an honest one, opened in a real headless
Chromium: the map draws land and the impossible hop in red, the sign-in table sorts, a click on
a linked account opens its page, and nothing is fetched from the network."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from persona_risk.features import schema as s
from persona_risk.features.travel import HOP_SPEED_KMH
from persona_risk.features.validate import validate_accounts
from persona_risk.serving.decisions import read_decisions, record_decision
from persona_risk.serving.investigation.case import MIN_CONTRIBUTION, investigate, score_population
from persona_risk.serving.investigation.page import PNGS, page_folder, write_pages

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def population(labelled, trained):
    inputs, _ = labelled
    return score_population(trained.model, "3", inputs.events, inputs.accounts)


@pytest.fixture(scope="module")
def personas(labelled):
    acc = labelled[0].accounts
    return {p: acc.loc[acc[s.PERSONA] == p, s.ACCOUNT_ID].iloc[0] for p in ("farm", "office")}


@pytest.fixture(scope="module")
def pages(population, personas, tmp_path_factory):
    out = tmp_path_factory.mktemp("pages")
    db = out.parent / "decisions.sqlite"
    record_decision(db, personas["farm"], "fraud", "ana", "laptop farm in Raleigh")
    return out, write_pages(population, list(personas.values()), out, read_decisions(db))


def _open(browser, path):
    page = browser.new_page()
    fetched = []
    page.on("request", lambda r: fetched.append(r.url))
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(path.as_uri())
    page.wait_for_function("() => window.Bokeh === undefined || "
                           "Bokeh.documents.length > 0", timeout=20_000)
    page.wait_for_timeout(800)  # the map's canvas paints after the document is built
    return page, fetched, errors


def _red_pixels(png) -> int:
    rgb = np.asarray(Image.open(png).convert("RGB")).astype(int)
    return int(((abs(rgb[..., 0] - 0xd6) < 30) & (rgb[..., 1] < 80) & (rgb[..., 2] < 80)).sum())


def test_reasons_only_raise_and_band_is_explained(population, personas):
    for account in personas.values():
        inv = investigate(population, account)
        assert all(r["contribution"] >= MIN_CONTRIBUTION for r in inv.summary["reasons"])
        assert inv.band["model_version"] == "3" and inv.band["target_fpr"] == 0.01
        model = population.model
        assert model.calibrate(np.array([inv.band["log_odds"]]))[0] == pytest.approx(
            inv.summary["score"])
        assert inv.band["log_odds"] == pytest.approx(inv.contributions.sum())
        assert s.PERSONA not in inv.record and s.LABEL not in inv.record  # no ground truth
    farm = investigate(population, personas["farm"])
    assert farm.summary["band"] == "high" and farm.cluster and farm.links
    assert all(r["why"] for r in farm.summary["reasons"])
    tied = {a for link in farm.links for a in link["accounts"]}
    assert {c["account_id"] for c in farm.cluster} == tied - {personas["farm"]}


def test_farm_page_in_chromium(pages, personas, population, browser, tmp_path):
    out, index = pages
    farm = personas["farm"]
    folder = out / page_folder(farm)
    for png in PNGS:
        assert (folder / png).stat().st_size > 5_000
    content = json.loads((folder / "report.json").read_text())
    assert content["account_id"] == farm and content["band"] == "high"
    html = (folder / "report.html").read_text()
    assert "http://" not in html.replace("http://www.w3.org", "")  # offline: no URL to fetch
    assert "https://" not in html

    page, fetched, errors = _open(browser, folder / "report.html")
    assert not errors, errors
    assert fetched and all(u.startswith("file://") for u in fetched), fetched
    assert page.get_attribute("body", "data-images-loaded") == "2/2"
    for reason in content["reasons"]:
        assert reason["code"] in page.inner_text("#reasons")
    assert "false-positive rate at or below 1.0%" in page.inner_text("#band")
    assert page.inner_text("#decision").startswith("Decided fraud by ana at ")
    assert "laptop farm in Raleigh" in page.content()
    cities = page.locator("#sign-ins tbody td:nth-child(4)").all_inner_texts()
    assert sum(bool(c) for c in cities) > len(cities) / 2  # sign-ins labelled by city
    # the map: land drawn, the impossible hop in red, the places labelled
    page.locator("#map").screenshot(path=tmp_path / "map.png")
    page.screenshot(path=tmp_path / "page.png", full_page=True)
    inv = investigate(population, farm)
    impossible = (inv.sign_ins[HOP_SPEED_KMH] > population.cfg.impossible_kmh).any()
    assert impossible, "a farm persona's operator signs in from far away"
    assert _red_pixels(tmp_path / "map.png") > 200
    land = np.asarray(Image.open(tmp_path / "map.png").convert("RGB"))
    assert (np.abs(land.astype(int) - 0xee).sum(axis=2) < 6).sum() > 10_000  # land fill

    # the map zooms with the mouse wheel
    span = "() => { const r = Bokeh.documents[0].roots()[0].x_range; return r.end - r.start; }"
    before = page.evaluate(span)
    box = page.locator("#map").bounding_box()
    page.mouse.move(box["x"] + 400, box["y"] + 200)
    page.mouse.wheel(0, -400)
    page.wait_for_timeout(300)
    assert page.evaluate(span) < before * 0.9

    # the sign-in timeline sorts by hop speed, then by time both ways
    speed = page.locator("#sign-ins th", has_text="hop km/h")
    speed.click()
    first = page.locator("#sign-ins tbody tr").first.locator("td").nth(7).get_attribute(
        "data-sort")
    assert float(first) == -1  # ascending: no hop first
    speed.click()
    first = page.locator("#sign-ins tbody tr").first.locator("td").nth(7).get_attribute(
        "data-sort")
    assert float(first) == pytest.approx(inv.sign_ins[HOP_SPEED_KMH].max())
    when = page.locator("#sign-ins th", has_text="time (UTC)")
    when.click()
    keys = [int(k) for k in page.locator("#sign-ins tbody tr td:first-child").evaluate_all(
        "cells => cells.map(c => c.dataset.sort)")]
    assert keys == sorted(keys) and len(keys) == len(inv.sign_ins)
    when.click()
    keys = [int(k) for k in page.locator("#sign-ins tbody tr td:first-child").evaluate_all(
        "cells => cells.map(c => c.dataset.sort)")]
    assert keys == sorted(keys, reverse=True)

    # a click on a linked account in the cluster graph opens that account's page
    node = page.locator("#cluster-graph a.account-node").first
    other = node.get_attribute("data-account")
    assert other in {c["account_id"] for c in content["cluster"]}
    node.click()
    page.wait_for_url(f"**/{page_folder(other)}/report.html")
    assert page.inner_text("h1") == f"Account {other}"
    page.close()


def test_honest_page_and_index_in_chromium(pages, personas, browser, tmp_path):
    out, index = pages
    office = personas["office"]
    content = json.loads((out / page_folder(office) / "report.json").read_text())
    assert content["band"] == "low"
    page, fetched, errors = _open(browser, out / page_folder(office) / "report.html")
    assert not errors and all(u.startswith("file://") for u in fetched)
    assert page.inner_text("#decision") == "No decision yet."
    assert page.locator("#sign-ins tbody tr").count() == content["sign_ins"]
    page.close()

    page, _, errors = _open(browser, index)
    assert not errors
    listed = page.locator("#index tbody tr td:first-child").all_inner_texts()
    decided = page.locator("#index tbody tr", has_text=personas["farm"]).inner_text()
    assert decided.rstrip().endswith("fraud")
    assert set(personas.values()) <= set(listed)
    written = {p.name for p in out.iterdir() if (p / "report.html").exists()}
    assert {page_folder(a) for a in listed} == written
    page.screenshot(path=tmp_path / "index.png", full_page=True)
    page.locator("#index a", has_text=office).click()
    page.wait_for_url(f"**/{page_folder(office)}/report.html")
    assert office in page.inner_text("h1")
    page.close()


def test_explain_command_writes_the_high_band_with_an_index(labelled, trained, registry,
                                                            browser, tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from persona_risk.cli import app
    from persona_risk.features.io import write_table

    inputs, table = labelled
    acc = inputs.accounts
    riskiest = trained.model.score(table, reasons=False).nlargest(12, "score")[s.ACCOUNT_ID]
    chosen = pd.concat([acc[acc[s.ACCOUNT_ID].isin(riskiest)], acc[acc[s.LABEL] == 0].head(60)])
    events = inputs.events[inputs.events[s.ACCOUNT_ID].isin(chosen[s.ACCOUNT_ID])]
    write_table(events, tmp_path / "events.parquet")
    write_table(chosen, tmp_path / "accounts.parquet")
    for k, v in registry["env"].items():
        monkeypatch.setenv(k, v)
    args = ["explain", "--high-band", "--events", str(tmp_path / "events.parquet"),
            "--accounts", str(tmp_path / "accounts.parquet"), "--model", registry["uri"],
            "--out", str(tmp_path / "pages")]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    pop = score_population(trained.model, "1", events, validate_accounts(chosen))
    high = set(pop.scores.index[pop.scores["band"] == "high"])
    assert high, "some of the fraudulent accounts score high"
    page, _, errors = _open(browser, tmp_path / "pages" / "index.html")
    assert not errors
    listed = set(page.locator("#index tbody tr td:first-child").all_inner_texts())
    page.close()
    assert high <= listed
    assert all((tmp_path / "pages" / page_folder(a) / "report.html").exists() for a in listed)
    assert f"{len(high):,} accounts; index:" in result.output

    neither = CliRunner().invoke(app, ["explain", *args[2:]])  # no account, no --high-band
    assert neither.exit_code == 2 and "ACCOUNT_ID or --high-band" in neither.output


def test_pages_from_sign_ins_alone(labelled, trained, personas, tmp_path):
    """Without an accounts table the page still renders: no record, no claimed zone."""
    inputs, _ = labelled
    farm = personas["farm"]
    operator = inputs.events[inputs.events[s.ACCOUNT_ID] == farm]
    pop = score_population(trained.model, "3", operator, None)
    write_pages(pop, [farm], tmp_path)
    html = (tmp_path / page_folder(farm) / "report.html").read_text()
    assert "No account record: built from sign-ins only." in html
    assert json.loads((tmp_path / page_folder(farm) / "report.json").read_text())["record"] == {}


def test_page_says_which_sign_ins_were_allowed_and_why(labelled, trained, personas, tmp_path):
    from persona_risk.features.allow import AllowEntry, AllowList

    inputs, _ = labelled
    farm = personas["farm"]
    mine = inputs.events[inputs.events[s.ACCOUNT_ID] == farm]
    ip, device = mine[s.IP].mode().iloc[0], mine[s.DEVICE_ID].mode().iloc[0]
    allow = AllowList((AllowEntry("cidr", f"{ip}/32", "corporate VPN egress"),
                       AllowEntry("device", device, "shared kiosk")))
    pop = score_population(trained.model, "3", inputs.events, inputs.accounts, allow=allow)
    inv = investigate(pop, farm)
    assert {(a["value"], a["reason"], a["sign_ins"]) for a in inv.allowed} == {
        (f"{ip}/32", "corporate VPN egress", int((mine[s.IP] == ip).sum())),
        (device, "shared kiosk", int((mine[s.DEVICE_ID] == device).sum()))}
    assert not any(link["key"] in (ip, device) for link in inv.links)
    on_ip = inv.sign_ins[s.IP] == ip
    assert inv.sign_ins.loc[on_ip, "allowed"].str.contains("corporate VPN egress").all()
    assert (inv.sign_ins.loc[on_ip, HOP_SPEED_KMH].isna()).all()  # no hop ends there
    write_pages(pop, [farm], tmp_path, linked=False)
    html = (tmp_path / page_folder(farm) / "report.html").read_text()
    assert "<ul id='allowed'>" in html and "corporate VPN egress" in html
    assert "shared kiosk" in html
    assert "None of its sign-ins is on allowed infrastructure" not in html
