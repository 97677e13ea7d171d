"""The settings file, `persona-risk.toml`: feature thresholds, band targets and allow-lists.

Found as `--config PATH` (or `PERSONA_RISK_CONFIG`), else `persona-risk.toml` in the working
directory, else the defaults. Read with `tomllib`, checked with pydantic: an unknown key or a bad
value is a `SettingsError` of one line naming the key. Sections:

- `[features]`: the thresholds of `features.config.FeatureConfig`. Training stores them with the
  model (and hashes them into its feature contract); scoring and serving use the model's. A key
  set here that differs from the model's is refused (`Settings.for_model`): retrain, or remove it.
- `[bands]`: `target_fpr` and `queue_size` that training chooses the band thresholds for.
- `[[allow]]`: `kind` ("cidr", "asn" or "device"), `value`, `reason`: infrastructure left out of
  reuse counts and travel hops (`features.allow`), applied wherever features are computed.
"""

from __future__ import annotations

import ipaddress
import os
import tomllib
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from persona_risk.features.allow import AllowEntry, AllowList
from persona_risk.features.config import FeatureConfig
from persona_risk.features.validate import MAX_ASN

if TYPE_CHECKING:
    from persona_risk.models.risk_model import RiskModel
    from persona_risk.training.fit import TrainConfig

FILE_NAME = "persona-risk.toml"
ENV = "PERSONA_RISK_CONFIG"
_F = FeatureConfig()
Hour = Annotated[float, Field(ge=0, lt=24)]


@cache
def _training_defaults() -> TrainConfig:
    """Training's defaults; imported when first asked for, since the model code is slow to
    import and only training needs the band targets."""
    from persona_risk.training.fit import TrainConfig

    return TrainConfig()


class SettingsError(ValueError):
    """The settings file cannot be used; the message is one line naming the file and key."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class FeatureSettings(_Strict):
    """`[features]`: see `FeatureConfig` for what each threshold means."""

    geo_floor_km: float = Field(_F.geo_floor_km, ge=0)
    impossible_kmh: float = Field(_F.impossible_kmh, gt=0)
    min_hop_hours: float = Field(_F.min_hop_hours, gt=0)
    speed_quantile: float = Field(_F.speed_quantile, gt=0, le=1)
    high_risk_countries: tuple[Annotated[str, Field(pattern="^[A-Z]{2}$")], ...] = (
        _F.high_risk_countries)
    night_start_hour: Hour = _F.night_start_hour
    night_end_hour: Hour = _F.night_end_hour
    shared_device_accounts: int = Field(_F.shared_device_accounts, ge=2)
    retention_days: float | None = Field(_F.retention_days, gt=0)


class BandSettings(_Strict):
    """`[bands]`: the high band holds at most `target_fpr` false positives and at most
    `queue_size` accounts on validation (the medium band five times that rate); a key not
    set is training's default."""

    target_fpr: float | None = Field(None, gt=0, lt=1)
    queue_size: int | None = Field(None, ge=1)


class AllowSettings(_Strict):
    """One `[[allow]]` entry."""

    kind: Literal["cidr", "asn", "device"]
    value: str | int
    reason: str = Field(min_length=1)

    @field_validator("value")
    @classmethod
    def _readable(cls, value: str | int, info) -> str:
        kind, text = info.data.get("kind"), str(value).strip()
        if kind == "cidr":
            try:
                return str(ipaddress.ip_network(text, strict=False))
            except ValueError as err:
                raise ValueError(f"not an IP range: {text!r}") from err
        if kind == "asn" and not (text.isdigit() and int(text) <= MAX_ASN):
            raise ValueError(f"not an ASN (an integer from 0 to {MAX_ASN}): {text!r}")
        if not text:
            raise ValueError("empty")
        return text


class SettingsFile(_Strict):
    features: FeatureSettings = FeatureSettings()
    bands: BandSettings = BandSettings()
    allow: list[AllowSettings] = []


@dataclass(frozen=True)
class Settings:
    """What a settings file says: feature thresholds with the allow-list, the keys of
    `[features]` it sets, its `[bands]` (a key not set: training's default), and where it came
    from (None: defaults)."""

    features: FeatureConfig = FeatureConfig()
    features_set: frozenset[str] = frozenset()
    bands: BandSettings = BandSettings()
    source: Path | None = None

    @property
    def allow(self) -> AllowList:
        return self.features.allow

    @property
    def target_fpr(self) -> float:
        """The high band's false-positive rate on validation (a share, 0-1)."""
        given = self.bands.target_fpr
        return _training_defaults().target_fpr if given is None else given

    @property
    def queue_size(self) -> int:
        """The analysts' queue: accounts the high band holds at most on validation."""
        given = self.bands.queue_size
        return _training_defaults().queue_size if given is None else given

    def for_model(self, model: RiskModel, model_name: str = "the model") -> FeatureConfig:
        """The model's thresholds with this file's allow-list; `SettingsError` when a
        `[features]` key this file sets differs from the model's."""
        theirs = model.feature_settings
        ours = self.features.settings()
        for key in sorted(self.features_set):
            if ours[key] != theirs.get(key):
                raise SettingsError(
                    f"{self.source}: features.{key} = {ours[key]!r}, but {model_name} was trained "
                    f"with {theirs.get(key)!r}: retrain with these settings, or remove the key "
                    "to score with the model's")
        return model.feature_config(self.allow)


def _where(loc: tuple) -> str:
    return "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in loc).lstrip(".")


def parse_settings(text: str, source: Path | str = FILE_NAME) -> Settings:
    """Settings from the text of a settings file; `SettingsError` (one line) when unusable."""
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise SettingsError(f"{source}: not TOML: {err}") from err
    try:
        parsed = SettingsFile.model_validate(raw)
    except ValidationError as err:
        first = err.errors()[0]
        what = (f"unknown key {_where(first['loc'])!r}" if first["type"] == "extra_forbidden"
                else f"{_where(first['loc'])}: {first['msg']}")
        more = f" (and {err.error_count() - 1} more)" if err.error_count() > 1 else ""
        raise SettingsError(f"{source}: {what}{more}") from err
    allow = AllowList(tuple(AllowEntry(a.kind, a.value, a.reason) for a in parsed.allow))
    features = FeatureConfig(**parsed.features.model_dump(), allow=allow)
    return Settings(features, frozenset(parsed.features.model_fields_set),
                    parsed.bands, Path(source))


def load_settings(path: Path | str | None = None) -> Settings:
    """The settings of `path`, else of `PERSONA_RISK_CONFIG`, else of `persona-risk.toml` in the
    working directory, else the defaults."""
    path = path or os.environ.get(ENV) or (FILE_NAME if Path(FILE_NAME).is_file() else None)
    if path is None:
        return Settings()
    try:
        text = Path(path).read_text()
    except (OSError, UnicodeDecodeError) as err:
        raise SettingsError(f"{path}: cannot read the settings file "
                            f"({getattr(err, 'strerror', None) or type(err).__name__})") from err
    return parse_settings(text, path)
