"""The persisted paper account: starting cash in ``paper_accounts``, everything else from the fills.

Every process (CLI invocations, the window, ``trade run``) shares one paper account through the
database: cash and positions come from the fills of broker='paper' orders, working orders from the
open ones, read afresh inside the account lock before each decision (``SqlPaperLedger``); last
prices come from the newest stored bar of each symbol.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from decimal import Decimal, InvalidOperation

from sqlalchemy import Engine, inspect, select, update

from workstation.db.market import MarketData
from workstation.db.upsert import conflict_insert
from workstation.errors import ConfigurationError, WorkstationError
from workstation.trading import ledger
from workstation.trading.brokers.paper import Bar, CommissionModel, PaperBroker, PaperConfig
from workstation.trading.domain import Order, to_price, utcnow
from workstation.trading.positions import PositionBook
from workstation.trading.rows import readable_orders
from workstation.trading.store_sql import SqlOrderStore
from workstation.trading.tables import paper_accounts

DEFAULT_ACCOUNT = "default"
DEFAULT_PAPER_CASH = Decimal(100_000)
PAPER_CASH_ENV = "WORKSTATION_PAPER_CASH"
PAPER_SLIPPAGE_ENV = "WORKSTATION_PAPER_SLIPPAGE_BPS"
PAPER_COMMISSION_ENV = "WORKSTATION_PAPER_COMMISSION_PER_SHARE"
PAPER_COMMISSION_RATE_ENV = "WORKSTATION_PAPER_COMMISSION_RATE"
PAPER_COMMISSION_MIN_ENV = "WORKSTATION_PAPER_COMMISSION_MIN"


def _env_decimal(name: str, default: Decimal) -> Decimal:
    raw = os.environ.get(name)
    if raw is None or not raw.strip():
        return default
    try:
        value = Decimal(raw)
    except InvalidOperation:
        raise ConfigurationError(f"{name} must be a number, got {raw!r}") from None
    if not value.is_finite() or value < 0:
        raise ConfigurationError(f"{name} must be a non-negative number, got {raw!r}")
    return value


def _require_schema(engine: Engine) -> None:
    if not inspect(engine).has_table("paper_accounts"):
        raise WorkstationError("the database has no trading tables yet: run 'workstation db upgrade'", exit_code=2)


def starting_cash(engine: Engine, account: str = DEFAULT_ACCOUNT) -> Decimal:
    """The account's starting cash, creating the account (from WORKSTATION_PAPER_CASH or 100,000) on first use."""
    _require_schema(engine)
    with engine.begin() as conn:
        found = conn.execute(select(paper_accounts.c.starting_cash).where(paper_accounts.c.name == account)).scalar()
        if found is not None:
            return Decimal(found)
        cash = _env_decimal(PAPER_CASH_ENV, DEFAULT_PAPER_CASH)
        now = utcnow()
        values = {"name": account, "starting_cash": cash, "created_at": now, "updated_at": now}
        insert = conflict_insert(conn, paper_accounts)
        conn.execute(insert.values(**values).on_conflict_do_nothing(index_elements=["name"]))
        return Decimal(
            conn.execute(select(paper_accounts.c.starting_cash).where(paper_accounts.c.name == account)).scalar_one()
        )


def set_starting_cash(engine: Engine, cash: Decimal, account: str = DEFAULT_ACCOUNT) -> None:
    if cash <= 0:
        raise WorkstationError("the paper account's cash must be positive")
    starting_cash(engine, account)
    with engine.begin() as conn:
        conn.execute(
            update(paper_accounts)
            .where(paper_accounts.c.name == account)
            .values(starting_cash=cash, updated_at=utcnow())
        )


def latest_bar_lookup(engine: Engine) -> Callable[[str], Bar | None]:
    def lookup(symbol: str) -> Bar | None:
        query = (
            select(
                MarketData.timestamp,
                MarketData.open,
                MarketData.high,
                MarketData.low,
                MarketData.close,
                MarketData.volume,
            )
            .where(MarketData.symbol == symbol)
            .order_by(MarketData.timestamp.desc())
            .limit(1)
        )
        with engine.connect() as conn:
            row = conn.execute(query).first()
        if row is None:
            return None
        return Bar(row[0], to_price(row[1]), to_price(row[2]), to_price(row[3]), to_price(row[4]), Decimal(row[5]))

    return lookup


class SqlPaperLedger:
    """The paper account's state from the database, on the thread's locked connection when it holds one."""

    def __init__(self, store: SqlOrderStore, account: str = DEFAULT_ACCOUNT, broker: str = "paper") -> None:
        self.store = store
        self.account = account
        self.broker = broker

    def state(self, symbol: str | None) -> tuple[Decimal, Decimal]:
        """(cash, position in ``symbol``) in one statement; the starting cash is read too (it may change)."""
        starting, flow, position = self.store.query(
            lambda conn: ledger.paper_state(conn, self.broker, self.account, symbol)
        )
        return starting + flow, position

    def snapshot(self, symbol: str | None) -> tuple[Decimal, Decimal, list[Order]]:
        """``state`` and ``working`` in one statement."""
        starting, flow, position, rows = self.store.query(
            lambda conn: ledger.paper_snapshot(conn, self.broker, self.account, symbol)
        )
        return starting + flow, position, readable_orders(rows, self.store.skipped)

    def book(self) -> PositionBook:
        return self.store.position_book(self.broker)

    def working(self) -> list[Order]:
        rows = self.store.query(lambda conn: ledger.open_order_rows(conn, self.broker, accepted_only=True))
        return readable_orders(rows, self.store.skipped)

    def order(self, order_id: str) -> Order | None:
        return self.store.get_order(order_id)


def load_paper_broker(
    engine: Engine,
    account: str = DEFAULT_ACCOUNT,
    *,
    config: PaperConfig | None = None,
    store: SqlOrderStore | None = None,
) -> PaperBroker:
    cash = starting_cash(engine, account)
    config = config or PaperConfig(
        mode="live",
        slippage_bps=_env_decimal(PAPER_SLIPPAGE_ENV, Decimal(0)),
        commission=CommissionModel(
            per_share=_env_decimal(PAPER_COMMISSION_ENV, Decimal(0)),
            rate=_env_decimal(PAPER_COMMISSION_RATE_ENV, Decimal(0)),
            minimum=_env_decimal(PAPER_COMMISSION_MIN_ENV, Decimal(0)),
        ),
    )
    store = store or SqlOrderStore(engine)
    return PaperBroker(
        cash, config, price_lookup=latest_bar_lookup(engine), ledger=SqlPaperLedger(store, account, "paper")
    )
