"""The investigation report renders for a fraudulent and an honest account, and a real headless
Chromium shows its images and reasons."""

from __future__ import annotations

import json
import re
import subprocess

import pytest

from features import schema as s
from serving.explain import PNGS, investigate, write_report
from tests.system import debian_program

pytestmark = pytest.mark.slow
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                  "--no-first-run", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync"]


@pytest.fixture(scope="session")
def chromium() -> str:
    """Debian's Chromium, installed by the test setup where absent."""
    return debian_program("chromium", "chromium")


def _render(chromium: str, page, profile) -> str:
    out = subprocess.run([chromium, *CHROMIUM_FLAGS, f"--user-data-dir={profile}",
                          "--virtual-time-budget=5000", "--dump-dom", page.as_uri()],
                         capture_output=True, text=True, timeout=120)
    return out.stdout


@pytest.mark.parametrize("persona", ["farm", "office"])
def test_report_for_fraud_and_honest_accounts(persona, labelled, trained, chromium, tmp_path):
    inputs, _ = labelled
    accounts = inputs.accounts
    account = accounts.loc[accounts[s.PERSONA] == persona, s.ACCOUNT_ID].iloc[0]
    claimed = accounts.set_index(s.ACCOUNT_ID).loc[account, s.CLAIMED_TIMEZONE]
    inv = investigate(account, trained.model, inputs.events, accounts)
    page = write_report(inv, tmp_path / "report", claimed)
    content = json.loads((tmp_path / "report" / "report.json").read_text())
    assert content["account_id"] == account and len(content["reasons"]) == 3
    assert set(content["contributions"]) == set(trained.model.feature_names)
    for png in PNGS:
        assert (tmp_path / "report" / png).stat().st_size > 5_000
    text = page.read_text()
    assert "http://" not in text and "https://" not in text  # offline: nothing fetched
    if persona == "farm":
        assert content["shared"], "a farm persona shares its farm's IPs"

    dom = _render(chromium, page, tmp_path / "profile")
    assert 'data-images-loaded="3/3"' in dom, dom[-500:]
    for reason in content["reasons"]:
        assert reason["code"] in dom
    assert re.search(r"Score <b>\d\.\d{3}</b>", dom)
