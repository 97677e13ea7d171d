"""SHAP explanations of the model's contributions, and saving the plots shap draws."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import shap  # noqa: E402


def explanation(contributions: np.ndarray, data: np.ndarray,
                feature_names: list[str]) -> shap.Explanation:
    """A shap Explanation from TreeSHAP contributions (bias in the last column)."""
    base = contributions[..., -1]
    return shap.Explanation(values=contributions[..., :-1],
                            base_values=float(base) if base.ndim == 0 else base, data=data,
                            feature_names=feature_names)


def save_current_figure(path: Path, size: tuple[float, float], dpi: int = 100) -> None:
    """Save the figure a shap plot drew (on matplotlib's current figure) and close it."""
    fig = plt.gcf()
    fig.set_size_inches(*size)
    fig.tight_layout()
    fig.savefig(path, dpi=dpi)
    plt.close(fig)
