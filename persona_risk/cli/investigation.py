"""The analyst's commands: `explain` accounts as investigation pages, `review` one (record a
decision, which becomes a training label)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from persona_risk.cli.options import (
    DEFAULT_MODEL,
    AccountsOpt,
    AsOf,
    ConfigOpt,
    Decision,
    DecisionsOpt,
    EventsOpt,
    ModelOpt,
    console,
    load_model,
    read_settings,
    steps,
    utc_time,
)
from persona_risk.cli_errors import UserError
from persona_risk.serving.decisions import DECISIONS_FILE


def explain(
    events: EventsOpt,
    out: Annotated[Path, typer.Option(help="Folder for the pages: index.html, assets/ and one "
                                           "folder per account.")],
    account_id: Annotated[str | None, typer.Argument(
        help="The account to investigate (with the accounts of its cluster).")] = None,
    high_band: Annotated[bool, typer.Option(
        "--high-band", help="Pages of every high-band account (and their clusters).")] = False,
    accounts: AccountsOpt = None,
    as_of: AsOf = None,
    model: ModelOpt = DEFAULT_MODEL,
    decisions: DecisionsOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Investigation pages (offline HTML, with the same content as JSON) of an account or of
    the whole high band, with an index page."""
    from persona_risk.features.memory_engine import load_inputs
    from persona_risk.features.pipeline import known_accounts
    from persona_risk.serving.decisions import read_decisions
    from persona_risk.serving.investigation.case import score_population
    from persona_risk.serving.investigation.page import page_folder, write_pages

    if (account_id is None) == (not high_band):
        raise typer.BadParameter("give an ACCOUNT_ID or --high-band (not both)")
    settings = read_settings(config)
    with steps("reading and scoring") as say:
        inputs = load_inputs(events, accounts)
        if account_id is not None and account_id not in known_accounts(
                inputs.events, inputs.accounts, utc_time(as_of)):
            raise typer.BadParameter(f"{account_id!r} has no events or record as of the cut",
                                     param_hint="ACCOUNT_ID")
        risk_model, version = load_model(model)
        allow = settings.for_model(risk_model, f"model {version}").allow
        pop = score_population(risk_model, version, inputs.events, inputs.accounts,
                               utc_time(as_of), allow)
        ids = ([account_id] if account_id else
               sorted(pop.scores.index[pop.scores["band"] == "high"]))
        say(f"writing the pages of {len(ids):,} accounts")
        index = write_pages(pop, ids, out, read_decisions(decisions) if decisions else None)
    if account_id:
        score = pop.scores.loc[account_id]
        console.print(f"score {score['score']:.3f} ({score['band']}); report: "
                      f"{out / page_folder(account_id) / 'report.html'}")
    console.print(f"{len(ids):,} accounts; index: {index}")


def review(
    account_id: Annotated[str, typer.Argument(help="The account decided on.")],
    decision: Annotated[Decision, typer.Option(help="What the analyst found.")],
    note: Annotated[str, typer.Option(help="Why: what the analyst saw.")] = "",
    analyst: Annotated[str | None, typer.Option(help="Who decided; default: the user name.")
                       ] = None,
    decisions: Annotated[Path, typer.Option(help="Decisions table (SQLite file).")
                         ] = DECISIONS_FILE,
) -> None:
    """Record an analyst's decision on an account; the decisions become training labels."""
    import getpass

    from persona_risk.serving.decisions import record_decision

    try:
        row = record_decision(decisions, account_id, decision.value,
                              analyst or getpass.getuser(), note)
    except ValueError as err:  # an empty id or analyst, an over-long note
        raise UserError(f"not recorded: {err}") from err
    console.print(f"{row['account_id']}: {row['decision']} by {row['analyst']} at "
                  f"{row['decided_at']} -> {decisions}")
