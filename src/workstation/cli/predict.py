"""``workstation predict``: store a model's predictions for the latest bar (or a range) of each symbol."""

from __future__ import annotations

import click

from workstation.cli.context import app_context
from workstation.cli.models import parse_when, split_symbols
from workstation.cli.output import echo_json, echo_table
from workstation.cli.progress import progress_and_cancel


@click.command("predict")
@click.option("--model-id", required=True, help="A model from 'workstation models list'.")
@click.option("--symbols", help="Comma-separated symbols (default: the symbols the model was trained on).")
@click.option("--interval", help="Bar interval (must be the model's).")
@click.option("--start", help="Predict every bar from this date (default: only the latest bar).")
@click.option("--end", help="Last bar for a range (inclusive).")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON array (with the input features).")
def command(
    model_id: str, symbols: str | None, interval: str | None, start: str | None, end: str | None, as_json: bool
) -> None:
    """Predict with an active model and store the rows (re-running updates them, never duplicates)."""
    from workstation.ml.predict import predict_latest, predict_range

    engine = app_context().engine
    chosen = split_symbols(symbols) or None
    if start is None and end is None:
        records = predict_latest(engine, model_id, symbols=chosen, interval=interval)
    else:
        with progress_and_cancel("predicting", enabled=not as_json) as (progress, cancel):
            records = predict_range(
                engine, model_id, symbols=chosen, interval=interval, start=parse_when(start),
                end=parse_when(end, end_of_day=True), progress=progress, cancel=cancel,
            )  # fmt: skip
    if as_json:
        echo_json([r.as_dict() for r in records])
        return
    echo_table(
        ("symbol", "bar", "type", "value", "confidence"),
        [
            (
                r.symbol,
                r.timestamp.isoformat(),
                r.prediction_type,
                f"{r.prediction_value:.6g}",
                "—" if r.confidence is None else f"{r.confidence:.3f}",
            )
            for r in records
        ],
    )
    click.echo(f"{len(records)} prediction(s) stored for {model_id}")
