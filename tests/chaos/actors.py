"""One chaos scenario, run: the stand-in broker with the plan's faults, the actors (real processes,
some killed with ``kill -9``, and threads), the broker-side market, a watcher; then a final
reconciliation and the invariants."""

from __future__ import annotations

import contextlib
import json
import os
import random
import shutil
import signal
import threading
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

from alpaca_standin import AlpacaStandIn
from background import feed, market, watch
from invariants import check
from processes import Proc, Zygote, spawn_real
from scenario import HANG_SECONDS, LATE_SECONDS, Plan, timings_json
from sqlalchemy import Engine, text

from workstation.db.engine import create_db_engine
from workstation.errors import WorkstationError
from workstation.trading.brokers.alpaca import AlpacaBroker
from workstation.trading.credentials import AlpacaCredentials
from workstation.trading.domain import OrderRequest
from workstation.trading.execution.timings import ExecutionTimings
from workstation.trading.order_manager import OrderManager
from workstation.trading.paper_account import set_starting_cash
from workstation.trading.repository import SqlOrderStore
from workstation.trading.risk import RiskEngine, RiskLimits
from workstation.trading.session import open_session

FINAL = {"filled", "cancelled", "rejected", "expired", "replaced"}
# The environment a user's shell would pass on (the harness's own WORKSTATION_*/APCA_* are not).
_KEEP = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "PYTHONPATH", "VIRTUAL_ENV", "SYSTEMROOT")


