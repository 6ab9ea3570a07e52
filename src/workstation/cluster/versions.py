"""Every worker must compute what this machine would: same workstation, TA-Lib and feature catalog.

A worker with another TA-Lib (or another catalog) would write feature rows that differ from a local
build, silently and only for the symbols it happened to get; so a mismatch refuses the whole job before
any task is sent. The versions are collected with ``client.run`` (a call on each worker, not a task).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from workstation.errors import ConfigurationError

if TYPE_CHECKING:
    from distributed import Client

log = logging.getLogger(__name__)

Versions = dict[str, str]


def local_versions() -> Versions:
    """What this process runs; called on the client and, through ``client.run``, on each worker."""
    import talib

    from workstation import __version__
    from workstation.features.catalog import FEATURE_VERSION

    library = getattr(talib, "__ta_version__", "unknown")
    library_text = library.decode() if isinstance(library, bytes) else str(library)
    return {
        "workstation": __version__,
        "TA-Lib": f"{talib.__version__} (C library {library_text.split()[0]})",
        "feature catalog": FEATURE_VERSION,
    }


def _describe(versions: Versions) -> str:
    return ", ".join(f"{name} {value}" for name, value in sorted(versions.items()))


def check_workers(client: Client, expected: Versions | None = None) -> None:
    """Raise a one-line ConfigurationError (exit 2) unless every worker runs ``expected`` (default: ours)."""
    expected = local_versions() if expected is None else expected
    try:
        found: dict[str, Versions] = client.run(local_versions)
    except Exception as exc:  # typically ModuleNotFoundError: the package is not installed on a worker
        reason = f"{type(exc).__name__}: {exc}".strip().splitlines()[0]
        raise ConfigurationError(
            f"the cluster's workers cannot run workstation ({reason}); install this package where they run"
        ) from None
    different = {worker: versions for worker, versions in found.items() if versions != expected}
    if different:
        worker, versions = sorted(different.items())[0]
        more = f" (and {len(different) - 1} more)" if len(different) > 1 else ""
        raise ConfigurationError(
            f"refusing the cluster: worker {worker}{more} runs {_describe(versions)}; "
            f"this machine runs {_describe(expected)}"
        )
    log.info("cluster workers match: %s", _describe(expected))
