"""Nightly batch scoring, partitioned by account so that it scales past memory.

The passes of `serving.partitions` give one partition's account features at a time; each is
scored as it comes (reasons above the low band, see `batch_scores`) and the drift profile
grows with it. The output, its quarantine and the run summary are written atomically.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from persona_risk.features import schema as s
from persona_risk.features.allow import AllowList
from persona_risk.features.io import (
    SUMMARY,
    read_table,
    remove_stale_temps,
    side_file,
    temp_folder,
    write_quarantine,
    write_table,
    write_text,
)
from persona_risk.features.validate import SchemaError, validate_accounts
from persona_risk.models.reasons import REASON_SLOTS
from persona_risk.models.risk_model import BANDS, RiskModel
from persona_risk.serving.decisions import with_decisions
from persona_risk.serving.drift import DriftWatch
from persona_risk.serving.partitions import spilled_features

# each reason's columns in the order of the scores file: code, sentence, value, contribution
REASON_COLUMNS = [name for slot in REASON_SLOTS
                  for name in (slot.code, slot.text, slot.value, slot.shap)]
OUTPUT_COLUMNS = [s.ACCOUNT_ID, "score", "band", *REASON_COLUMNS, "model_version", s.AS_OF]


@dataclass
class BatchSummary:
    """What a batch run did; printed and written as JSON beside the output."""

    accounts_scored: int = 0
    per_band: dict = field(default_factory=dict)
    events: int = 0
    rows_quarantined: int = 0
    model_version: str = ""
    as_of: str = ""
    partitions: int = 1
    duration_s: float = 0.0
    output: str = ""
    quarantine: str | None = None
    drift: dict = field(default_factory=dict)  # see serving.drift.compare


def finish_summary(summary: BatchSummary, started: float, quarantine: pd.DataFrame,
                   write_quarantine: Callable[[pd.DataFrame], Path | str | None],
                   write_summary: Callable[[str], object]) -> BatchSummary:
    """The end of a batch run, the same for every engine: write the quarantine (the file
    matches the summary: none when nothing was set aside), note where it went and how long the
    run took since `started` (`time.perf_counter()`), and write the summary as JSON."""
    written = write_quarantine(quarantine)
    summary.quarantine = str(written) if written else None
    summary.duration_s = round(time.perf_counter() - started, 3)
    write_summary(json.dumps(asdict(summary), indent=1))
    return summary


def batch_scores(model: RiskModel, features: pd.DataFrame, all_reasons: bool = False
                 ) -> pd.DataFrame:
    """`model.score` of an account feature table, with reasons only for the accounts above the
    low band unless `all_reasons`: the low band's reason slots are empty (code and sentence
    None, value and contribution NaN). TreeSHAP is most of the scoring time, and nobody reviews
    the low band; the other rows equal `model.score`'s."""
    if all_reasons:
        return model.score(features)
    scored = model.score(features, reasons=False)
    above = (scored["band"] != BANDS[0]).to_numpy()
    picked = features[above]
    reasons = model.reasons(picked, model.matrix(picked)) if above.any() else None
    slots = {}
    numbers = {name for slot in REASON_SLOTS for name in (slot.value, slot.shap)}
    for name in REASON_COLUMNS:
        number = name in numbers
        values = np.full(len(features), np.nan if number else None, float if number else object)
        if reasons is not None:
            values[above] = np.asarray(reasons[name], dtype=values.dtype)
        slots[name] = values
    return scored.assign(**slots)


def score_events(events: list[Path], model: RiskModel, model_version: str, out: Path,
                 accounts: list[Path] | None = None, as_of: pd.Timestamp | None = None,
                 partitions: int = 1, geoip_db: Path | None = None,
                 now: pd.Timestamp | None = None, allow: AllowList = AllowList(),
                 say: Callable[[str], None] = lambda _: None,
                 drift: DriftWatch | None = None,
                 decisions: pd.DataFrame | None = None,
                 all_reasons: bool = False) -> BatchSummary:
    """Score every account of the event files (and accounts files) as of `as_of` (default:
    the last event) into `out`: one row per account with score, band, reasons, model version
    and as_of, the features computed with the model's thresholds and `allow`. Beside `out`
    (`<stem>` its name without the suffix): quarantined rows in `<stem>.quarantine.csv`, the
    summary in `<stem>.summary.json`, with the drift against `drift`'s reference and the
    previous run (default: the profile the last run left beside `out`); a quarantine file of
    an earlier run is removed when none is set aside, and temporary files of a killed run are
    removed first. With `decisions` (`serving.decisions.read_decisions`), each account's latest
    analyst decision and its time are two more columns. Reasons are given for the accounts
    above the low band only, or for all with `all_reasons` (see `batch_scores`)."""
    start = time.perf_counter()
    cfg = model.feature_config(allow)
    out.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temps(out.parent)
    drift = DriftWatch(out) if drift is None else drift
    acc = validate_accounts(read_table(accounts)) if accounts else None
    with temp_folder(out.parent, "spill") as spilled:
        run = spilled_features(events, acc, out, spilled, partitions, as_of, cfg, geoip_db,
                               now, say)
        as_of, quarantine, n_events = run.as_of, run.quarantine, run.events
        scored = []
        for p, features in run.partitions:
            if len(features):  # none when no account of the partition exists yet as of T
                scored.append(batch_scores(model, features, all_reasons))
                drift.add(features, scored[-1])
            say(f"scored partition {p + 1}/{partitions}")
    if not scored:
        raise SchemaError("events", s.TS, f"no account has an event or a record as of {as_of} "
                          "(events later than it do not count); pass a later --as-of")
    result = pd.concat(scored, ignore_index=True).sort_values(s.ACCOUNT_ID, kind="stable")
    result = result.assign(model_version=model_version, as_of=as_of)[OUTPUT_COLUMNS]
    if decisions is not None:
        result = with_decisions(result, decisions)
    write_table(result.reset_index(drop=True), out)
    summary = BatchSummary(
        accounts_scored=len(result), per_band=result["band"].value_counts().to_dict(),
        events=n_events, rows_quarantined=len(quarantine), model_version=model_version,
        as_of=str(as_of), partitions=partitions, output=str(out), drift=drift.finish())
    return finish_summary(summary, start, quarantine, lambda q: write_quarantine(q, out),
                          lambda text: write_text(text, side_file(out, SUMMARY)))
