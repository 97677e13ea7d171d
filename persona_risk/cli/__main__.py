"""`python -m persona_risk.cli`: the `persona-risk` command."""

from persona_risk.cli import app

app()
