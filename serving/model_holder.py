"""The serving model: loaded once through MLflow (URI, alias, feature-contract check), then used
unwrapped on arrays. A new champion is swapped in whole; a model that fails to load or fails the
contract check is refused, logged, and the old one keeps serving."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass

from persona_risk.models.pyfunc import load_risk_model, resolve_uri
from persona_risk.models.risk_model import RiskModel

DEFAULT_MODEL_URI = "models:/persona-risk@champion"
log = logging.getLogger("persona_risk.serving")


@dataclass(frozen=True)
class LoadedModel:
    model: RiskModel
    version: str


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
