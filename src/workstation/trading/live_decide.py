"""A batch of signalled bars → orders, through risk and the order manager (the live loop's decision step).

Positions and open orders are read once per batch; a symbol that got an order earlier in the batch is
read again before its next decision. With a local (paper) broker the whole batch is one account-locked
transaction (``OrderManager.batch``): a database error inside it rolls every order of the batch back, and
each bar's outcome says "not placed". Every order is placed under its bar's correlation id.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

import numpy as np

from workstation.monitoring.correlation import correlation_scope
from workstation.trading.brokers.paper import Bar
from workstation.trading.domain import (
    Order,
    OrderOutcomeUnknownError,
    OrderRequest,
    RiskRejectedError,
    TradingError,
)
from workstation.trading.live_signals import Arrival
from workstation.trading.order_manager import DATABASE_ERRORS, OrderManager
from workstation.trading.strategies.base import DecisionContext
from workstation.trading.strategies.model import ModelStrategy, Signal, realised_volatility
from workstation.trading.strategies.sma_cross import SmaCross

LiveStrategy = ModelStrategy | SmaCross

log = logging.getLogger(__name__)


@dataclass
class BarOutcome:
    symbol: str
    timestamp: datetime
    correlation_id: str
    signal: Signal | None = None
    orders: list[Order] = field(default_factory=list)
    rejected: list[str] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)  # orders that may have reached the broker
    close: Decimal | None = None  # the bar's close


class OrderDecider:
    def __init__(self, manager: OrderManager, strategy: LiveStrategy) -> None:
        self.manager = manager
        self.strategy = strategy

    def decide(self, deciding: list[tuple[Arrival, BarOutcome]], closes: Mapping[str, list[float]]) -> None:
        """Each signalled bar's orders. With a local broker the whole batch is one locked transaction:
        a database error there rolls every order of the batch back, and each bar says so."""
        try:
            with self.manager.batch():
                self._decide_each(deciding, closes, in_batch=self.manager.local)
        except DATABASE_ERRORS as exc:
            if not self.manager.local:
                raise
            log.error("orders of %d bar(s) not placed: database unavailable: %s", len(deciding), exc)
            for _arrival, outcome in deciding:
                outcome.orders.clear()
                outcome.rejected.append(f"not placed: the database is unavailable ({type(exc).__name__})")

    def _decide_each(
        self, deciding: list[tuple[Arrival, BarOutcome]], closes: Mapping[str, list[float]], *, in_batch: bool
    ) -> None:
        # Positions and open orders are read once for the batch (two queries, not two per bar); a symbol
        # that got an order earlier in this batch is read again before its next decision.
        book = self.manager.positions()
        busy = {o.symbol for o in self.manager.open_orders()}
        touched: set[str] = set()
        for arrival, outcome in deciding:
            symbol = arrival.symbol
            if symbol in touched:
                position = self.manager.position_quantity(symbol)
                has_open_orders = any(o.symbol == symbol for o in self.manager.open_orders())
            else:
                position, has_open_orders = book.quantity(symbol), symbol in busy
            with correlation_scope(arrival.correlation_id):
                self._place(outcome, arrival.bar, position, has_open_orders, closes.get(symbol, []), in_batch=in_batch)
            if outcome.orders or outcome.unknown:
                touched.add(symbol)

    def _place(
        self, outcome: BarOutcome, bar: Bar, position: Decimal, has_open_orders: bool, closes: list[float], *,
        in_batch: bool,
    ) -> None:  # fmt: skip
        symbol, signal = outcome.symbol, outcome.signal
        assert signal is not None
        for request in self._requests(symbol, signal, bar, position, has_open_orders, closes):
            try:
                outcome.orders.append(self.manager.submit(request))
            except RiskRejectedError as exc:
                outcome.rejected.append(exc.reason)
            except OrderOutcomeUnknownError as exc:
                outcome.unknown.append(str(exc))
                if exc.order is not None:
                    outcome.orders.append(exc.order)
            except TradingError as exc:
                outcome.rejected.append(str(exc))
                log.error("order for %s failed: %s", symbol, exc)
            except DATABASE_ERRORS as exc:
                if in_batch:  # the batch's transaction is lost: every order of it is rolled back together
                    raise
                outcome.rejected.append(f"not placed: the database is unavailable ({type(exc).__name__})")
                log.error("order for %s not placed: database unavailable: %s", symbol, exc)

    def _requests(
        self, symbol: str, signal: Signal, bar: Bar, position: Decimal, has_open_orders: bool, closes: list[float]
    ) -> list[OrderRequest]:
        if isinstance(self.strategy, SmaCross):
            context = DecisionContext(position, has_open_orders, Decimal(0), Decimal(0))
            return self.strategy.orders_on_signal(symbol, int(signal.value), context)
        sizing_by_equity = self.strategy.config.sizing == "volatility"
        context = DecisionContext(
            position=position,
            has_open_orders=has_open_orders,
            equity=self.manager.broker.account().equity if sizing_by_equity else Decimal(0),
            cash=Decimal(0),
        )
        volatility = realised_volatility(np.array(closes), self.strategy.config.volatility_window)
        return self.strategy.orders_for(symbol, signal, bar.close, volatility, context)
