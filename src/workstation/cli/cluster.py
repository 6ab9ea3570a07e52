"""``--scheduler``: the option a command adds to run its work on a Dask cluster, and the client it opens.

A command takes ``@scheduler_option`` and opens ``with cluster_for(engine, scheduler) as client:``;
``client`` is None when no scheduler is named (neither the option nor WORKSTATION_DASK_SCHEDULER), and
the command runs locally as before without importing distributed. With one, the database must be
PostgreSQL, the workers must match this machine's versions, and the cluster's line (workers, dashboard)
goes to stderr.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, TypeVar

import click
from sqlalchemy import Engine

from workstation.cluster.connect import SCHEDULER_ENV, require_postgres, scheduler_address

if TYPE_CHECKING:
    from distributed import Client

F = TypeVar("F", bound=Callable[..., Any])


def scheduler_option(command: F) -> F:
    return click.option(
        "--scheduler", default=None, metavar="tcp://HOST:PORT",
        help=f"Run the work on this Dask scheduler's workers (default: ${SCHEDULER_ENV}; unset: this machine).",
    )(command)  # fmt: skip


@contextmanager
def cluster_for(engine: Engine, scheduler: str | None) -> Iterator[Client | None]:
    address = scheduler_address(scheduler)
    if address is None:
        yield None
        return
    require_postgres(engine)
    from workstation.cluster.executor import cluster_client

    with cluster_client(address, announce=lambda line: click.echo(line, err=True)) as client:
        yield client
