"""The account feature contract, derived from the registry (`features.registry`).

The model is trained on `FEATURE_NAMES` (the registry's order). A model's contract,
`feature_contract(cfg)`, hashes `FEATURE_CONTRACT_VERSION` (bumped when a family's computation
changes), the registry's features and the thresholds the features were computed with, so that a
model refuses to load on other definitions. Meanings name the thresholds as `{fields}` of
`setting_words`; `reference_markdown` is the README's feature table.
"""

from __future__ import annotations

import hashlib
import json
from functools import cache

from persona_risk.features.config import FeatureConfig
from persona_risk.features.registry import BY_NAME, REGISTRY

FEATURE_CONTRACT_VERSION = "4"  # bump when a family computes a feature differently

FEATURE_NAMES: list[str] = [f.name for f in REGISTRY]


def _clock(hour: float) -> str:
    minutes = round(hour * 60) % (24 * 60)
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def _ordinal(percent: float) -> str:
    text = f"{percent:g}"
    n = int(text) if text.isdigit() else None
    suffix = ("th" if n is None or 10 <= n % 100 <= 20
              else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th"))
    return text + suffix


@cache  # per reason sentence otherwise: a frozen config gives the same words
def setting_words(cfg: FeatureConfig = FeatureConfig()) -> dict[str, str]:
    """The thresholds of `cfg` as words for meanings and reason sentences."""
    countries = list(cfg.high_risk_countries)
    return {
        "impossible_kmh": f"{cfg.impossible_kmh:,.0f}",
        "high_risk": ", ".join(countries) or "none",
        "high_risk_or": (" or ".join([", ".join(countries[:-1]), countries[-1]])
                         if len(countries) > 1 else (countries or ["none"])[0]),
        "night_start": _clock(cfg.night_start_hour), "night_end": _clock(cfg.night_end_hour),
        "speed_percentile": _ordinal(cfg.speed_quantile * 100),
    }


def meaning(name: str, cfg: FeatureConfig = FeatureConfig()) -> str:
    """What feature `name` means with the thresholds of `cfg`."""
    return BY_NAME[name].meaning.format(**setting_words(cfg))


def feature_contract(cfg: FeatureConfig = FeatureConfig()) -> str:
    """The contract of features computed with `cfg`'s thresholds: the code's version and a
    hash of it, the registry's features (name, family, unit, inputs, in order) and the
    thresholds (not the allow-list)."""
    text = json.dumps({"code": FEATURE_CONTRACT_VERSION, "settings": cfg.settings(),
                       "features": [(f.name, f.family, f.unit, f.needs) for f in REGISTRY]},
                      sort_keys=True)
    return f"{FEATURE_CONTRACT_VERSION}-{hashlib.sha256(text.encode()).hexdigest()[:16]}"


def reference_markdown(cfg: FeatureConfig = FeatureConfig()) -> str:
    """The feature reference as a Markdown table (name, family, unit, meaning) for the
    thresholds of `cfg`."""
    rows = ["| feature | family | unit | meaning |", "| --- | --- | --- | --- |"]
    rows += [f"| `{f.name}` | {f.family} | {f.unit} | {meaning(f.name, cfg)} |" for f in REGISTRY]
    return "\n".join(rows)
