"""``workstation orders``: place, list, cancel and reconcile orders (paper or Alpaca).

Exit codes (errors.ExitCode): 0 done; 1 refused (a risk limit, the broker); 2 invalid input, bad
configuration or credentials (401/403); 3 outcome unknown (the order may have reached the broker and
is looked up again until settled).
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

import click

from workstation.cli.context import app_context
from workstation.cli.output import echo_json, echo_table
from workstation.errors import ConfigurationError, OutcomeUnknownError, RefusedError, WorkstationError
from workstation.monitoring.correlation import correlation_scope

BROKERS = click.Choice(["paper", "alpaca"])
ORDER_TYPES = ("market", "limit", "stop", "stop_limit", "trailing_stop")
ORDER_CLASSES = ("simple", "bracket", "oto", "oco")
TIME_IN_FORCE = ("day", "gtc", "opg", "cls", "ioc", "fok")
LIVE_CONFIRMATION = "LIVE"


def confirm_live(live: bool) -> None:
    """Live trading needs --live plus the typed word LIVE; anything else aborts."""
    if not live:
        return
    typed = click.prompt(
        f"This sends orders to your LIVE Alpaca account with real money. Type {LIVE_CONFIRMATION} to continue",
        default="",
        show_default=False,
        err=True,
    )
    if typed.strip() != LIVE_CONFIRMATION:
        raise ConfigurationError("live trading not confirmed; nothing was sent")


def open_cli_session(broker: str, live: bool = False, *, reconcile: bool = True) -> Any:
    from workstation.trading.session import open_session

    confirm_live(live)
    session = open_session(app_context().engine, broker, live=live, reconcile=reconcile)
    if session.reconcile_note:
        click.echo(f"warning: {session.reconcile_note}", err=True)
    return session


def parse_decimal(value: str | None, name: str) -> Decimal | None:
    """A positive number typed on the command line (exit code 2 otherwise)."""
    if value is None:
        return None
    from workstation.trading.bounds import parse_number

    result = parse_number(value, name)
    if result <= 0:
        raise WorkstationError(f"{name} must be positive, got {value!r}", exit_code=2)
    return result


def report_skipped(store: Any) -> None:
    """Rows that could not be read were skipped: say so (on stderr, so --json output stays clean)."""
    for message in getattr(store, "skipped", [])[:20]:
        click.echo(f"warning: {message}", err=True)


def order_rows(orders: list[Any]) -> list[tuple[Any, ...]]:
    return [
        (
            o.created_at.strftime("%Y-%m-%d %H:%M:%S"),
            o.order_id,
            o.broker,
            o.symbol,
            o.side,
            o.quantity,
            o.order_type + ("" if o.order_class == "simple" else f" ({o.order_class})"),
            o.limit_price or "",
            o.stop_price or "",
            o.parent_order_id or o.replaces or "",
            o.status + (" (unknown)" if o.outcome_unknown else ""),
            o.filled_quantity,
            o.average_fill_price or "",
            o.status_reason or "",
        )
        for o in orders
    ]


ORDER_HEADERS = ("created (UTC)", "order id", "broker", "symbol", "side", "qty", "type", "limit", "stop",
                 "leg of / replaces", "status", "filled", "avg price", "reason")  # fmt: skip


def _age(since: datetime, now: datetime) -> str:
    seconds = max(0, int((now - since).total_seconds()))
    return (
        f"{seconds // 3600}h{seconds % 3600 // 60:02d}m" if seconds >= 3600 else f"{seconds // 60}m{seconds % 60:02d}s"
    )


@click.group("orders")
def command() -> None:
    """Place, list, cancel and reconcile orders."""


@command.command("submit")
@click.option("--broker", type=BROKERS, default="paper", show_default=True)
@click.option("--symbol", required=True)
@click.option("--side", type=click.Choice(["buy", "sell"]), required=True)
@click.option("--qty", required=True, help="Shares (fractional only on simple day orders, at most 6 decimals).")
@click.option(
    "--type", "order_type", type=click.Choice(ORDER_TYPES), default="market", show_default=True, help="Order type."
)
@click.option("--limit-price", help="Limit price (limit and stop-limit; cents from $1, hundredths of a cent below).")
@click.option("--stop-price", help="Stop price (stop and stop-limit orders).")
@click.option("--trail-percent", help="Trailing stop: trail the high-water mark by this percent (0-100).")
@click.option("--trail-price", help="Trailing stop: trail the high-water mark by this many dollars.")
@click.option("--order-class", type=click.Choice(ORDER_CLASSES), default="simple", show_default=True,
              help="bracket: entry + take-profit + stop-loss; oto: entry + one leg; oco: an exit pair.")  # fmt: skip
@click.option("--take-profit", help="Take-profit leg's limit price (bracket, oto, oco).")
@click.option("--stop-loss", help="Stop-loss leg's stop price (bracket, oto, oco).")
@click.option("--stop-loss-limit", help="Makes the stop-loss leg a stop-limit with this limit price.")
@click.option("--tif", type=click.Choice(TIME_IN_FORCE), default="day", show_default=True, help="Time in force.")
@click.option("--extended-hours", is_flag=True, help="Also trade before and after the regular session (limit only).")
@click.option("--live", is_flag=True, help="Alpaca: trade the live account (asks for typed confirmation).")
@click.option("--json", "as_json", is_flag=True)
def submit_cmd(
    broker: str,
    symbol: str,
    side: str,
    qty: str,
    order_type: str,
    limit_price: str | None,
    stop_price: str | None,
    trail_percent: str | None,
    trail_price: str | None,
    order_class: str,
    take_profit: str | None,
    stop_loss: str | None,
    stop_loss_limit: str | None,
    tif: str,
    extended_hours: bool,
    live: bool,
    as_json: bool,
) -> None:
    """Place one order through risk checks and the order manager."""
    from workstation.trading.bounds import parse_number, parse_price, parse_quantity
    from workstation.trading.domain import OrderOutcomeUnknownError, OrderRequest

    def price(value: str | None, name: str) -> Decimal | None:
        return parse_price(value, name) if value is not None else None

    # Everything is checked before the database or the broker is touched; missing prices named by their flag.
    if order_type in ("limit", "stop_limit") and limit_price is None:
        raise WorkstationError(f"a {order_type.replace('_', '-')} order needs --limit-price", exit_code=2)
    if order_type in ("stop", "stop_limit") and stop_price is None:
        raise WorkstationError(f"a {order_type.replace('_', '-')} order needs --stop-price", exit_code=2)
    if order_type == "trailing_stop" and (trail_percent is None) == (trail_price is None):
        raise WorkstationError("a trailing stop needs one of --trail-percent or --trail-price", exit_code=2)
    request = OrderRequest(
        symbol=symbol,
        side=side,  # type: ignore[arg-type]
        quantity=parse_quantity(qty, "--qty"),
        order_type=order_type,  # type: ignore[arg-type]
        limit_price=price(limit_price, "--limit-price"),
        time_in_force=tif,
        strategy="manual",
        stop_price=price(stop_price, "--stop-price"),
        trail_price=price(trail_price, "--trail-price"),
        trail_percent=parse_number(trail_percent, "--trail-percent") if trail_percent is not None else None,
        extended_hours=extended_hours,
        order_class=order_class,  # type: ignore[arg-type]
        take_profit=price(take_profit, "--take-profit"),
        stop_loss=price(stop_loss, "--stop-loss"),
        stop_loss_limit=price(stop_loss_limit, "--stop-loss-limit"),
    ).normalised()
    with correlation_scope(prefix="cli"):
        session = open_cli_session(broker, live)
        try:
            check = getattr(session.broker, "check_request", None)
            if check is not None:
                check(request)
            order = session.manager.submit(request)
            legs = session.manager.store.legs(order.order_id) if request.legs else []
        except OrderOutcomeUnknownError as exc:
            if as_json and exc.order is not None:
                echo_json(exc.order.as_dict())
            raise
        finally:
            session.close()
    if as_json:
        echo_json(order.as_dict() | ({"legs": [leg.as_dict() for leg in legs]} if legs else {}))
    else:
        echo_table(ORDER_HEADERS, order_rows([order, *legs]))
    if order.status == "rejected":
        raise RefusedError(f"order rejected by {broker}: {order.status_reason}")


@command.command("replace")
@click.argument("order_id")
@click.option("--qty", help="New total quantity.")
@click.option("--limit-price", help="New limit price (limit and stop-limit orders).")
@click.option("--stop-price", help="New stop price (stop and stop-limit orders).")
@click.option("--trail", help="New trail (a trailing stop's dollars or percent, as it was placed).")
@click.option("--live", is_flag=True, help="The order is on the live Alpaca account.")
@click.option("--json", "as_json", is_flag=True)
def replace_cmd(
    order_id: str,
    qty: str | None,
    limit_price: str | None,
    stop_price: str | None,
    trail: str | None,
    live: bool,
    as_json: bool,
) -> None:
    """Modify an open order: the broker replaces it by a new order (a new id); the old one ends 'replaced'."""
    from workstation.trading.bounds import parse_price, parse_quantity
    from workstation.trading.repository import SqlOrderStore

    quantity = parse_quantity(qty, "--qty") if qty is not None else None
    limit = parse_price(limit_price, "--limit-price") if limit_price is not None else None
    stop = parse_price(stop_price, "--stop-price") if stop_price is not None else None
    trail_value = parse_price(trail, "--trail") if trail is not None else None
    if quantity is None and limit is None and stop is None and trail_value is None:
        raise WorkstationError("say what to change: --qty, --limit-price, --stop-price or --trail", exit_code=2)
    stored = SqlOrderStore(app_context().engine).get_order(order_id)
    if stored is None:
        raise WorkstationError(f"no order {order_id}", exit_code=2)
    with correlation_scope(prefix="cli"):
        session = open_cli_session(stored.broker, live, reconcile=False)
        try:
            order = session.manager.replace(
                order_id, quantity=quantity, limit_price=limit, stop_price=stop, trail=trail_value
            )
        finally:
            session.close()
    if as_json:
        echo_json(order.as_dict())
    else:
        click.echo(f"{order_id}: replaced by {order.order_id} ({order.status})")
    if order.status == "rejected":
        raise RefusedError(f"replace refused by {stored.broker}: {order.status_reason}")


@command.command("list")
@click.option("--open", "open_only", is_flag=True, help="Only orders not in a final state.")
@click.option("--unknown", "unknown_only", is_flag=True, help="Only orders whose outcome is not settled yet.")
@click.option("--broker", type=BROKERS, default=None, help="Only this broker's orders.")
@click.option("--limit", type=click.IntRange(1, 1_000_000), default=200, show_default=True)
@click.option("--json", "as_json", is_flag=True)
def list_cmd(open_only: bool, unknown_only: bool, broker: str | None, limit: int, as_json: bool) -> None:
    """The blotter: orders, newest last. --unknown: unsettled orders with their age and next check."""
    from workstation.trading.domain import utcnow
    from workstation.trading.repository import SqlOrderStore

    store = SqlOrderStore(app_context().engine)
    orders = store.orders(broker=broker, open_only=open_only, limit=limit, unknown_only=unknown_only)
    report_skipped(store)
    now = utcnow()
    if unknown_only:
        if as_json:
            echo_json([o.as_dict() | {"age_seconds": int((now - o.created_at).total_seconds())} for o in orders])
            return
        rows = [
            (o.order_id, o.broker, o.symbol, o.side, o.quantity, o.status, _age(o.created_at, now),
             o.next_check_at.strftime("%H:%M:%S") if o.next_check_at else "now", o.check_attempts,
             o.status_reason or "sending (or interrupted before it was sent)")
            for o in orders
        ]  # fmt: skip
        headers = ("order id", "broker", "symbol", "side", "qty", "status", "age", "next check (UTC)", "checks",
                   "reason")  # fmt: skip
        echo_table(headers, rows)
        return
    if as_json:
        echo_json([o.as_dict() for o in orders])
    else:
        echo_table(ORDER_HEADERS, order_rows(orders))


@command.command("cancel")
@click.argument("order_id")
@click.option("--live", is_flag=True, help="The order is on the live Alpaca account.")
@click.option("--json", "as_json", is_flag=True)
def cancel_cmd(order_id: str, live: bool, as_json: bool) -> None:
    """Cancel one order by its client order id."""
    from workstation.trading.repository import SqlOrderStore

    stored = SqlOrderStore(app_context().engine).get_order(order_id)
    if stored is None:
        raise WorkstationError(f"no order {order_id}", exit_code=2)
    with correlation_scope(prefix="cli"):
        session = open_cli_session(stored.broker, live, reconcile=False)
        try:
            order = session.manager.cancel(order_id)
        finally:
            session.close()
    if as_json:
        echo_json(order.as_dict())
    else:
        click.echo(f"{order.order_id}: {order.status}")


@command.command("cancel-all")
@click.option("--broker", type=BROKERS, default="paper", show_default=True)
@click.option("--live", is_flag=True)
@click.option("--json", "as_json", is_flag=True)
def cancel_all_cmd(broker: str, live: bool, as_json: bool) -> None:
    """Cancel every open order at one broker."""
    with correlation_scope(prefix="cli"):
        session = open_cli_session(broker, live)
        try:
            orders = session.manager.cancel_all()
            report_skipped(session.manager.store)
        finally:
            session.close()
    if as_json:
        echo_json([o.as_dict() for o in orders])
    else:
        click.echo(f"{len(orders)} order(s) cancelled or cancelling")
        for order in orders:
            click.echo(f"  {order.order_id}: {order.status}")


@command.command("reconcile")
@click.option(
    "--broker",
    type=click.Choice(["all", "paper", "alpaca"]),
    default="all",
    show_default=True,
    help="all = every configured broker (Alpaca when keys are set).",
)
@click.option("--live", is_flag=True)
@click.option("--timeout", type=click.FloatRange(0.1, 3600), default=None, help="Seconds per broker.")
@click.option("--json", "as_json", is_flag=True)
def reconcile_cmd(broker: str, live: bool, timeout: float | None, as_json: bool) -> None:
    """Settle the book with the broker now: open orders looked up, unknown outcomes re-checked,
    orders with this workstation's id prefix that the book lacks adopted. Exit 3 while an order's
    outcome is still unknown."""
    import time

    from workstation.trading.session import configured_brokers, open_session

    brokers = configured_brokers(live=live) if broker == "all" else [broker]
    results: list[dict[str, Any]] = []
    with correlation_scope(prefix="cli"):
        confirm_live(live)
        for name in brokers:
            session = open_session(app_context().engine, name, live=live and name == "alpaca", reconcile=False)
            try:
                budget = timeout or session.manager.timings.reconcile_timeout
                result = session.manager.reconcile(deadline=time.monotonic() + budget)
                report_skipped(session.manager.store)
            finally:
                session.close()
            results.append(result.as_dict())
    if as_json:
        echo_json(results if broker == "all" else results[0])
    else:
        for r in results:
            click.echo(
                f"{r['broker']}: checked {r['checked']}, changed {r['changed']}, fills recovered "
                f"{r['fills_recovered']}, adopted {r['adopted']}, never received {r['settled_missing']}, "
                f"still unknown {r['unknown']}, conflicts {r['conflicts']}"
                + ("" if r["complete"] else " (incomplete: " + "; ".join(r["errors"][:2]) + ")")
            )
    unknown = sum(r["unknown"] for r in results)
    if unknown:
        raise OutcomeUnknownError(f"{unknown} order(s) still have an unknown outcome; they are looked up again")
    if any(r["conflicts"] for r in results):
        raise RefusedError("the broker disagrees with the book about final orders: see the order_conflict events")
