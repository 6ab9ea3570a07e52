"""Parameter grids for sweeps: ``fast=5:50:5,slow=20:200:10`` → the list of points, ranges inclusive.

Each axis is ``name=start:stop:step`` (inclusive of ``stop`` when the steps land on it), a single value
``name=20``, or a list ``name=10|20|40``. Points where a strategy's parameters can never be valid
(sma_cross with fast ≥ slow) are skipped, not failed: the grid is a rectangle, the strategy is not.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from workstation.errors import InvalidInputError

# The parameters a grid may name, per strategy, and the rule that skips impossible points.
GRID_PARAMETERS: dict[str, tuple[str, ...]] = {"sma_cross": ("fast", "slow")}
MAX_POINTS = 100_000
_AXIS = re.compile(r"^\s*([a-z_][a-z0-9_]*)\s*=\s*(.+?)\s*$")


@dataclass(frozen=True, slots=True)
class Grid:
    """The axes in the order given (each a sorted tuple of distinct values) and the points to try."""

    axes: dict[str, tuple[int, ...]]
    points: list[dict[str, int]]
    skipped: int

    @property
    def names(self) -> list[str]:
        return list(self.axes)


def _integer(text: str, axis: str) -> int:
    try:
        return int(text.strip())
    except ValueError:
        raise InvalidInputError(f"--grid {axis}: {text.strip()!r} is not a whole number") from None


def parse_axis(spec: str) -> tuple[str, tuple[int, ...]]:
    """``fast=5:50:5`` → ("fast", (5, 10, …, 50)); a malformed axis is InvalidInputError (exit 2)."""
    match = _AXIS.match(spec)
    if match is None:
        raise InvalidInputError(f"--grid: {spec.strip()!r} is not name=start:stop:step (e.g. fast=5:50:5)")
    name, body = match.group(1), match.group(2)
    if "|" in body:
        values = [_integer(v, name) for v in body.split("|")]
    elif ":" in body:
        parts = body.split(":")
        if len(parts) not in (2, 3):
            raise InvalidInputError(f"--grid {name}: {body!r} is not start:stop:step")
        start, stop = _integer(parts[0], name), _integer(parts[1], name)
        step = _integer(parts[2], name) if len(parts) == 3 else 1
        if step <= 0:
            raise InvalidInputError(f"--grid {name}: the step must be positive, got {step}")
        if stop < start:
            raise InvalidInputError(f"--grid {name}: the range {start}:{stop} ends before it starts")
        values = list(range(start, stop + 1, step))
    else:
        values = [_integer(body, name)]
    return name, tuple(sorted(set(values)))


def parse_grid(text: str, strategy: str = "sma_cross", fixed: Mapping[str, int] | None = None) -> Grid:
    """The grid of ``text``; parameters it does not name keep their ``fixed`` value (e.g. --slow 100)."""
    allowed = GRID_PARAMETERS.get(strategy)
    if allowed is None:
        raise InvalidInputError(f"sweeps support {', '.join(GRID_PARAMETERS)}, not {strategy}")
    if not text or not text.strip():
        raise InvalidInputError("--grid is empty: give e.g. fast=5:50:5,slow=20:200:10")
    axes: dict[str, tuple[int, ...]] = {}
    for spec in text.split(","):
        name, values = parse_axis(spec)
        if name not in allowed:
            raise InvalidInputError(f"--grid: {strategy} has no parameter {name!r} (it has {', '.join(allowed)})")
        if name in axes:
            raise InvalidInputError(f"--grid names {name} twice")
        axes[name] = values
    for name, value in (fixed or {}).items():
        if name in allowed and name not in axes:
            axes[name] = (int(value),)
    ordered = {name: axes[name] for name in allowed if name in axes}
    total = 1
    for values in ordered.values():
        total *= len(values)
    if total > MAX_POINTS:
        raise InvalidInputError(f"--grid has {total:,} points; at most {MAX_POINTS:,} are allowed")
    points: list[dict[str, int]] = []
    skipped = 0
    for combination in itertools.product(*ordered.values()):
        point = dict(zip(ordered, combination, strict=True))
        if valid_point(strategy, point):
            points.append(point)
        else:
            skipped += 1
    if not points:
        raise InvalidInputError(f"--grid has no valid point ({skipped} skipped: {strategy} needs 1 <= fast < slow)")
    return Grid(ordered, points, skipped)


def valid_point(strategy: str, point: Mapping[str, int]) -> bool:
    if strategy == "sma_cross":
        fast, slow = point.get("fast", 15), point.get("slow", 30)
        return 1 <= fast < slow
    return True


def grid_text(axes: Mapping[str, Sequence[int]]) -> str:
    """A grid as text again (stored with the sweep, shown in the panel)."""
    return ",".join(f"{name}={'|'.join(str(v) for v in values)}" for name, values in axes.items())
