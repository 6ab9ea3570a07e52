"""``--scheduler``: the option a command adds to run its work on a Dask cluster.

A command takes ``@scheduler_option`` and hands ``scheduler`` on: to ``workstation.cluster.jobs``
(features build, models train) or, for any work that runs on a ``concurrent.futures.Executor``, to
:func:`executor_for`. Without a scheduler (neither the option nor WORKSTATION_DASK_SCHEDULER) the command
runs locally as before, without importing distributed. The cluster's line (workers, dashboard) goes to
stderr, so ``--json`` output stays one object.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from concurrent.futures import Executor
from contextlib import contextmanager
from typing import Any, TypeVar

import click
from sqlalchemy import Engine

from workstation.cluster.connect import SCHEDULER_ENV, require_postgres, scheduler_address

F = TypeVar("F", bound=Callable[..., Any])


def scheduler_option(command: F) -> F:
    return click.option(
        "--scheduler", default=None, metavar="tcp://HOST:PORT",
        help=f"Run the work on this Dask scheduler's workers (default: ${SCHEDULER_ENV}; unset: this machine).",
    )(command)  # fmt: skip


def announce(line: str) -> None:
    click.echo(line, err=True)


@contextmanager
def executor_for(engine: Engine, scheduler: str | None) -> Iterator[Executor | None]:
    """The cluster's Executor (checked, closed at the end), or None to run locally."""
    address = scheduler_address(scheduler)
    if address is None:
        yield None
        return
    require_postgres(engine)
    from workstation.cluster.executor import cluster_executor

    with cluster_executor(address, announce=announce) as executor:
        yield executor
