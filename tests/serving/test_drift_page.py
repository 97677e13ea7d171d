"""The drift page opens offline in a real headless Chromium and shows the warnings and the
plots, with no script."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from persona_risk.serving.drift import DriftLimits, Profile, compare
from persona_risk.serving.drift_page import write_drift_page

pytestmark = pytest.mark.slow


def _profile(values: list[float], scores: list[float]) -> Profile:
    profile = Profile({"night_share": [0.2, 0.5], "ips_distinct": [2.0, 5.0]})
    profile.add(pd.DataFrame({"night_share": values, "ips_distinct": [3.0] * len(values)}),
                pd.DataFrame({"score": scores, "band": ["low"] * len(scores)}))
    return profile


def test_drift_page_in_chromium(browser, tmp_path):
    previous = _profile([0.1] * 80 + [0.6] * 20, [0.05] * 100)
    current = _profile([0.6] * 70 + [float("nan")] * 30, [0.05] * 50 + [0.95] * 50)
    report = compare(current, previous, previous, DriftLimits())
    page_path = write_drift_page(report, current, previous, tmp_path / "scores.drift.html")

    page = browser.new_page()
    fetched, errors = [], []
    page.on("request", lambda r: fetched.append(r.url))
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(page_path.as_uri())
    assert page.locator("svg").count() == 3  # scores, PSI and missing share per feature
    assert not errors and all(u.startswith("file://") for u in fetched)  # offline
    shown = page.inner_text("#warnings")
    for warning in report["warnings"]:
        assert warning in shown
    assert any(w.startswith("night_share: PSI") for w in report["warnings"])
    assert any(w.startswith("score: PSI") for w in report["warnings"])
    page.screenshot(path=tmp_path / "drift.png", full_page=True)
    page.close()
    assert not page_path.read_text().count("<script")
    rgb = np.asarray(Image.open(tmp_path / "drift.png").convert("RGB")).astype(int)
    for color in ((0x1f, 0x77, 0xb4), (0xff, 0x7f, 0x0e)):  # tonight's bars, the previous run's
        assert (np.abs(rgb - color).sum(axis=2) < 30).sum() > 2_000
