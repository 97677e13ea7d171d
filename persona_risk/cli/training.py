"""The model commands: `train` and register, `evaluate` a registered model, test its
`robustness` on shifted worlds; and how an evaluation is printed."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from persona_risk.cli.options import (
    DEFAULT_MODEL,
    FRACTION,
    AsOf,
    ConfigOpt,
    EventsOpt,
    ModelOpt,
    SplitMethod,
    SplitOpt,
    check_out,
    console,
    load_model,
    read_settings,
    steps,
    utc_time,
)
from persona_risk.features import schema as s

if TYPE_CHECKING:
    import pandas as pd

LabelledAccounts = Annotated[list[Path], typer.Option(
    "--accounts", help="Accounts with a label column (1, 0, or empty when unknown).")]
ReportOpt = Annotated[Path, typer.Option(help="Report folder.")]
ValFrac = Annotated[float, typer.Option(
    **FRACTION, help="Share of labelled accounts for validation, in (0, 1); with --test-frac "
                     "below 1.")]
TestFrac = Annotated[float, typer.Option(
    **FRACTION, help="Share of labelled accounts for test, in (0, 1).")]
Seed = Annotated[int, typer.Option(help="Random seed (of the split too).")]


def train(
    events: EventsOpt,
    accounts: LabelledAccounts,
    as_of: AsOf = None,
    model_name: Annotated[str, typer.Option(help="Registered model name.")] = "persona-risk",
    report: ReportOpt = Path("report"),
    tune: Annotated[int, typer.Option(min=0, help="Optuna trials of hyperparameter search.")
                    ] = 0,
    split: SplitOpt = SplitMethod.auto,
    val_frac: ValFrac = 0.25,
    test_frac: TestFrac = 0.35,
    target_fpr: Annotated[float | None, typer.Option(
        **FRACTION, help="False-positive rate of the high band, in (0, 1); default: the "
        "settings' bands.target_fpr (0.01).")] = None,
    queue: Annotated[int | None, typer.Option(
        min=1, help="Analyst queue size (precision at k); default: the settings' "
        "bands.queue_size (50).")] = None,
    seed: Seed = 0,
    monotone: Annotated[bool, typer.Option(
        help="Constrain the model never to lower the risk as a feature the registry marks "
             "risk-only grows (hops, sharing, zone mismatch: explanations always point one "
             "way; it costs some recall).")] = False,
    boosters: Annotated[int | None, typer.Option(
        min=1, help="LightGBM boosters averaged into the model (seeds --seed, --seed + 1, "
                    "...; its scores and reasons are their mean): more hold up better on "
                    "data unlike the training data, each adds its fit and scoring time. "
                    "Default: training's (5).")] = None,
    simulated: Annotated[int, typer.Option(
        min=0, help="Simulated accounts to fit beside yours (16000 is a good start when few "
                    "of your accounts are labelled fraud); together they weigh as a few "
                    "hundred of yours and never enter calibration, thresholds or the test "
                    "figures. 0: none.")
                     ] = 0,
    config: ConfigOpt = None,
) -> None:
    """Train, evaluate against the baselines, log to MLflow, register, run the champion gate."""
    from persona_risk.features.memory_engine import load_inputs
    from persona_risk.training.fit import TrainConfig
    from persona_risk.training.registry import configure_tracking
    from persona_risk.training.split import SplitConfig, SplitWarning
    from persona_risk.training.train import run_training

    _check_fractions(val_frac, test_frac)
    check_out(report, events, accounts, option="--report")
    settings = read_settings(config)
    with steps("reading and validating") as say, warnings.catch_warnings():
        warnings.simplefilter("ignore", SplitWarning)  # printed below with the split
        inputs = load_inputs(events, accounts)
        _set_aside(inputs, report)
        say("features, training and evaluation" +
            (f" (with {simulated:,} simulated accounts)" if simulated else ""))
        outcome = run_training(
            inputs, utc_time(as_of), model_name, report,
            TrainConfig(seed=seed, monotone=monotone, simulated_accounts=simulated,
                        boosters=TrainConfig.boosters if boosters is None else boosters,
                        target_fpr=settings.target_fpr if target_fpr is None else target_fpr,
                        queue_size=settings.queue_size if queue is None else queue),
            SplitConfig(split.value, val_frac, test_frac, seed), tune,
            features=settings.features)
    _print_evaluation(outcome)
    console.print(outcome.decision.message())
    console.print(f"registered {model_name} v{outcome.version} (run {outcome.run_id})")
    console.print(f"report: {outcome.report}")
    uri = configure_tracking()
    console.print(f"MLflow UI: {uri}" if uri.startswith("http") else
                  f"MLflow UI: mlflow ui --backend-store-uri {uri}")


def _metrics_table(title: str, points: pd.DataFrame, intervals: pd.DataFrame) -> Table:
    from persona_risk.training.metrics import with_intervals

    table = Table(title=title)
    table.add_column("scorer")
    for col in points.columns:
        table.add_column(col, justify="right")
    for name, row in with_intervals(points, intervals).iterrows():
        table.add_row(name, *row)
    return table


def _print_evaluation(outcome) -> None:
    ev, split = outcome.evaluation, outcome.split
    console.print(f"split {split.method}: {split.reason}")
    counts = split.counts(outcome.table[s.LABEL])
    console.print("  " + "; ".join(f"{p}: {r.accounts:,} accounts, {r.fraud} fraudulent"
                                   for p, r in counts.iterrows()))
    for line in outcome.warnings:
        console.print(f"[yellow]warning:[/yellow] {line}")
    console.print(_metrics_table(f"test accounts: {len(ev.scores):,} "
                                 f"({int(ev.scores[s.LABEL].sum())} fraudulent), 95% intervals",
                                 ev.metrics, ev.intervals))
    if ev.logs_only is not None:
        console.print(_metrics_table("the same accounts scored from sign-in logs alone",
                                     ev.logs_only, ev.logs_only_intervals))
    if ev.per_persona.empty:
        return
    persona = Table(title="share flagged by archetype: model and LR at 1% FPR, rules where "
                          "they fire (fraud rows: recall)")
    persona.add_column("persona")
    for col in ev.per_persona.columns:
        persona.add_column(col, justify="right")
    for name, *row in ev.per_persona.itertuples(name=None):
        persona.add_row(name, *[f"{v:.2f}" if isinstance(v, float) else str(v) for v in row])
    console.print(persona)


def _check_fractions(val_frac: float, test_frac: float) -> None:
    if val_frac + test_frac >= 1:
        raise typer.BadParameter(f"{val_frac} + {test_frac} leaves no accounts to train on; "
                                 "the sum must be below 1",
                                 param_hint="'--val-frac' + '--test-frac'")


def _set_aside(inputs, report: Path) -> None:
    """Say how many event rows validation set aside, and write them (with their reasons)
    beside the report folder, `<report>.quarantine.csv` (not in it: the folder goes to MLflow,
    and these are raw input rows); remove an earlier run's file when there are none."""
    from persona_risk.features.io import write_quarantine

    written = write_quarantine(inputs.quarantine, report)
    if written is not None:
        console.print(f"{len(inputs.quarantine):,} event rows set aside, reasons in {written}")


