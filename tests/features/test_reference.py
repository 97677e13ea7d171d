"""Every feature is documented in the README's reference table."""

from __future__ import annotations

from pathlib import Path

from persona_risk.features.reference import FEATURE_NAMES, reference_markdown


def test_readme_carries_the_feature_reference():
    readme = (Path(__file__).parents[2] / "README.md").read_text()
    assert reference_markdown() in readme
    assert len(set(FEATURE_NAMES)) == len(FEATURE_NAMES)
