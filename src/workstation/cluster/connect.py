"""Where the scheduler is, the client that talks to it, and what the user is told about it."""

from __future__ import annotations

import logging
import os
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine

from workstation.config import mask_url
from workstation.errors import ConfigurationError

if TYPE_CHECKING:
    from distributed import Client

log = logging.getLogger(__name__)

SCHEDULER_ENV = "WORKSTATION_DASK_SCHEDULER"
CONNECT_SECONDS = 10.0  # reaching the scheduler
WORKER_WAIT_SECONDS = 10.0  # a scheduler with no worker yet: they may still be starting


def scheduler_address(option: str | None = None) -> str | None:
    """``--scheduler`` if given, else WORKSTATION_DASK_SCHEDULER, else None (run locally)."""
    address = (option if option is not None else os.environ.get(SCHEDULER_ENV, "")).strip()
    if not address:
        return None
    if "://" not in address:
        address = f"tcp://{address}"
    if not address.startswith(("tcp://", "tls://")) or ":" not in address.split("://", 1)[1]:
        raise ConfigurationError(f"not a Dask scheduler address: {address!r} (use tcp://HOST:PORT)")
    return address


def require_postgres(engine: Engine) -> None:
    """Workers open their own connections to the database: a SQLite file on this machine cannot be shared."""
    if engine.dialect.name != "postgresql":
        raise ConfigurationError(
            f"a Dask cluster needs PostgreSQL, but the database is {mask_url(engine.url)}: "
            "point WORKSTATION_DATABASE_URL at a PostgreSQL server every worker can reach"
        )


def connect(address: str) -> Client:
    """A client of the scheduler at ``address`` with at least one worker; one-line errors otherwise."""
    from distributed import Client

    try:
        client = Client(address, timeout=CONNECT_SECONDS, set_as_default=False)
    except (OSError, TimeoutError) as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ConfigurationError(f"cannot reach the Dask scheduler at {address}: {reason}") from None
    try:
        client.wait_for_workers(1, timeout=WORKER_WAIT_SECONDS)
    except (OSError, TimeoutError):
        client.close()
        raise ConfigurationError(
            f"the Dask scheduler at {address} has no workers: start some with 'dask worker {address}'"
        ) from None
    return client


def worker_threads(client: Client) -> int:
    """How many tasks the cluster runs at once (threads over all workers)."""
    return max(1, int(sum(client.nthreads().values())))


def _serves_dashboard(dask_scheduler: Any = None) -> bool:
    """Runs on the scheduler: its HTTP server always starts (health, metrics); the dashboard's pages only
    when bokeh imported there, which leaves distributed's dashboard module loaded."""
    import sys

    return "distributed.dashboard.scheduler" in sys.modules


def dashboard_address(client: Client) -> str | None:
    """The dashboard's URL, or None when the scheduler shows none (bokeh not installed there, --no-dashboard)."""
    services = client.scheduler_info(n_workers=0).get("services", {})
    if "dashboard" not in services or not client.run_on_scheduler(_serves_dashboard):
        return None
    link = client.dashboard_link
    return str(link) if link else None


def describe(client: Client) -> str:
    """One line for the terminal: scheduler, workers and threads, and where to watch."""
    workers = len(client.nthreads())
    dashboard = dashboard_address(client)
    where = f"dashboard {dashboard}" if dashboard else "no dashboard (bokeh is not installed where the scheduler runs)"
    return f"cluster {client.scheduler.address}: {workers} workers, {worker_threads(client)} threads; {where}"
