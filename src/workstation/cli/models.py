"""``workstation models``: train with walk-forward validation, list, show, (de)activate and delete models."""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime, time
from typing import Any

import click

from workstation.cli.cluster import announce, scheduler_option
from workstation.cli.context import app_context
from workstation.cli.output import confirm_or_refuse, echo_json, echo_table
from workstation.cli.progress import progress_and_cancel
from workstation.db.trading import MODEL_STATUSES
from workstation.errors import ConfigurationError, RefusedError
from workstation.ml.constants import CLASSIFICATION_METRICS, MODEL_CHOICES, REGRESSION_METRICS, TARGETS


def parse_when(value: str | None, *, end_of_day: bool = False) -> datetime | None:
    """YYYY-MM-DD (a whole UTC day) or an ISO date-time (UTC when no offset is given)."""
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise ConfigurationError(f"not a date: {value!r} (use YYYY-MM-DD or an ISO date-time)") from None
    if len(value) == 10 and end_of_day:
        parsed = datetime.combine(parsed.date(), time.max)
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def split_symbols(value: str | None) -> list[str]:
    return list(dict.fromkeys(s.strip().upper() for s in (value or "").split(",") if s.strip()))


def _parse_params(values: tuple[str, ...]) -> dict[str, Any]:
    params: dict[str, Any] = {}
    for item in values:
        key, sep, raw = item.partition("=")
        if not sep or not key.strip():
            raise ConfigurationError(f"--param needs KEY=VALUE, got {item!r}")
        try:
            params[key.strip()] = json.loads(raw)
        except json.JSONDecodeError:
            params[key.strip()] = raw
    return params


def _fmt(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:.4f}"
    return str(value)


def _interval(entry: dict[str, Any] | None) -> str:
    if not entry or entry.get("low") is None:
        return "—"
    return f"{entry['difference']:+.4f} [{entry['low']:+.4f}, {entry['high']:+.4f}]"


def _better(entry: dict[str, Any] | None) -> str:
    if not entry or entry.get("low") is None:
        return "n/a"
    return {"model": "model", "baseline": "baseline"}.get(str(entry.get("better")), "not shown")


def _comparison_rows(
    metrics: dict[str, Any], baseline: dict[str, Any], intervals: dict[str, Any]
) -> list[tuple[str, str, str, str, str]]:
    names = CLASSIFICATION_METRICS if "accuracy" in metrics else REGRESSION_METRICS
    return [
        (name, _fmt(metrics.get(name)), _fmt(baseline.get(name)), _interval(intervals.get(name)),
         _better(intervals.get(name)))
        for name in names
    ]  # fmt: skip


def verdict_line(verdict: str | None, primary: str | None, intervals: dict[str, Any]) -> str:
    from workstation.ml.uncertainty import VERDICT_WORDS

    if not verdict:
        return "verdict: none recorded (trained before verdicts were kept)"
    difference = _interval(intervals.get(primary or ""))
    return f"verdict: {VERDICT_WORDS.get(verdict, verdict)} ({verdict}; {primary} model − baseline {difference})"


def _print_evaluation(
    metrics: dict[str, Any], baseline: dict[str, Any], folds: list[dict[str, Any]], intervals: dict[str, Any],
    verdict: str | None, primary: str | None, judged_fold: int | None = None,
) -> None:  # fmt: skip
    kind = "majority class" if "accuracy" in metrics else "persistence"
    judged = next((f for f in folds if f["fold"] == judged_fold), None)
    if judged is not None:
        # After a search the interval and verdict are of the last fold: show that fold's figures beside them.
        pooled = f"{primary} {_fmt(metrics.get(primary or ''))} vs {_fmt(baseline.get(primary or ''))}"
        click.echo(f"held-out metrics of fold {judged_fold}, which the search's choice never saw (baseline: {kind});")
        click.echo(f"pooled over all {len(folds)} folds, including those it chose on: {pooled}")
        metrics, baseline = judged["metrics"], judged["baseline_metrics"]
    else:
        click.echo(f"held-out metrics, pooled over {len(folds)} walk-forward folds (baseline: {kind}):")
    echo_table(
        ("metric", "model", "baseline", "model − baseline [95% interval]", "better (interval)"),
        _comparison_rows(metrics, baseline, intervals),
    )
    click.echo(verdict_line(verdict, primary, intervals))
    key = "roc_auc" if "accuracy" in metrics else "mae"
    click.echo("")
    echo_table(
        ("fold", "train rows", "test from", "test to", "test rows", f"{key} model", f"{key} baseline"),
        [
            (
                f["fold"],
                f["train_rows"],
                f["test_start"][:10],
                f["test_end"][:10],
                f["test_rows"],
                _fmt(f["metrics"].get(key)),
                _fmt(f["baseline_metrics"].get(key)),
            )
            for f in folds
        ],
    )


