"""What goes on around a chaos scenario's actors: the broker's market (fills, cancels, stream
duplicates, out-of-order and lost messages, disconnects), new bars and predictions for a trade run,
and a watcher that remembers every final status it sees. Imported by name."""

from __future__ import annotations

import contextlib
from datetime import timedelta
from decimal import Decimal
from typing import TYPE_CHECKING

from databases import SEED_BARS, T0
from sqlalchemy import text
from sqlalchemy.orm import Session

from workstation.db.market import MarketData
from workstation.db.trading import Prediction

if TYPE_CHECKING:
    from actors import Scenario

FINAL = {"filled", "cancelled", "rejected", "expired", "replaced"}


def market(self: Scenario) -> None:
    plan = self.plan
    fills_left, cancels_left, disconnects_left = plan.fills, plan.broker_cancels, plan.disconnects
    while not self.stop.wait(self.rng.uniform(0.05, 0.2)):
        with self.standin.lock:
            open_ids = sorted(
                cid for cid, o in self.standin.orders.items()
                if cid.startswith("ws-") and o["status"] not in ("filled", "canceled")
            )  # fmt: skip
        draw = self._draw()
        if disconnects_left and draw < 0.05:
            disconnects_left -= 1
            self.standin.drop_stream_clients()
        elif self.standin.held and draw < 0.15:
            self.standin.release_held()
        elif open_ids and cancels_left and draw < 0.2:
            cancels_left -= 1
            self.standin.cancel(self.rng.choice(open_ids))
        elif open_ids and fills_left:
            fills_left -= 1
            client_id = self.rng.choice(open_ids)
            body = self.standin.orders[client_id]
            remaining = Decimal(str(body["qty"])) - Decimal(body["filled_qty"])
            quantity = remaining if self._draw() < 0.5 else max(Decimal(1), (remaining / 2).to_integral_value())
            price = f"{100 + self.rng.choice((-2, -1, 0, 1, 2))}.{self.rng.choice(('00', '10', '55'))}"
            self.standin.fill(
                client_id,
                str(quantity),
                price,
                push=self._draw() >= plan.stream_drop,
                duplicate=self._draw() < plan.stream_duplicate,
                hold=self._draw() < plan.stream_hold,
            )


def feed(self: Scenario) -> None:
    """New bars and predictions for the trade run to act on."""
    assert self.engine is not None
    day = SEED_BARS
    while not self.stop.wait(0.2):
        when = T0 + timedelta(days=day)
        price = Decimal(100)
        with contextlib.suppress(Exception), Session(self.engine) as session, session.begin():
            session.add(MarketData(symbol="AAA", interval="1d", timestamp=when, open=price, high=price,
                                   low=price, close=price, volume=1_000_000, source="chaos"))  # fmt: skip
            session.add(
                Prediction(prediction_id=f"p{day}", model_id="m1", symbol="AAA", timestamp=when,
                           prediction_type="direction", prediction_value=Decimal(day % 2),
                           confidence=Decimal("0.9"))
            )  # fmt: skip
        day += 1


def watch(self: Scenario) -> None:
    """A final status seen once must be the status from then on."""
    assert self.engine is not None
    while not self.stop.wait(0.15):
        with contextlib.suppress(Exception), self.engine.connect() as conn:
            for order_id, status in conn.execute(text("SELECT order_id, status FROM orders")):
                seen = self.finals_seen.get(order_id)
                if seen is not None and seen != status:
                    self.watcher_violations.append(f"{order_id}: seen {seen}, then {status}")
                if status in FINAL:
                    self.finals_seen.setdefault(order_id, status)
