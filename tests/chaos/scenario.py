"""A chaos scenario, drawn from its seed: broker fault rates, actors (real processes and threads) with
their start and kill times, the broker-side market, the risk limits and the paper account's cash.

Everything random about a scenario comes from ``random.Random(seed)``, so a failing seed replays the
same plan (the interleaving of real processes on a busy machine cannot be replayed exactly).
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, field
from typing import Any

# Compressed timings: 0.3 s instead of 10 s (see trading/execution/timings.py).
TIMINGS: dict[str, float] = {
    "connect_timeout": 0.5,
    "read_timeout": 0.3,
    "submit_attempts": 3,
    "retry_wait": 0.02,
    "lookup_attempts": 4,
    "unknown_window": 3.5,
    "recheck_first": 0.1,
    "recheck_max": 0.4,
    "startup_reconcile": 1.5,
    "reconcile_timeout": 8.0,
    "stream_backoff_min": 0.05,
    "stream_backoff_max": 0.2,
    "outage_backoff_first": 0.05,
    "outage_backoff_max": 0.3,
    "listing_overlap": 600.0,
}
HANG_SECONDS = 0.6  # longer than the read timeout: the client gives up first
LATE_SECONDS = (0.35, 0.8)  # booked late, but well inside the unknown window
POST_FAULTS = ("429", "500", "503", "drop_before", "drop", "hang", "late")
GET_FAULTS = ("429", "500", "hang")


@dataclass(frozen=True)
class Actor:
    # submit_alpaca | submit_paper | cancel | reconcile | trade_run | thread_alpaca | thread_paper |
    # paper_race (processes at one instant competing for the same shares or cash) | alpaca_burst
    kind: str
    start: float
    kill_at: float | None = None  # seconds after its start; None: runs to the end
    args: tuple[str, ...] = ()
    real: bool = False  # started from the console entry point instead of the zygote


@dataclass
class Plan:
    seed: int
    post_fault_rate: float
    post_faults: tuple[str, ...]
    get_fault_rate: float
    stream_duplicate: float
    stream_hold: float
    stream_drop: float
    disconnects: int
    echo_secret: bool
    actors: list[Actor]
    fills: int
    broker_cancels: int
    foreign_orders: int
    paper_cash: int
    limits: dict[str, Any]
    buys_only: bool
    key_id: str = ""
    secret_key: str = ""
    notes: list[str] = field(default_factory=list)

    def describe(self) -> str:
        kinds = ", ".join(f"{a.kind}{'(kill)' if a.kill_at is not None else ''}" for a in self.actors)
        return (
            f"seed {self.seed}: post faults {self.post_fault_rate:.0%} of {'/'.join(self.post_faults) or '-'}, "
            f"get faults {self.get_fault_rate:.0%}, stream dup {self.stream_duplicate:.0%} hold "
            f"{self.stream_hold:.0%} drop {self.stream_drop:.0%}, {self.disconnects} disconnects, "
            f"echo secret {self.echo_secret}, {self.foreign_orders} foreign; actors: {kinds}"
        )


def _submit_args(rng: random.Random, broker: str, buys_only: bool) -> tuple[str, ...]:
    side = "buy" if buys_only or rng.random() < 0.6 else "sell"
    symbol = rng.choice(("AAA", "BBB"))
    qty = str(rng.choice((1, 2, 3, 5, 8, 13)))
    args = ["orders", "submit", "--broker", broker, "--symbol", symbol, "--side", side, "--qty", qty]
    if broker == "alpaca" and rng.random() < 0.5:
        price = f"{rng.choice((95, 99, 100, 101, 105))}.{rng.choice(('00', '25', '50'))}"
        args += ["--type", "limit", "--limit-price", price, "--tif", rng.choice(("day", "gtc"))]
    return (*args, "--json")


def make_plan(seed: int) -> Plan:
    rng = random.Random(seed)
    buys_only = rng.random() < 0.5
    actors: list[Actor] = []

    def kill_time() -> float | None:
        return rng.uniform(0.05, 0.8) if rng.random() < 0.35 else None

    for _ in range(rng.randint(1, 3)):
        actors.append(Actor("submit_alpaca", rng.uniform(0, 0.6), kill_time(), _submit_args(rng, "alpaca", False)))
    for _ in range(rng.randint(0, 2)):
        actors.append(Actor("submit_paper", rng.uniform(0, 0.6), kill_time(), _submit_args(rng, "paper", buys_only)))
    if rng.random() < 0.5:
        actors.append(Actor("cancel", rng.uniform(0.3, 0.9), kill_time()))
    if rng.random() < 0.6:
        actors.append(Actor("reconcile", rng.uniform(0, 0.9), kill_time(), real=rng.random() < 0.1))
    if rng.random() < 0.4:
        qty = str(rng.choice((1, 2, 4)))
        args = ("trade", "run", "--broker", "alpaca", "--model-id", "m1", "--symbols", "AAA", "--predictions",
                "stored", "--poll", "0.1", "--qty", qty, "--json")  # fmt: skip
        actors.append(Actor("trade_run", 0.0, rng.uniform(0.5, 1.5) if rng.random() < 0.5 else None, args))
    if rng.random() < 0.5:
        actors.append(Actor("thread_alpaca", rng.uniform(0, 0.6)))
    if rng.random() < 0.5:
        actors.append(Actor("thread_paper", rng.uniform(0, 0.6), args=("buy",) if buys_only else ()))
    if rng.random() < 0.45:
        # Same instant, same symbol: sells of one whole position, or buys worth most of the cash.
        actors.append(Actor("paper_race", rng.uniform(0, 0.6), args=(str(rng.randint(2, 3)),)))
    if rng.random() < 0.3:
        actors.append(Actor("alpaca_burst", rng.uniform(0, 0.6), args=(str(rng.randint(2, 3)),)))
    post_faults = tuple(f for f in POST_FAULTS if rng.random() < 0.5)
    limits: dict[str, Any] = {"max_order_quantity": rng.choice((8, 13, 20))}
    if rng.random() < 0.6:
        limits["max_orders_per_window"] = rng.randint(2, 6)
        limits["rate_window_seconds"] = rng.choice((1, 2, 5))
    if buys_only and rng.random() < 0.7:
        limits["max_position_quantity"] = rng.choice((10, 20, 30))
    return Plan(
        seed=seed,
        post_fault_rate=rng.choice((0.0, 0.15, 0.3, 0.5)) if post_faults else 0.0,
        post_faults=post_faults,
        get_fault_rate=rng.choice((0.0, 0.0, 0.1, 0.25)),
        stream_duplicate=rng.choice((0.0, 0.2, 0.5)),
        stream_hold=rng.choice((0.0, 0.2, 0.4)),
        stream_drop=rng.choice((0.0, 0.1, 0.3)),
        disconnects=rng.choice((0, 0, 1, 2)),
        echo_secret=rng.random() < 0.15,
        actors=sorted(actors, key=lambda a: a.start),
        fills=rng.randint(2, 10),
        broker_cancels=rng.choice((0, 0, 1)),
        foreign_orders=rng.choice((0, 0, 0, 1, 2)),
        paper_cash=rng.choice((300, 1_000, 3_000, 20_000)),
        limits=limits,
        buys_only=buys_only,
        key_id=f"PKCHAOS{rng.getrandbits(48):012X}",
        secret_key=f"chaos-{rng.getrandbits(120):030x}",
    )


def timings_json() -> str:
    return json.dumps(TIMINGS)
