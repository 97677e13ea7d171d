"""persona-risk: find fraudulent remote-worker personas in sign-in logs and score every account.

The one import name of the distribution. Its parts live in the repository's top-level folders
and install as `persona_risk.features` (validation, adapters, signals), `persona_risk.models`
(LightGBM, calibration, reasons, the MLflow model), `persona_risk.training` (simulator, fit,
evaluation, registry) and `persona_risk.serving` (nightly batch, online service); the CLI is
`persona_risk.cli`.
"""

from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

try:
    __version__ = version("persona-risk")
except PackageNotFoundError:  # running from a copy of the code, as a logged model does
    __version__ = "0+unknown"

# In a source checkout the parts sit beside this folder rather than inside it (the package-dir
# mapping in pyproject.toml does the same for an install); resolve them from the checkout this
# file belongs to, so that a second checkout on PYTHONPATH never mixes with the installed one.
_checkout = Path(__file__).resolve().parent.parent
if (_checkout / "pyproject.toml").is_file() and (_checkout / "features" / "__init__.py").is_file():
    __path__.append(str(_checkout))
