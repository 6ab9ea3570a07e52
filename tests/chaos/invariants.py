"""The invariants checked after every chaos scenario (and its final reconciliation).

1. every order the broker holds under our id prefix is in the book exactly once, under its client id,
   with the broker's status, filled quantity and id; a book order the broker never got is final
   (cancelled as never received, or rejected) with nothing filled;
2. per order, Σ fills = filled quantity ≤ quantity, in the book and at the broker;
3. no final status ever changed (the trading events of each order, and what a watcher saw while the
   scenario ran);
4. positions from the book's fills = the broker's positions;
5. the paper account's cash never went below zero and no position went short (fills in commit
   order); no risk limit was exceeded (order size, order rate, and — when only buys were placed —
   position size);
6. no secret (the scenario's API key or secret) in any table, log file or process output;
7. every process ended with a documented exit code (or was killed) and never printed a traceback.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, text

from workstation.trading.domain import ALPACA_STATUS_MAP

FINAL = {"filled", "cancelled", "rejected", "expired", "replaced"}
STATUS_EVENTS = {f"order_{s}" for s in ("filled", "cancelled", "rejected", "expired", "replaced", "accepted",
                                        "submitted", "partially_filled", "pending_cancel")}  # fmt: skip
FINAL_EVENTS = {f"order_{s}" for s in FINAL}
EXIT_CODES = {0, 1, 2, 3, 130, -9, -2}
TEXT_TABLES = ("orders", "fills", "trading_events", "system_logs", "performance_logs", "error_logs", "user_action_logs")


def _rows(engine: Engine, sql: str) -> list[Any]:
    with engine.connect() as conn:
        return list(conn.execute(text(sql)))


def _time(value: Any) -> datetime:
    """A timestamp column read as raw SQL (SQLite gives its text)."""
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    return datetime.fromisoformat(str(value)).replace(tzinfo=UTC)


def check(
    engine: Engine,
    standin: Any,
    plan: Any,
    *,
    finals_seen: dict[str, str],
    watcher_violations: list[str],
    processes: list[Any],
    files: list[Path],
) -> list[str]:
    found: list[str] = list(watcher_violations)
    orders = {r.order_id: r for r in _rows(engine, "SELECT * FROM orders")}
    fills = _rows(
        engine, "SELECT f.*, o.side, o.broker FROM fills f JOIN orders o ON o.order_id = f.order_id ORDER BY f.id"
    )
    events = _rows(engine, "SELECT order_id, event_type FROM trading_events WHERE order_id IS NOT NULL ORDER BY id")

    # 1. broker ↔ book
    with standin.lock:
        held = {cid: dict(o) for cid, o in standin.orders.items()}
        executions = list(standin.executions)
    for client_id, body in held.items():
        if not client_id.startswith("ws-"):
            continue
        row = orders.get(client_id)
        if row is None:
            found.append(f"broker order {client_id} ({body['status']}) is not in the book")
            continue
        wanted = ALPACA_STATUS_MAP[body["status"]]
        if row.status != wanted:
            found.append(f"{client_id}: book {row.status}, broker {body['status']}")
        if Decimal(str(row.filled_quantity)) != Decimal(body["filled_qty"]):
            found.append(f"{client_id}: book filled {row.filled_quantity}, broker {body['filled_qty']}")
        if row.broker_order_id != body["id"]:
            found.append(f"{client_id}: book has broker id {row.broker_order_id}, broker {body['id']}")
    for order_id, row in orders.items():
        never_sent = row.broker == "alpaca" and order_id not in held
        if never_sent and (row.status not in ("cancelled", "rejected") or Decimal(str(row.filled_quantity)) != 0):
            found.append(f"{order_id} is {row.status} (filled {row.filled_quantity}) but the broker never had it")
        if row.status not in FINAL and (row.status == "pending" or row.unknown_since is not None):
            found.append(f"{order_id} still unsettled after the final reconciliation ({row.status})")

    # 2. Σ fills = filled ≤ quantity
    booked: dict[str, Decimal] = defaultdict(Decimal)
    for fill in fills:
        booked[fill.order_id] += Decimal(str(fill.quantity))
    for order_id, row in orders.items():
        filled, quantity = Decimal(str(row.filled_quantity)), Decimal(str(row.quantity))
        if booked[order_id] != filled or filled > quantity:
            found.append(f"{order_id}: fills {booked[order_id]}, filled {filled}, quantity {quantity}")
    at_broker: dict[str, Decimal] = defaultdict(Decimal)
    for execution in executions:
        at_broker[execution["client_order_id"]] += execution["qty"]
    for client_id, body in held.items():
        if at_broker[client_id] != Decimal(body["filled_qty"]) or Decimal(body["filled_qty"]) > Decimal(
            str(body["qty"])
        ):
            found.append(f"broker {client_id}: executions {at_broker[client_id]}, filled {body['filled_qty']}")

    # 3. no final status changed
    sequence: dict[str, list[str]] = defaultdict(list)
    for event in events:
        if event.event_type in STATUS_EVENTS:
            sequence[event.order_id].append(event.event_type)
    for order_id, kinds in sequence.items():
        finals = [i for i, kind in enumerate(kinds) if kind in FINAL_EVENTS]
        if finals and finals[0] != len(kinds) - 1:
            found.append(f"{order_id}: a final status was left: {kinds}")
    for order_id, status in finals_seen.items():
        row = orders.get(order_id)
        if row is not None and row.status != status:
            found.append(f"{order_id}: was {status}, now {row.status}")

    # 4. positions
    book_positions: dict[str, Decimal] = defaultdict(Decimal)
    for fill in fills:
        if fill.broker == "alpaca":
            book_positions[fill.symbol] += Decimal(str(fill.quantity)) * (1 if fill.side == "buy" else -1)
    broker_positions = standin.positions()
    for symbol in set(book_positions) | set(broker_positions):
        if book_positions.get(symbol, Decimal(0)) != broker_positions.get(symbol, Decimal(0)):
            found.append(
                f"position {symbol}: book {book_positions.get(symbol, 0)}, broker {broker_positions.get(symbol, 0)}"
            )

    # 5. paper account and risk limits
    cash = Decimal(plan.paper_cash)
    held_paper: dict[str, Decimal] = defaultdict(Decimal)
    for fill in fills:
        if fill.broker != "paper":
            continue
        value = Decimal(str(fill.quantity)) * Decimal(str(fill.price))
        cash += (value if fill.side == "sell" else -value) - Decimal(str(fill.commission))
        held_paper[fill.symbol] += Decimal(str(fill.quantity)) * (1 if fill.side == "buy" else -1)
        if cash < 0:
            found.append(f"paper cash went to {cash} at fill {fill.fill_id}")
        if held_paper[fill.symbol] < 0:
            found.append(f"paper position {fill.symbol} went short ({held_paper[fill.symbol]}) at {fill.fill_id}")
        limit = plan.limits.get("max_position_quantity")
        if plan.buys_only and limit is not None and held_paper[fill.symbol] > limit:
            found.append(f"paper position {fill.symbol} {held_paper[fill.symbol]} above max_position_quantity {limit}")
    # Orders placed through the risk checks (not adopted ones, not the harness's own set-up orders).
    placed = [r for r in orders.values() if r.strategy not in ("adopted", "kill_switch", "chaos_setup")]
    size_limit = plan.limits.get("max_order_quantity")
    for row in placed:
        if size_limit is not None and Decimal(str(row.quantity)) > size_limit:
            found.append(f"{row.order_id}: quantity {row.quantity} above max_order_quantity {size_limit}")
    rate = plan.limits.get("max_orders_per_window")
    if rate is not None:
        window = timedelta(seconds=plan.limits["rate_window_seconds"])
        for broker in ("paper", "alpaca"):
            times = sorted(_time(r.created_at) for r in placed if r.broker == broker)
            for i, at in enumerate(times):
                inside = sum(1 for other in times[: i + 1] if other >= at - window)
                if inside > rate:
                    found.append(f"{broker}: {inside} orders within {window} up to {at} (limit {rate})")
                    break

    # 6. secrets
    secrets = (plan.key_id, plan.secret_key)
    for table in TEXT_TABLES:
        dump = "\n".join(" ".join(map(str, row)) for row in _rows(engine, f"SELECT * FROM {table}"))
        for secret in secrets:
            if secret in dump:
                found.append(f"a secret is stored in {table}")
    for path in files:
        if path.is_file():
            content = path.read_text(errors="replace")
            for secret in secrets:
                if secret in content:
                    found.append(f"a secret is in {path.name}")

    # 7. exit codes, no traceback
    for proc in processes:
        out, err = proc.output()
        if proc.code is not None and proc.code not in EXIT_CODES:
            found.append(f"{proc.name} exited {proc.code}: {err.strip()[-300:]}")
        if "Traceback" in err or "Traceback" in out:
            found.append(f"{proc.name} printed a traceback: {err.strip()[-600:]}")
    return found
