"""The profile of an account feature table and its scores: per feature the decile bins and
their counts, the missing values, and the score and band counts. Training logs the profile of
its data with the model (`models.pyfunc`); the nightly job compares its own against it
(`serving.drift`)."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from persona_risk.features.io import write_text
from persona_risk.features.reference import FEATURE_NAMES
from persona_risk.models.risk_model import BANDS, RiskModel

SCORE_EDGES = np.linspace(0.1, 0.9, 9)  # inner edges: ten score bins of 0.1
DECILES = np.linspace(0.1, 0.9, 9)


@dataclass
class Profile:
    """Binned distributions of features and scores; counts add up over partitions."""

    edges: dict[str, list[float]]
    counts: dict[str, list[int]] = field(default_factory=dict)
    nulls: dict[str, int] = field(default_factory=dict)
    rows: int = 0
    scores: list[int] = field(default_factory=lambda: [0] * (len(SCORE_EDGES) + 1))
    bands: dict[str, int] = field(default_factory=lambda: dict.fromkeys(BANDS, 0))

    @classmethod
    def binned_like(cls, features: pd.DataFrame) -> Profile:
        """An empty profile whose bins are the deciles of `features` (account feature table)."""
        edges = {}
        for name in FEATURE_NAMES:
            values = features[name].to_numpy(float)
            values = values[~np.isnan(values)]
            edges[name] = (np.unique(np.quantile(values, DECILES)).tolist() if len(values)
                           else [])
        return cls(edges)

    def empty_copy(self) -> Profile:
        return Profile({k: list(v) for k, v in self.edges.items()})

    def add(self, features: pd.DataFrame, scores: pd.DataFrame | None = None) -> None:
        """Count a partition: its account features and, when given, its scores (score,
        band)."""
        for name, edges in self.edges.items():
            values = features[name].to_numpy(float)
            missing = np.isnan(values)
            bins = np.bincount(np.searchsorted(edges, values[~missing], side="right"),
                               minlength=len(edges) + 1)
            old = self.counts.get(name, [0] * (len(edges) + 1))
            self.counts[name] = [int(a + b) for a, b in zip(old, bins, strict=True)]
            self.nulls[name] = self.nulls.get(name, 0) + int(missing.sum())
        self.rows += len(features)
        if scores is None:
            return
        bins = np.bincount(np.searchsorted(SCORE_EDGES, scores["score"].to_numpy(float),
                                           side="right"), minlength=len(SCORE_EDGES) + 1)
        self.scores = [int(a + b) for a, b in zip(self.scores, bins, strict=True)]
        for band, n in scores["band"].value_counts().items():
            self.bands[band] = self.bands.get(band, 0) + int(n)

    def write(self, path: Path) -> Path:
        return write_text(json.dumps(asdict(self)), path)

    @classmethod
    def read(cls, path: Path) -> Profile:
        return cls(**json.loads(Path(path).read_text()))


def profile_of(features: pd.DataFrame, model: RiskModel | None = None) -> Profile:
    """The profile of an account feature table binned on its own deciles, with `model`'s
    scores and bands of it when a model is given (a training reference)."""
    profile = Profile.binned_like(features)
    profile.add(features, None if model is None else model.score(features, reasons=False))
    return profile