@click.group("models")
def command() -> None:
    """Train, compare against a baseline, activate and manage prediction models."""


@command.command("train")
@click.option(
    "--model-type", type=click.Choice(MODEL_CHOICES), default="auto", show_default=True,
    help="auto: gradient boosting from 20,000 labelled rows on, a random forest below.",
)  # fmt: skip
@click.option("--target", type=click.Choice(TARGETS), required=True)
@click.option("--horizon", type=click.IntRange(min=1), default=1, show_default=True, help="Bars ahead.")
@click.option("--symbols", required=True, help="Comma-separated symbols, e.g. AAPL,MSFT.")
@click.option("--interval", default="1d", show_default=True)
@click.option("--start", help="First bar (YYYY-MM-DD or ISO date-time, UTC).")
@click.option("--end", help="Last bar (inclusive).")
@click.option("--name", help="Display name for the registry.")
@click.option("--folds", "n_folds", type=click.IntRange(min=1, max=50), default=5, show_default=True)
@click.option("--features", help="Comma-separated feature columns (default: every numeric feature column).")
@click.option("--feature-version", default="3.0", show_default=True)
@click.option(
    "--include-price-levels", is_flag=True,
    help="Also feed columns measured in price units (moving averages, bands, MACD, ATR …); off by default.",
)  # fmt: skip
@click.option("--param", "params", multiple=True, metavar="KEY=VALUE", help="Hyperparameter override (repeatable).")
@click.option(
    "--search", "search", multiple=True, metavar="KEY=V1,V2,…",
    help="Hyperparameter values to search (repeatable: the grid of every combination). Chosen on all folds "
    "but the last; the verdict is judged on the last fold, which the choice never saw.",
)  # fmt: skip
@scheduler_option
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def train_cmd(
    model_type: str, target: str, horizon: int, symbols: str, interval: str, start: str | None, end: str | None,
    name: str | None, n_folds: int, features: str | None, feature_version: str, include_price_levels: bool,
    params: tuple[str, ...], search: tuple[str, ...], scheduler: str | None, as_json: bool,
) -> None:  # fmt: skip
    """Train with purged walk-forward validation; every figure printed is from held-out bars.

    The model is activated only when its verdict is beats_baseline (the 95% block-bootstrap interval of
    log loss / MAE minus the baseline's excludes zero in its favour); otherwise it is registered as
    deprecated, and 'models set-status ID active' activates it after a warning. With --scheduler, the
    folds, the search's candidates and the final fit run as tasks on the Dask cluster's workers (same
    numbers as locally)."""
    from workstation.cluster.jobs import train_and_register_on
    from workstation.ml.search import parse_search
    from workstation.ml.training import TrainingSpec

    chosen = split_symbols(symbols)
    if not chosen:
        raise ConfigurationError("--symbols needs at least one symbol")
    spec = TrainingSpec(
        model_type=model_type, target=target, symbols=tuple(chosen), interval=interval, horizon=horizon,
        start=parse_when(start), end=parse_when(end, end_of_day=True), feature_version=feature_version,
        features=tuple(f.strip() for f in features.split(",") if f.strip()) if features else None,
        n_folds=n_folds, hyperparameters=_parse_params(params), name=name, include_price_levels=include_price_levels,
        search=parse_search(search),
    )  # fmt: skip
    spec.validate()  # a bad grid or too few folds: one line before anything is read
    engine = app_context().engine
    with progress_and_cancel("training", enabled=not as_json) as (progress, cancel):
        outcome = train_and_register_on(
            engine, spec, scheduler=scheduler, announce=announce, progress=progress, cancel=cancel
        )
    summary = outcome.summary()
    if as_json:
        echo_json(summary)
        return
    info = outcome.model
    if info.status == "active":
        click.echo(f"model {info.model_id} registered and active ({summary['model_type']})")
    else:
        click.echo(
            f"model {info.model_id} registered but not activated ({summary['model_type']}): {summary['verdict']}; "
            f"'workstation models set-status {info.model_id} active' activates it anyway"
        )
    searched = summary.get("search")
    if searched:
        _print_search(searched)
    _print_evaluation(summary["metrics"], summary["baseline_metrics"], summary["folds"], summary["intervals"],
                      summary["verdict"], summary["primary_metric"],
                      searched["judged_on_fold"] if searched else None)  # fmt: skip


