"""The still images of an investigation page (PNG): the activity clock and the SHAP waterfall."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import shap  # noqa: E402

from persona_risk.features import schema as s  # noqa: E402
from persona_risk.features.arrays import Keys, timestamps_ns  # noqa: E402
from persona_risk.features.config import FeatureConfig  # noqa: E402
from persona_risk.features.geo import HOURS_PER_DAY, utc_offset_hours  # noqa: E402
from persona_risk.features.reference import setting_words  # noqa: E402
from persona_risk.features.timezones import is_night, local_hour  # noqa: E402
from persona_risk.models.explanation import explanation, save_current_figure  # noqa: E402
from persona_risk.serving.investigation import BLUE, RED  # noqa: E402
from persona_risk.serving.investigation.case import Investigation  # noqa: E402


def _local_hours(events: pd.DataFrame, zones: pd.Series) -> np.ndarray:
    keys = Keys.of(zones)
    ts = timestamps_ns(events[s.TS])
    return local_hour(ts, utc_offset_hours(keys.codes, keys.values, ts))


@dataclass(frozen=True)
class Clock:
    """What the activity clock draws: local hours of the sign-ins per panel, which hour of day
    is night (the model's night window) and the legend's words."""

    hours: dict[str, np.ndarray]
    night: np.ndarray  # 24 booleans, hour h of day
    labels: tuple[str, str]  # day, night


def clock(inv: Investigation, cfg: FeatureConfig) -> Clock:
    """The clock of `inv`'s sign-ins in the claimed zone and in the device's own, night as
    the features computed it with `cfg`."""
    claimed = inv.record.get(s.CLAIMED_TIMEZONE)
    ev = inv.sign_ins
    hours = {f"in the claimed zone ({claimed or 'unknown'})":
             _local_hours(ev, pd.Series([claimed] * len(ev), dtype=object)),
             "in the device's own zone": _local_hours(ev, ev[s.DEVICE_TZ])}
    words = setting_words(cfg)
    start, end = words["night_start"], words["night_end"]
    return Clock(hours, is_night(np.arange(HOURS_PER_DAY), cfg),
                 (f"{end}-{start}", f"night, {start}-{end}"))


def write_clock(inv: Investigation, path: Path, cfg: FeatureConfig) -> None:
    """Events per hour of day in the claimed zone and in the device's own, night (`cfg`'s
    window) in red."""
    drawn = clock(inv, cfg)
    fig, axes = plt.subplots(1, 2, subplot_kw={"projection": "polar"}, figsize=(9, 4.8))
    night = drawn.night
    for ax, (title, hours) in zip(axes, drawn.hours.items(), strict=True):
        hours = hours[~np.isnan(hours)]
        counts = np.bincount(hours.astype(int) % 24, minlength=24)
        theta = (np.arange(24) + 0.5) / 24 * 2 * np.pi
        ax.bar(theta, counts, width=2 * np.pi / 24, color=np.where(night, RED, BLUE))
        ax.set_theta_zero_location("N")
        ax.set_theta_direction(-1)
        ax.set_xticks(np.arange(0, 24, 3) / 24 * 2 * np.pi, [f"{h}:00" for h in range(0, 24, 3)])
        ax.tick_params(axis="y", labelsize=7)
        ax.set_title(f"events per hour of day,\n{title}", fontsize=9)
    fig.legend(handles=[plt.Rectangle((0, 0), 1, 1, color=BLUE),
                        plt.Rectangle((0, 0), 1, 1, color=RED)],
               labels=list(drawn.labels), loc="lower center", ncol=2,
               fontsize=8, title="bar length: events in that hour (rings: scale)",
               title_fontsize=8)
    fig.subplots_adjust(left=0.05, right=0.95, top=0.82, bottom=0.2, wspace=0.35)
    fig.savefig(path, dpi=100)
    plt.close(fig)


def write_waterfall(inv: Investigation, path: Path) -> None:
    """The SHAP waterfall of the account's score, in log-odds."""
    shap.plots.waterfall(explanation(inv.contributions, inv.x, inv.feature_names),
                         max_display=10, show=False)
    b = inv.band
    plt.gcf().suptitle(f"log-odds f(x) = {b['log_odds']:.2f}  ->  calibrated score "
                       f"{inv.summary['score']:.3f}", fontsize=10)
    save_current_figure(path, (8, 5.4))

