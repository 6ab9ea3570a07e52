"""``workstation explain ID [--json]``: the chain behind an order or a fill.

fills → order (client and broker ids, every state change) → risk verdict → signal → prediction (model,
version, confidence, input vector, the inputs that stood out against the training data) → bar(s) →
origin (the click, the command line or the bar). ID is an order's client or broker id, a fill id, or
RUN_ID:ORDER_ID / RUN_ID:FILL_ID of a stored backtest. An unknown id is one line and exit code 2.
"""

from __future__ import annotations

import click

from workstation.cli.context import app_context
from workstation.cli.output import echo_json


@click.command("explain")
@click.argument("trade_id", metavar="ID")
@click.option(
    "--json",
    "as_json",
    is_flag=True,
    help="One object with the keys order, fills, risk, signal, prediction, bars and origin (null where absent).",
)
def command(trade_id: str, as_json: bool) -> None:
    """Explain an order or fill: from its fills back to the click, command or bar that started it."""
    from workstation.trading.lineage import explain
    from workstation.trading.lineage_text import explanation_lines

    explanation = explain(app_context().engine, trade_id)
    if as_json:
        echo_json(explanation.as_json())
        return
    for line in explanation_lines(explanation):
        click.echo(line)