def evaluate(
    events: EventsOpt,
    accounts: LabelledAccounts,
    model: ModelOpt = DEFAULT_MODEL,
    as_of: AsOf = None,
    report: ReportOpt = Path("evaluation"),
    split: SplitOpt = SplitMethod.auto,
    val_frac: ValFrac = 0.25,
    test_frac: TestFrac = 0.35,
    seed: Seed = 0,
    config: ConfigOpt = None,
) -> None:
    """Evaluate a registered model beside the baselines on the test accounts, with and
    without the accounts table. Give the split options the model was trained with, so that
    its test accounts are the ones it never saw."""
    from persona_risk.features.memory_engine import load_inputs
    from persona_risk.training.registry import model_fit_accounts
    from persona_risk.training.split import SplitConfig, SplitWarning
    from persona_risk.training.train import evaluate_model

    _check_fractions(val_frac, test_frac)
    check_out(report, events, accounts, option="--report")
    settings = read_settings(config)
    risk_model, version = load_model(model)
    allow = settings.for_model(risk_model, f"model {version}").allow
    with steps("reading and validating") as say, warnings.catch_warnings():
        warnings.simplefilter("ignore", SplitWarning)  # printed below with the split
        inputs = load_inputs(events, accounts)
        _set_aside(inputs, report)
        say("features and evaluation")
        outcome = evaluate_model(risk_model, inputs, utc_time(as_of), report,
                                 SplitConfig(split.value, val_frac, test_frac, seed), seed=seed,
                                 allow=allow, fitted=model_fit_accounts(model),
                                 name=f"model {version}")
    _print_evaluation(outcome)
    console.print(f"model {version}; report: {outcome.report}")


def robustness(
    events: EventsOpt,
    accounts: Annotated[list[Path], typer.Option(
        "--accounts", help="The labelled accounts the model was trained on (for the logistic "
                           "baseline).")],
    model: ModelOpt = DEFAULT_MODEL,
    report: Annotated[Path, typer.Option(help="Report folder whose report.md gets the section.")
                      ] = Path("report"),
    world_accounts: Annotated[int, typer.Option(min=500, help="Accounts per shifted world.")
                              ] = 4000,
    config: ConfigOpt = None,
) -> None:
    """Test a model on shifted simulated worlds beside logistic regression, the rules and each
    world's own ceiling; appends the section to the report."""
    from persona_risk.features.memory_engine import load_inputs
    from persona_risk.training.dataset import training_table
    from persona_risk.training.robustness import WorldSize, robustness_markdown, robustness_table

    settings = read_settings(config)
    risk_model, version = load_model(model)
    cfg = settings.for_model(risk_model, f"model {version}")
    with steps("reading and validating") as say:
        table = training_table(load_inputs(events, accounts), cfg=cfg)
        say("simulating and scoring shifted worlds")
        result = robustness_table(risk_model, table, WorldSize(accounts=world_accounts))
    section = robustness_markdown(result)
    report.mkdir(parents=True, exist_ok=True)
    with (report / "report.md").open("a") as out:
        out.write("\n" + section)
    console.print(section)
    console.print(f"model {version}; section added to {report / 'report.md'}")