def _print_search(search: dict[str, Any]) -> None:
    click.echo(f"search: {search['note']}")
    varied = _varied(search["candidates"])
    rows = [
        ("*" if i == search["chosen"] else "", ", ".join(f"{k}={v}" for k, v in c["params"].items() if k in varied),
         _fmt(c["score"]))
        for i, c in enumerate(search["candidates"])
    ]  # fmt: skip
    echo_table(("", "candidate", f"mean {search['metric']}"), rows)
    click.echo("")


def _varied(candidates: list[dict[str, Any]]) -> set[str]:
    """The parameters the grid varies (the others are the same in every candidate)."""
    keys = set().union(*(c["params"] for c in candidates))
    return {k for k in keys if len({json.dumps(c["params"].get(k), default=str) for c in candidates}) > 1}


@command.command("list")
@click.option("--status", type=click.Choice(MODEL_STATUSES))
@click.option("--json", "as_json", is_flag=True, help="Print a JSON array.")
def list_cmd(status: str | None, as_json: bool) -> None:
    """List registered models, newest first, with their headline held-out metric against the baseline."""
    from workstation.ml.registry import list_models

    models = list_models(app_context().engine, status=status)
    if as_json:
        echo_json([m.as_dict() | {"metrics": _headline(m.metrics)} for m in models])
        return
    rows = []
    for m in models:
        head = _headline(m.metrics)
        rows.append(
            (
                m.model_id,
                m.model_type,
                m.target,
                m.interval,
                ",".join(m.symbols)[:30],
                m.status,
                str(m.metrics.get("verdict") or "—"),
                head.get("metric", ""),
                _fmt(head.get("model")),
                _fmt(head.get("baseline")),
                m.created_at.strftime("%Y-%m-%d %H:%M"),
            )
        )
    echo_table(
        (
            "model_id",
            "type",
            "target",
            "interval",
            "symbols",
            "status",
            "verdict",
            "metric",
            "model",
            "baseline",
            "created",
        ),
        rows,
    )


def _headline(metrics: dict[str, Any]) -> dict[str, Any]:
    """The primary metric (log loss / MAE), model and baseline, the interval of the difference, the verdict."""
    held_out, baseline = metrics.get("held_out", {}), metrics.get("baseline", {})
    key = metrics.get("primary_metric") or ("log_loss" if "accuracy" in held_out else "mae")
    return {
        "metric": key, "model": held_out.get(key), "baseline": baseline.get(key),
        "interval": (metrics.get("intervals") or {}).get(key), "verdict": metrics.get("verdict"),
    }  # fmt: skip


