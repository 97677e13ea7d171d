"""Reason codes: for each feature, a stable code and a sentence a person understands (the
texts live in the feature registry)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import pandas as pd

from persona_risk.features.config import FeatureConfig
from persona_risk.features.reference import setting_words
from persona_risk.features.registry import REGISTRY, SPEED_UNIT

# feature -> sentence template (`features.registry`): `{v}` is the feature's value, other fields
# come from the row and from the thresholds the features were computed with (`setting_words`)
SENTENCES: dict[str, str] = {f.name: f.sentence for f in REGISTRY}
FALLBACKS: dict[str, str] = {f.name: f.fallback for f in REGISTRY if f.fallback}
N_REASONS = 3  # reasons given per score


@dataclass(frozen=True)
class ReasonColumns:
    """The columns of a scores table that hold an account's j-th reason (from 1): its code,
    the feature's value, its SHAP contribution (log-odds) and its sentence."""

    code: str
    value: str
    shap: str
    text: str

    @classmethod
    def of(cls, j: int) -> ReasonColumns:
        return cls(f"reason_{j}_code", f"reason_{j}_value", f"reason_{j}_shap", f"reason_{j}")


# the reason slots of a scores table, first (largest contribution) to last
REASON_SLOTS: tuple[ReasonColumns, ...] = tuple(ReasonColumns.of(j)
                                                for j in range(1, N_REASONS + 1))


def reason_code(feature: str) -> str:
    """The stable reason code of a feature."""
    return feature.upper()


def plural_words(value: float) -> dict[str, str]:
    """The fields a sentence's count takes its plural from: `{s}` ("account{s}") and `{ies}`
    ("countr{ies}"), singular when the count shows as 1."""
    one = f"{value:.0f}" == "1"
    return {"s": "" if one else "s", "ies": "y" if one else "ies"}


def sentence(feature: str, value: float, context: pd.Series | dict | None = None,
             cfg: FeatureConfig = FeatureConfig()) -> str:
    """The sentence for a known value of a feature (a missing value is never a reason) computed
    with the thresholds of `cfg`; falls back to a plain one when context is missing."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        raise ValueError(f"{feature}: a missing value has no reason sentence")
    fields = {k: v for k, v in (dict(context) if context is not None else {}).items()
              if v is not None and not (isinstance(v, float) and math.isnan(v))}
    fields.update(setting_words(cfg), **plural_words(value))
    for template in (SENTENCES.get(feature), FALLBACKS.get(feature)):
        try:
            return template.format(v=value, **fields)
        except (AttributeError, KeyError, ValueError, TypeError):
            continue
    return f"{feature.replace('_', ' ')} = {value:,.2f}"

# feature -> why a value that raises the score can mean a remote-worker persona; shown beside the
# sentence. Speeds say "impossible" only past the impossible-travel speed (`impossible_kmh`).
WHY: dict[str, str] = {f.name: f.why for f in REGISTRY}
WHY_SIDE: dict[str, str] = {f.name: f.why_side for f in REGISTRY}
IMPOSSIBLE_WHY = "faster than {impossible_kmh} km/h: one person cannot make that trip"
# a value on the other side of the typical one than the feature's `why` speaks of
OTHER_SIDE_WHY = ("{side} than most accounts here (median {typical:,.3g}): the model learned "
                  "this from the fraud it was trained on, together with the other reasons")
SPEEDS = frozenset(f.name for f in REGISTRY if f.unit == SPEED_UNIT)  # hop speeds


def why(feature: str, value: float | None = None, cfg: FeatureConfig = FeatureConfig(),
        typical: float | None = None) -> str:
    """Why a feature that raises a score can be suspicious, in a few words ('' when unknown),
    with the impossible-travel speed of `cfg`. With the `typical` value (the accounts'
    median), a value on the other side of it than the feature's reason speaks of (one device
    where the reason warns of many) says so instead of giving that reason."""
    if feature in SPEEDS and value is not None and (
            value > cfg.impossible_kmh):
        return IMPOSSIBLE_WHY.format(**setting_words(cfg))
    side = WHY_SIDE.get(feature, "any")
    if value is not None and typical is not None and not math.isnan(typical) and (
            (side == "high" and value < typical) or (side == "low" and value > typical)):
        return OTHER_SIDE_WHY.format(side="lower" if side == "high" else "higher",
                                     typical=typical)
    return WHY.get(feature, "")
