"""The evaluation report: PNG plots and a report.md with the tables, in one folder."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import shap  # noqa: E402
from sklearn.calibration import calibration_curve  # noqa: E402
from sklearn.metrics import precision_recall_curve  # noqa: E402

from persona_risk.features import schema as s  # noqa: E402
from persona_risk.features.reference import FEATURE_NAMES  # noqa: E402
from persona_risk.models.explanation import explanation, save_current_figure  # noqa: E402
from persona_risk.models.risk_model import RiskModel  # noqa: E402
from persona_risk.training.evaluate import MODEL, Evaluation  # noqa: E402
from persona_risk.training.fit import BANDS_CHOSEN_ON  # noqa: E402
from persona_risk.training.metrics import PRECISION_AT, with_intervals  # noqa: E402
from persona_risk.training.split import Split  # noqa: E402

PLOTS = ("precision_recall.png", "calibration.png", "shap_summary.png", "score_by_persona.png")


def markdown_table(df: pd.DataFrame, digits: int = 3) -> str:
    """A DataFrame as a Markdown table (index as the first column)."""
    def cell(v):
        return f"{v:.{digits}f}" if isinstance(v, float | np.floating) else str(v)

    header = "| " + " | ".join([df.index.name or ""] + [str(c) for c in df.columns]) + " |"
    rule = "|" + " --- |" * (len(df.columns) + 1)
    body = ["| " + " | ".join([str(i)] + [cell(v) for v in row]) + " |"
            for i, row in zip(df.index, df.itertuples(index=False), strict=True)]
    return "\n".join([header, rule, *body])


def _precision_recall(ev: Evaluation, path: Path) -> None:
    fig, ax = plt.subplots(figsize=(6, 4.5))
    y = ev.scores[s.LABEL].to_numpy()
    for name in ev.metrics.index:
        p, r, _ = precision_recall_curve(y, ev.scores[name].to_numpy())
        ax.step(r, p, where="post", label=f"{name} (AP {ev.metrics.loc[name, 'pr_auc']:.2f})")
    ax.set(xlabel="recall", ylabel="precision", title="Precision-recall on test accounts")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _calibration(ev: Evaluation, path: Path) -> None:
    fig, ax = plt.subplots(figsize=(5, 4.5))
    y = ev.scores[s.LABEL].to_numpy()
    ax.plot([0, 1], [0, 1], "k:", label="perfect")
    for name in (MODEL, "logistic_regression"):
        frac, mean = calibration_curve(y, ev.scores[name], n_bins=10, strategy="quantile")
        ax.plot(mean, frac, "o-", label=name)
    ax.set(xlabel="mean predicted probability", ylabel="fraction fraudulent",
           title="Calibration on test accounts")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _shap_summary(ev: Evaluation, test: pd.DataFrame, path: Path) -> None:
    shap.plots.beeswarm(explanation(ev.contributions, test[FEATURE_NAMES].to_numpy(float),
                                    FEATURE_NAMES), max_display=15, show=False)
    save_current_figure(path, (8, 6), dpi=110)


def _score_by_persona(ev: Evaluation, path: Path) -> bool:
    """Box plot of the model's score per archetype; False (nothing drawn) without archetypes."""
    known = ev.scores.dropna(subset=[s.PERSONA]) if s.PERSONA in ev.scores else ev.scores[:0]
    if known.empty:
        return False
    personas = known.groupby(s.PERSONA)[MODEL].median().sort_values().index
    fig, ax = plt.subplots(figsize=(7, 4.5))
    data = [known.loc[known[s.PERSONA] == p, MODEL].to_numpy() for p in personas]
    ax.boxplot(data, vert=False, tick_labels=list(personas), showfliers=True)
    ax.set_xscale("symlog", linthresh=0.01)
    ax.set(xlabel="calibrated score", title="Model score by archetype (test accounts)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True


def split_section(split: Split, table: pd.DataFrame, warnings: list[str],
                  note: str = "") -> str:
    """The split: method and why, accounts and classes per part, `note`, warnings."""
    counts = split.counts(table[s.LABEL])
    lines = ["## Split", "", f"Method `{split.method}`: {split.reason}.", "",
             markdown_table(counts)]
    if note:
        lines += ["", note]
    if warnings:
        lines += ["", *[f"- **warning**: {w}" for w in warnings]]
    return "\n".join(lines)


def bands_note(model: RiskModel) -> str:
    """What a report says of the model's band thresholds (calibrated probabilities) and the
    validation accounts they were chosen on (`training.fit.BANDS_CHOSEN_ON`): when those hold
    too few honest accounts to tell a false-positive rate as low as the target, that the bands'
    rate is uncertain. Empty for a model that does not say (trained before it did)."""
    chosen = model.info.get(BANDS_CHOSEN_ON)
    if chosen is None:
        return ""
    honest, target = chosen["honest"], chosen["target_fpr"]
    line = (f"Bands: `high` from {model.thresholds['high']:.3f}, `medium` from "
            f"{model.thresholds['medium']:.3f} (calibrated probability), chosen at training on "
            f"the validation part's {chosen['accounts']:,} accounts for at most {target:.1%} "
            f"false positives and {chosen['queue_size']} accounts in `high`.")
    if honest * target < 1:
        smallest = 1 / honest if honest else 1.0
        line += (f" Its {honest} honest accounts tell false-positive rates no finer than "
                 f"{smallest:.1%} (one of them), coarser than the target: on new accounts the "
                 "bands' rate is uncertain; label more honest accounts, or give validation a "
                 "larger share (`--val-frac`).")
    return line


def precision_ceiling(metric_names: Iterable[str], n_fraud: int, n_accounts: int) -> str | None:
    """A line saying how high precision at k can go when the top k of the test accounts
    (all of them, when fewer) must hold honest ones, fewer than k being fraudulent; None
    otherwise."""
    for name in metric_names:
        if name.startswith(PRECISION_AT):
            k = min(int(name.removeprefix(PRECISION_AT)), n_accounts)
            if n_fraud < k:
                top = f"top {k}" + (" (every test account)" if k == n_accounts else "")
                return (f"With {n_fraud} fraudulent test accounts, `{name}` is at most "
                        f"{n_fraud / k:.2f}: even a perfect ranking fills the other "
                        f"{k - n_fraud} of the {top} with honest accounts.")
    return None


def _metrics_section(title: str, points: pd.DataFrame, intervals: pd.DataFrame) -> list[str]:
    cells = with_intervals(points, intervals)
    cells.index.name = "scorer"
    return [f"## {title}", "", "Each figure with its bootstrap 95% interval (stratified "
            "resamples of the test accounts).", "", markdown_table(cells), ""]


def write_report(ev: Evaluation, test: pd.DataFrame, folder: Path | str,
                 extra: str = "") -> Path:
    """Write the plots and report.md into `folder`; returns the report's path."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    _precision_recall(ev, folder / PLOTS[0])
    _calibration(ev, folder / PLOTS[1])
    _shap_summary(ev, test, folder / PLOTS[2])
    plots = list(PLOTS[:3])
    if _score_by_persona(ev, folder / PLOTS[3]):
        plots.append(PLOTS[3])
    else:
        (folder / PLOTS[3]).unlink(missing_ok=True)
    n_pos = int(ev.scores[s.LABEL].sum())
    ceiling = precision_ceiling(ev.metrics.columns, n_pos, len(ev.scores))
    lines = [
        "# persona-risk evaluation", "",
        f"Test accounts: {len(ev.scores):,} ({n_pos} fraudulent), labelled accounts of the "
        "test part.", "", extra, "", *([ceiling, ""] if ceiling else []),
        *_metrics_section("Model and baselines on the same test accounts", ev.metrics,
                          ev.intervals),
    ]
    if ev.logs_only is not None:
        side = pd.DataFrame({"with accounts table": ev.metrics.loc[MODEL],
                             "sign-in logs only": ev.logs_only.loc[MODEL]})
        side.index.name = "model"
        lines += [*_metrics_section("Sign-in logs only (scored without the accounts table)",
                                    ev.logs_only, ev.logs_only_intervals),
                  "The model side by side in both conditions:", "", markdown_table(side), ""]
    if not ev.per_persona.empty:
        persona = ev.per_persona.copy()
        persona.index.name = "persona"
        lines += ["## Share flagged by archetype", "",
                  "Model and logistic regression at 1% false-positive rate; the rules where they "
                  "fire. Fraud archetypes: recall. Honest archetypes: how many of them are "
                  "flagged.", "", markdown_table(persona), ""]
    lines += ["## Plots", "", *[f"![{p.removesuffix('.png')}]({p})" for p in plots]]
    path = folder / "report.md"
    path.write_text("\n".join(lines) + "\n")
    return path