@command.command("show")
@click.argument("model_id")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def show_cmd(model_id: str, as_json: bool) -> None:
    """Show a model's parameters, held-out metrics vs baseline, folds, reliability and feature importance."""
    from workstation.ml.registry import get_model, prediction_count

    engine = app_context().engine
    info = get_model(engine, model_id)
    if as_json:
        echo_json(info.as_dict() | {"predictions": prediction_count(engine, model_id)})
        return
    p, m = info.parameters, info.metrics
    window = p.get("training_window", {})
    click.echo(f"model_id:   {info.model_id}  ({info.status})")
    click.echo(f"name:       {info.name}  version {info.version}  type {info.model_type}")
    click.echo(f"target:     {p.get('target')}  horizon {p.get('horizon')} bar(s)  interval {p.get('interval')}")
    click.echo(f"symbols:    {', '.join(info.symbols)}")
    click.echo(f"trained on: {window.get('start', '')[:10]} .. {window.get('end', '')[:10]}  ({p.get('rows')} rows)")
    click.echo(f"features:   {len(p.get('features', []))} (feature_version {p.get('feature_version')})")
    click.echo(f"calibration:{' ' + json.dumps(p.get('calibration')) if p.get('calibration') else ' none'}")
    click.echo(f"artifact:   {info.file_path}  sha256 {info.artifact_sha256}")
    click.echo(f"predictions stored: {prediction_count(engine, model_id)}")
    click.echo("")
    search = p.get("search")
    if search:
        _print_search(search)
    _print_evaluation(m.get("held_out", {}), m.get("baseline", {}), m.get("folds", []), m.get("intervals") or {},
                      m.get("verdict"), m.get("primary_metric"),
                      search["judged_on_fold"] if search else None)  # fmt: skip
    reliability = m.get("reliability", [])
    if reliability and "bin_lower" in reliability[0]:
        click.echo("\nreliability (held-out): predicted P(up) vs observed frequency")
        echo_table(
            ("bin", "rows", "mean predicted", "observed"),
            [
                (
                    f"{r['bin_lower']:.1f}-{r['bin_upper']:.1f}",
                    r["count"],
                    _fmt(r["mean_predicted"]),
                    _fmt(r["observed_frequency"]),
                )
                for r in reliability
            ],
        )
    elif reliability:
        click.echo("\nconfidence (held-out share of forecasts within ±25% of the realised value):")
        echo_table(
            ("forecast from", "forecast to", "hit rate"),
            [(_fmt(r["forecast_from"]), _fmt(r["forecast_to"]), _fmt(r["hit_rate"])) for r in reliability],
        )
    importance = info.feature_importance[:10]
    if importance:
        click.echo("\nfeature importance (permutation, last held-out fold; loss increase):")
        echo_table(("feature", "importance", "std"), [(r["feature"], f"{r['importance']:.3g}",
                                                      f"{r['std']:.2g}") for r in importance])  # fmt: skip


@command.command("set-status")
@click.argument("model_id")
@click.argument("status", type=click.Choice(MODEL_STATUSES))
@click.option("--yes", is_flag=True, help="Activate a model without demonstrated skill without asking.")
def set_status_cmd(model_id: str, status: str, yes: bool) -> None:
    """Mark a model active (used for predictions) or deprecated (kept for its history).

    Activating a model whose verdict is not beats_baseline prints a warning and asks first (--yes: do
    not ask; without a terminal and without --yes it is refused)."""
    from workstation.ml.registry import get_model, set_status
    from workstation.ml.service import activation_warning

    engine = app_context().engine
    if status == "active":
        warning = activation_warning(get_model(engine, model_id))
        if warning:
            click.echo(f"warning: {warning}", err=True)
            if not yes:
                if not sys.stdin.isatty():
                    raise RefusedError(f"{model_id} not activated: confirm with --yes to activate it anyway")
                confirm_or_refuse("Activate it anyway?")
    info = set_status(engine, model_id, status)
    click.echo(f"{info.model_id}: {info.status}")


@command.command("delete")
@click.argument("model_id")
def delete_cmd(model_id: str) -> None:
    """Delete a model and its artifact (refused while it has stored predictions: deprecate it instead)."""
    from workstation.ml.registry import delete_model

    delete_model(app_context().engine, model_id)
    click.echo(f"{model_id}: deleted")