class Scenario:
    def __init__(self, plan: Plan, db_url: str, zygote: Zygote, folder: Path, fixtures: Path) -> None:
        self.plan = plan
        self.db_url = db_url
        self.zygote = zygote
        self.folder = folder
        self.rng = random.Random(plan.seed * 7919 + 1)
        self.rng_lock = threading.Lock()
        self.standin = AlpacaStandIn(fixtures, key_id=plan.key_id, secret_key=plan.secret_key)
        self.standin.hang_seconds = HANG_SECONDS
        self.standin.late_seconds = self.rng.uniform(*LATE_SECONDS)
        self.stop = threading.Event()
        self.processes: list[Proc] = []
        self.threads: list[threading.Thread] = []  # the market, the watcher, the feed
        self.actor_threads: list[threading.Thread] = []
        self.finals_seen: dict[str, str] = {}
        self.watcher_violations: list[str] = []
        self.notes: list[str] = []
        self.echoed = False
        self.engine: Engine | None = None
        self.timings = ExecutionTimings.from_env()
        self.stats: dict[str, int] = {}

    # ------------------------------------------------------------------ helpers
    def _draw(self) -> float:
        with self.rng_lock:
            return self.rng.random()

    def _fault(self, kind: str) -> str | None:
        plan = self.plan
        if kind == "post":
            if plan.echo_secret and not self.echoed and self._draw() < 0.3:
                self.echoed = True
                return "echo_secret"
            if plan.post_faults and self._draw() < plan.post_fault_rate:
                with self.rng_lock:
                    return self.rng.choice(plan.post_faults)
            return None
        if self._draw() < plan.get_fault_rate:
            with self.rng_lock:
                return self.rng.choice(("429", "500", "hang"))
        return None

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k in _KEEP}
        env.update(
            WORKSTATION_DATA_DIR=str(self.folder / "data"),
            WORKSTATION_EXECUTION_TIMINGS=timings_json(),
            WORKSTATION_RISK_LIMITS=json.dumps(self.plan.limits),
            APCA_API_KEY_ID=self.plan.key_id,
            APCA_API_SECRET_KEY=self.plan.secret_key,
            APCA_API_BASE_URL=self.standin.base_url,
            APCA_API_STREAM_URL=self.standin.stream_url,
            PYTHONWARNINGS="ignore",
        )
        return env

    def credentials(self) -> AlpacaCredentials:
        return AlpacaCredentials(
            self.plan.key_id, self.plan.secret_key, base_url=self.standin.base_url, stream_url=self.standin.stream_url
        )

    def _spawn(self, name: str, argv: list[str], real: bool = False) -> Proc:
        n = len(self.processes)
        proc = Proc(name, ["--database-url", self.db_url, *argv], self.folder / f"{n}.out", self.folder / f"{n}.err")
        (spawn_real if real else self.zygote.spawn)(proc, self.env())
        self.processes.append(proc)
        return proc

    def _later(self, delay: float, action: Any) -> None:
        def run() -> None:
            if not self.stop.wait(delay):
                action()

        thread = threading.Thread(target=run, daemon=True)
        thread.start()

    # ------------------------------------------------------------------ actors
    def _launch(self, actor: Any) -> None:
        argv = list(actor.args)
        if actor.kind == "cancel":
            assert self.engine is not None
            with self.engine.connect() as conn:
                ids = [r[0] for r in conn.execute(text("SELECT order_id FROM orders WHERE broker = 'alpaca'"))]
            if not ids:
                return
            with self.rng_lock:
                argv = ["orders", "cancel", self.rng.choice(sorted(ids)), "--json"]
        elif actor.kind == "reconcile":
            argv = ["orders", "reconcile", "--json"]
        elif actor.kind == "paper_race":
            self._paper_race(int(actor.args[0]))
            return
        elif actor.kind == "alpaca_burst":
            for _ in range(int(actor.args[0])):
                with self.rng_lock:
                    qty = str(self.rng.choice((1, 2, 3)))
                self._spawn("alpaca_burst", ["orders", "submit", "--broker", "alpaca", "--symbol", "AAA", "--side",
                                             "buy", "--qty", qty, "--json"])  # fmt: skip
            return
        elif actor.kind.startswith("thread_"):
            target = self._thread_alpaca if actor.kind == "thread_alpaca" else self._thread_paper
            thread = threading.Thread(target=target, args=(actor,), daemon=True)
            thread.start()
            self.actor_threads.append(thread)
            return
        proc = self._spawn(actor.kind, argv, real=actor.real)
        if actor.kill_at is not None:
            self._later(actor.kill_at, proc.kill)

    def _paper_race(self, racers: int) -> None:
        """Processes started together, each wanting what only one of them can have."""
        assert self.engine is not None
        plan = self.plan
        cash = Decimal(plan.paper_cash)
        if plan.buys_only:
            # Each buy needs about 60 % of the starting cash (and of the position limit, if any).
            quantity = max(1, int(cash * Decimal("0.6") / 100))
            limit = plan.limits.get("max_position_quantity")
            if limit is not None:
                quantity = max(1, min(quantity, int(limit * 0.6)))
            quantity = min(quantity, int(plan.limits.get("max_order_quantity", quantity)))
            argv = ["--side", "buy", "--qty", str(quantity)]
        else:
            # Buy a position first (this process, at once), then let them all sell the whole of it.
            quantity = max(1, min(int(cash / 2 / 100), int(plan.limits.get("max_order_quantity", 1))))
            session = open_session(
                self.engine, "paper", risk_limits=RiskLimits(), timings=self.timings, reconcile=False
            )
            try:
                with contextlib.suppress(WorkstationError):
                    # Set-up, outside the risk limits: left out of the risk invariants by its strategy name.
                    session.manager.submit(OrderRequest("BBB", "buy", Decimal(quantity), strategy="chaos_setup"))
            finally:
                session.close()
            argv = ["--side", "sell", "--qty", str(quantity)]
        for _ in range(racers):
            self._spawn("paper_race", ["orders", "submit", "--broker", "paper", "--symbol", "BBB", *argv, "--json"])

    def _requests(self, count: int, broker: str, buys_only: bool) -> list[OrderRequest]:
        requests = []
        with self.rng_lock:
            for _ in range(count):
                side = "buy" if buys_only or self.rng.random() < 0.6 else "sell"
                symbol = self.rng.choice(("AAA", "BBB"))
                quantity = Decimal(self.rng.choice((1, 2, 3, 5)))
                if broker == "alpaca" and self.rng.random() < 0.4:
                    requests.append(OrderRequest(symbol, side, quantity, "limit", Decimal("99.5"), "gtc"))  # type: ignore[arg-type]
                else:
                    requests.append(OrderRequest(symbol, side, quantity))  # type: ignore[arg-type]
        return requests

    def _thread_alpaca(self, actor: Any) -> None:
        assert self.engine is not None
        broker = AlpacaBroker(self.credentials(), timings=self.timings)
        limits = RiskLimits.from_mapping(self.plan.limits)
        manager = OrderManager(SqlOrderStore(self.engine), broker, risk=RiskEngine(limits), timings=self.timings)
        try:
            if self._draw() < 0.5:
                broker.start_stream(on_connected=lambda: _quietly(manager.reconcile))
            placed = []
            for request in self._requests(self.rng.randint(1, 3), "alpaca", False):
                with contextlib.suppress(WorkstationError):
                    placed.append(manager.submit(request))
            if placed and self._draw() < 0.5:
                with contextlib.suppress(WorkstationError):
                    manager.cancel(placed[-1].order_id)
            _quietly(manager.reconcile)
            self.stop.wait(self.rng.uniform(0.2, 1.0))
        finally:
            broker.close()

    def _thread_paper(self, actor: Any) -> None:
        assert self.engine is not None
        limits = RiskLimits.from_mapping(self.plan.limits)
        session = open_session(self.engine, "paper", risk_limits=limits, timings=self.timings)
        try:
            for request in self._requests(self.rng.randint(1, 3), "paper", bool(actor.args)):
                with contextlib.suppress(WorkstationError):
                    session.manager.submit(request)
        finally:
            session.close()

    def _count(self) -> None:
        """What the scenario did (summed over the run, so a quiet harness cannot pass unnoticed)."""
        assert self.engine is not None
        stats = self.stats
        for proc in self.processes:
            _count_into(stats, "processes")
            _count_into(stats, "killed" if proc.killed else f"exit_{proc.code}")
        with self.engine.connect() as conn:
            for status, count in conn.execute(text("SELECT status, count(*) FROM orders GROUP BY status")):
                _count_into(stats, f"orders_{status}", int(count))
            for kind, count in conn.execute(
                text("SELECT event_type, count(*) FROM trading_events WHERE event_type IN ('order_send_unknown', "
                     "'order_outcome_known', 'order_adopted', 'risk_rejected') GROUP BY event_type")
            ):  # fmt: skip
                _count_into(stats, kind, int(count))
            _count_into(stats, "fills", int(conn.execute(text("SELECT count(*) FROM fills")).scalar() or 0))
        _count_into(stats, "broker_orders", len(self.standin.orders))
        _count_into(stats, "post_attempts", self.standin.post_attempts)

    # ------------------------------------------------------------------ the run
    def run(self) -> list[str]:
        plan = self.plan
        (self.folder / "data").mkdir(parents=True, exist_ok=True)
        self.standin.fault_plan = self._fault
        self.standin.start()
        self.engine = create_db_engine(self.db_url)
        try:
            set_starting_cash(self.engine, Decimal(plan.paper_cash))
            for n in range(plan.foreign_orders):
                order = self.standin.add_foreign_order(f"ws-foreign{plan.seed}x{n}", "BBB", "buy", "2")
                if n % 2 == 0:
                    self.standin.fill(order["client_order_id"], "1", "100", push=False)
            self.standin.add_foreign_order(f"web-{plan.seed}", "BBB", "sell", "1")  # not ours: never adopted
            background = [lambda: market(self), lambda: watch(self)]
            if any(a.kind == "trade_run" for a in plan.actors):
                background.append(lambda: feed(self))
            for target in background:
                thread = threading.Thread(target=target, daemon=True)
                thread.start()
                self.threads.append(thread)
            started = time.monotonic()
            for actor in plan.actors:
                delay = actor.start - (time.monotonic() - started)
                if delay > 0:
                    time.sleep(delay)
                self._launch(actor)
            self._finish_actors(started)
            self.stats["ms_activity"] = int((time.monotonic() - started) * 1000)
            self.stop.set()
            self.standin.release_held()
            self.standin.fault_plan = None
            settling = time.monotonic()
            found = self._settle_and_check()
            self.stats["ms_settle_check"] = int((time.monotonic() - settling) * 1000)
            return found
        finally:
            self.stop.set()
            for proc in self.processes:
                proc.kill()
            self.standin.stop()
            self.engine.dispose()

    def _finish_actors(self, started: float) -> None:
        last_start = max((a.start for a in self.plan.actors), default=0.0)
        deadline = started + last_start + 1.5
        for proc in self.processes:
            if proc.name == "trade_run":
                continue
            proc.wait(max(0.1, deadline - time.monotonic()) + 20)
            if proc.code is None:
                self.notes.append(f"{proc.name} still running after the activity phase: killed")
                proc.kill()
                proc.wait(10)
        for proc in self.processes:
            if proc.name == "trade_run" and proc.code is None:
                time.sleep(max(0.0, deadline - time.monotonic()))
                proc.kill(signal.SIGINT)
                if proc.wait(20) is None:
                    self.notes.append("trade run did not stop on SIGINT: killed")
                    proc.kill()
                    proc.wait(10)
        for thread in self.actor_threads:
            thread.join(60)
            if thread.is_alive():
                self.notes.append("an actor thread did not finish in 60 s")

    def _settle_and_check(self) -> list[str]:
        assert self.engine is not None
        for thread in self.threads:
            thread.join(30)
        deadline = time.monotonic() + 30
        while self.standin.booking_later and time.monotonic() < deadline:
            time.sleep(0.05)
        # The final reconciliation, by this process: until no order's outcome is unknown (at most
        # the unknown window after the last order was placed, plus a margin).
        store = SqlOrderStore(self.engine)
        alpaca = OrderManager(store, AlpacaBroker(self.credentials(), timings=self.timings), timings=self.timings)
        paper = open_session(self.engine, "paper", risk_limits=RiskLimits(), timings=self.timings, reconcile=False)
        settle_by = time.monotonic() + self.timings.unknown_window + 15
        try:
            while True:
                for manager in (alpaca, paper.manager):
                    _quietly(manager.reconcile)
                unsettled = [o for o in store.open_orders() if o.status == "pending" or o.outcome_unknown]
                if not unsettled or time.monotonic() > settle_by:
                    break
                time.sleep(0.1)
        finally:
            alpaca.broker.close()
            paper.close()
        files = [p for p in self.folder.rglob("*") if p.is_file() and ".db" not in p.name]
        self._count()
        return check(
            self.engine,
            self.standin,
            self.plan,
            finals_seen=self.finals_seen,
            watcher_violations=self.watcher_violations,
            processes=self.processes,
            files=files,
        )


def _count_into(stats: dict[str, int], key: str, amount: int = 1) -> None:
    stats[key] = stats.get(key, 0) + amount


def _quietly(fn: Any) -> Any:
    try:
        return fn()
    except WorkstationError:
        return None


def run_scenario(
    plan: Plan, db_url: str, zygote: Zygote, folder: Path, fixtures: Path
) -> tuple[list[str], list[str], dict[str, int]]:
    """(violations, notes, counts) of one scenario; its folder is removed when it passed."""
    scenario = Scenario(plan, db_url, zygote, folder, fixtures)
    violations = scenario.run()
    if not violations:
        shutil.rmtree(folder, ignore_errors=True)
    return violations, scenario.notes, scenario.stats
