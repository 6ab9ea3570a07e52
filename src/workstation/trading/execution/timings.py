"""Timeouts, retries and backoffs of the order path, in one place, configurable.

Defaults suit a real broker. ``WORKSTATION_EXECUTION_TIMINGS`` (a JSON object of the field names
below, seconds) overrides them — the chaos harness runs everything compressed (0.2 s instead of 10 s).

* ``unknown_window``: how long an order whose send outcome is unknown is looked up again before it
  may be declared never received (≥ 5 minutes by default: brokers have booked orders seconds late).
  No send is attempted later than a third of it after the order was placed (``send_deadline``).
* ``recheck_first`` / ``recheck_max``: the backoff between those look-ups (doubling).
* ``startup_reconcile``: how long a command waits for the start-up reconciliation before it carries
  on (and says so); the reconciliation keeps running in the background.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass, fields, replace
from datetime import timedelta
from typing import Any

from workstation.errors import ConfigurationError

TIMINGS_ENV = "WORKSTATION_EXECUTION_TIMINGS"


@dataclass(frozen=True, slots=True)
class ExecutionTimings:
    connect_timeout: float = 3.05
    read_timeout: float = 10.0
    submit_attempts: int = 3
    retry_wait: float = 0.5
    lookup_attempts: int = 4
    unknown_window: float = 300.0
    recheck_first: float = 2.0
    recheck_max: float = 60.0
    startup_reconcile: float = 15.0
    reconcile_timeout: float = 60.0
    stream_backoff_min: float = 1.0
    stream_backoff_max: float = 30.0
    outage_backoff_first: float = 0.5
    outage_backoff_max: float = 30.0
    # How far back a reconciliation lists the broker's orders beyond its previous run (clock skew,
    # orders the broker booked late under an earlier submission time).
    listing_overlap: float = 600.0

    @property
    def window(self) -> timedelta:
        return timedelta(seconds=self.unknown_window)

    @property
    def send_deadline(self) -> float:
        """No attempt to send an order starts later than this after it was placed (a third of the
        unknown window), so none can reach the broker after the order was declared never received —
        even from a process that stalled between committing the order and sending it."""
        return self.unknown_window / 3

    def recheck_delay(self, attempts: int) -> timedelta:
        """Wait before look-up number ``attempts + 1`` of an order whose outcome is unknown."""
        seconds = min(self.recheck_max, self.recheck_first * 2 ** max(0, min(attempts, 30)))
        return timedelta(seconds=seconds)

    @classmethod
    def from_mapping(cls, values: dict[str, Any], source: str = TIMINGS_ENV) -> ExecutionTimings:
        known = {f.name: f for f in fields(cls)}
        unknown = sorted(set(values) - set(known))
        if unknown:
            raise ConfigurationError(f"{source}: unknown timing(s) {', '.join(unknown)}")
        converted: dict[str, Any] = {}
        for name, value in values.items():
            integer = known[name].type in ("int", int)
            if isinstance(value, bool) or not isinstance(value, int | float | str):
                raise ConfigurationError(f"{source}: {name} must be a number of seconds, got {value!r}")
            try:
                number = float(value)
            except ValueError:
                raise ConfigurationError(f"{source}: {name} must be a number, got {value!r}") from None
            if not math.isfinite(number) or number <= 0 or number > 86_400:
                raise ConfigurationError(f"{source}: {name} must be between 0 and 86400, got {value!r}")
            converted[name] = max(1, round(number)) if integer else number
        return replace(cls(), **converted)

    @classmethod
    def from_env(cls) -> ExecutionTimings:
        raw = os.environ.get(TIMINGS_ENV)
        if not raw:
            return cls()
        try:
            values = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise ConfigurationError(f"{TIMINGS_ENV} is not valid JSON: {exc.msg}") from None
        if not isinstance(values, dict):
            raise ConfigurationError(f"{TIMINGS_ENV} must hold a JSON object of timings")
        return cls.from_mapping(values)
