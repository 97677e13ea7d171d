"""The serving model: loaded once through MLflow (URI, alias, feature-contract check), then used
unwrapped on arrays. A new champion is swapped in whole; a model that fails to load or fails the
contract check is refused, logged, and the old one keeps serving."""

from __future__ import annotations

import logging
import math
import threading
from collections.abc import Callable
from dataclasses import dataclass

from persona_risk.features import schema as s
from persona_risk.features.feature_store import FeatureRows, FeatureStore
from persona_risk.models.pyfunc import load_risk_model, resolve_uri
from persona_risk.models.reasons import REASON_SLOTS
from persona_risk.models.risk_model import RiskModel
from persona_risk.serving.api_responses import AccountScore, Reason

DEFAULT_MODEL_URI = "models:/persona-risk@champion"
log = logging.getLogger("persona_risk.serving")


@dataclass(frozen=True)
class LoadedModel:
    model: RiskModel
    version: str

    def score_accounts(self, store: FeatureStore, account_ids: list[str],
                       reasons: bool = True) -> dict[str, AccountScore]:
        """Fresh features (with the model's thresholds and the store's allow-list) and scores
        (with reasons unless asked not to) of accounts in the store, computed together on
        arrays (no table on the way); keyed by account id."""
        return self.scores(store.feature_rows(account_ids, cfg=self.model.feature_config()),
                           reasons)

    def scores(self, rows: FeatureRows, reasons: bool = True) -> dict[str, AccountScore]:
        """Scores (with reasons unless asked not to) of account features given as arrays."""
        scored = self.model.score_columns({s.ACCOUNT_ID: rows.account_ids, **rows.features},
                                          reasons=reasons)
        as_of = rows.at.at.to_pydatetime()
        out = {}
        for i, account_id in enumerate(scored[s.ACCOUNT_ID].tolist()):
            why = [Reason(code=scored[slot.code][i], value=_number(scored[slot.value][i]),
                          contribution=float(scored[slot.shap][i]), text=scored[slot.text][i])
                   for slot in REASON_SLOTS if scored[slot.code][i] is not None] \
                if reasons else []
            out[account_id] = AccountScore(account_id=account_id, score=float(scored["score"][i]),
                                           band=scored["band"][i], reasons=why,
                                           model_version=self.version, as_of=as_of)
        return out


def _number(value: float) -> float | None:
    return None if math.isnan(value) else float(value)


class ModelHolder:
    """Holds the current model; `reload` swaps atomically or keeps the old one. `accept(model,
    version)`, when given, may refuse a loaded model by raising (the settings file's check)."""

    def __init__(self, uri: str = DEFAULT_MODEL_URI,
                 accept: Callable[[RiskModel, str], object] | None = None):
        self.uri = uri
        self.accept = accept
        self._current: LoadedModel | None = None
        self._lock = threading.Lock()
        self.last_error: str | None = None

    @property
    def current(self) -> LoadedModel | None:
        return self._current

    def reload(self) -> bool:
        """Load the model the URI names now; True when a different version was swapped in."""
        with self._lock:
            try:
                _, version = resolve_uri(self.uri)
                if self._current is not None and self._current.version == version:
                    return False
                model, version = load_risk_model(self.uri)
                if self.accept is not None:
                    self.accept(model, f"model {version}")
            except Exception as err:  # any failure keeps the old model serving
                self.last_error = f"{type(err).__name__}: {err}"
                log.error("model %s refused, keeping %s: %s", self.uri,
                          self._current.version if self._current else "none", self.last_error)
                return False
            self._current, self.last_error = LoadedModel(model, version), None
            log.info("serving model %s", version)
            return True

    def watch(self, every_s: float, stop: threading.Event) -> threading.Thread:
        """Check the alias every `every_s` seconds until `stop` is set."""
        def loop():
            while not stop.wait(every_s):
                self.reload()

        thread = threading.Thread(target=loop, name="model-watch", daemon=True)
        thread.start()
        return thread
