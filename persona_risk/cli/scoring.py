"""The scoring commands: `score` every account in bulk (the nightly job), export `alerts` to a
SIEM, `serve` scores online."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from persona_risk.cli.options import (
    DEFAULT_MODEL,
    AccountsOpt,
    AsOf,
    ConfigOpt,
    DecisionsOpt,
    Durability,
    Engine,
    EngineOpt,
    EventsOpt,
    GeoipOpt,
    MasterOpt,
    ModelOpt,
    check_engine,
    check_out,
    console,
    load_model,
    read_settings,
    steps,
    utc_time,
)
from persona_risk.cli_errors import input_errors
from persona_risk.serving.decisions import DECISIONS_FILE


def score(
    events: EventsOpt,
    out: Annotated[Path, typer.Option(help="Scores (.parquet, or .csv by extension).")],
    accounts: AccountsOpt = None,
    as_of: AsOf = None,
    model: ModelOpt = DEFAULT_MODEL,
    partitions: Annotated[int, typer.Option(min=1, help="Account partitions (memory bound).")
                          ] = 4,
    geoip_db: GeoipOpt = None,
    engine: EngineOpt = Engine.local,
    spark_master: MasterOpt = None,
    drift_reference: Annotated[Path | None, typer.Option(
        help="Training reference for the drift check: an account feature table or a profile "
             "JSON (default: the one logged with the model).")] = None,
    fail_on_drift: Annotated[bool, typer.Option(
        "--fail-on-drift", help="Exit 3 when a drift limit is passed.")] = False,
    decisions: Annotated[Path | None, typer.Option(
        exists=True, dir_okay=False, help="Analysts' decisions (SQLite file, see `review`) "
        f"shown beside the scores; default: ./{DECISIONS_FILE} when it exists.")] = None,
    all_reasons: Annotated[bool, typer.Option(
        "--all-reasons", help="Reasons for the low band too (TreeSHAP on every account; by "
        "default only accounts above the low band get reasons).")] = False,
    config: ConfigOpt = None,
) -> None:
    """Score every account in bulk (the nightly job); writes scores, quarantine and summary
    (with drift against the training reference and the previous run)."""
    from persona_risk.serving.batch import score_events
    from persona_risk.serving.decisions import read_decisions

    check_engine(engine, out)
    if engine == "spark" and (drift_reference or fail_on_drift or decisions):
        raise typer.BadParameter("the drift check and decisions run with the local engine only",
                                 param_hint="'--drift-reference', '--decisions'")
    check_out(out, events, accounts)
    tracked = os.environ.get("MLFLOW_TRACKING_URI")  # the user's; loading a model sets it
    if decisions is None and DECISIONS_FILE.exists() and engine == "local":
        decisions = DECISIONS_FILE
    settings = read_settings(config)
    logged, version = load_model(model, logged=True)
    allow = settings.for_model(logged.risk_model, f"model {version}").allow
    with steps("scoring") as say:
        try:
            if engine == "spark":
                from persona_risk.features.spark_engine import spark_session
                from persona_risk.serving.spark_batch import spark_score

                summary = spark_score(spark_session(spark_master), [str(p) for p in events],
                                      logged.risk_model, version, str(out), accounts,
                                      utc_time(as_of), str(geoip_db) if geoip_db else None,
                                      allow=allow, say=say, all_reasons=all_reasons)
            else:
                from persona_risk.serving.drift import DriftWatch, reference_profile

                reference, source = ((reference_profile(drift_reference), str(drift_reference))
                                     if drift_reference else
                                     (logged.reference, f"logged with model {version}"))
                console.print(f"drift reference: {source}" if reference else
                              "drift reference: none (the model was logged without one)")
                if decisions:
                    console.print(f"decisions: {decisions}")
                summary = score_events(
                    events, logged.risk_model, version, out, accounts, utc_time(as_of),
                    partitions, geoip_db, allow=allow, say=say,
                    drift=DriftWatch(out, reference, reference_source=source),
                    decisions=read_decisions(decisions) if decisions else None,
                    all_reasons=all_reasons)
        except ValueError as err:
            if isinstance(err, input_errors()):  # the user's input: one line, exit 2
                raise
            console.print(f"[red]nothing scored:[/red] {err}")
            raise typer.Exit(1) from err
    console.print_json(data={k: v for k, v in summary.__dict__.items() if k != "drift"})
    if tracked:
        from dataclasses import asdict

        from persona_risk.serving.drift import log_to_mlflow

        console.print(f"MLflow run {log_to_mlflow(asdict(summary))} (persona-risk-nightly)")
    for warning in getattr(summary, "drift", {}).get("warnings", []):
        console.print(f"[yellow]WARNING drift:[/yellow] {warning}")
    if fail_on_drift and getattr(summary, "drift", {}).get("warnings"):
        raise typer.Exit(3)


def alerts(
    scores: Annotated[Path, typer.Option(help="Scores written by `persona-risk score`.")],
    out: Annotated[Path, typer.Option(help="Alerts, one ECS-style JSON object a line.")],
    webhook: Annotated[str | None, typer.Option(
        help="POST the alerts here too (bearer token from PERSONA_RISK_WEBHOOK_TOKEN).")] = None,
    decisions: DecisionsOpt = None,
) -> None:
    """Export the high band with its reasons as JSON lines for a SIEM (and a webhook); accounts
    an analyst cleared (last decision legit) are left out."""
    from persona_risk.features.io import read_table
    from persona_risk.serving.alerts import WebhookError, post_alerts, write_alerts
    from persona_risk.serving.decisions import read_decisions

    n = write_alerts(read_table([scores]), out, read_decisions(decisions) if decisions else None)
    console.print(f"{n:,} alerts -> {out}")
    if webhook:
        try:
            status = post_alerts(out, webhook, os.environ.get("PERSONA_RISK_WEBHOOK_TOKEN"))
        except WebhookError as err:
            console.print(f"[red]not delivered:[/red] {err}")
            raise typer.Exit(1) from err
        console.print(f"delivered to {webhook} (HTTP {status})")


def serve(
    model: ModelOpt = DEFAULT_MODEL,
    host: Annotated[str, typer.Option(help="Address to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port.")] = 8080,
    state: Annotated[str, typer.Option(
        help="Online state: a SQLite file, or redis://HOST:PORT/DB shared by replicas.")
    ] = "state.sqlite",
    insecure_no_auth: Annotated[bool, typer.Option(
        "--insecure-no-auth", help="Allow no token (loopback addresses only).")] = False,
    reload_every: Annotated[float, typer.Option(
        min=0.001, help="Seconds between alias checks.")] = 60.0,
    batch_budget: Annotated[float, typer.Option(
        min=0.001, help="Seconds a POST /v1/events may wait for its coalesced batch; past it, "
        "503 with Retry-After.")] = 10.0,
    durability: Annotated[Durability | None, typer.Option(
        help="What an acknowledged event of a SQLite state survives: power-loss (default: "
        "each reply waits for the disk) or crash (a crash or kill of the service; faster, "
        "the last events may be lost if the machine loses power). Redis keeps its own.",
        show_default=False)] = None,
    config: ConfigOpt = None,
) -> None:
    """Serve scores online (FastAPI + uvicorn); needs PERSONA_RISK_API_TOKEN."""
    from persona_risk.serving.server import serve as run

    settings = read_settings(config)
    # a StartupError: exit 2
    run(model, host, port, state, insecure_no_auth, reload_every, batch_budget, settings.allow,
        settings.for_model, durability and durability.value)
