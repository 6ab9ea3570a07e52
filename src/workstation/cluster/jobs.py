"""The long jobs that can run on a cluster, as the CLI and the window start them.

Each takes ``scheduler`` (None: WORKSTATION_DASK_SCHEDULER; neither: run locally, as before, without
importing distributed). With a scheduler the database must be PostgreSQL, the client is checked
(:func:`~workstation.cluster.executor.cluster_client`) and closed when the job ends; progress and cancel
are the local job's own (a cancel cancels the futures). ``announce`` receives the line naming the
cluster and its dashboard.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine

from workstation.cluster.connect import require_postgres, scheduler_address

if TYPE_CHECKING:
    from workstation.features.engine import FeatureBuildSummary
    from workstation.ml.service import TrainingOutcome
    from workstation.ml.training import TrainingSpec

Announce = Callable[[str], None]


def build_features_on(
    engine: Engine, *, scheduler: str | None = None, announce: Announce | None = None, **kwargs: Any
) -> FeatureBuildSummary:
    """``features.engine.build_features(engine, **kwargs)``, on the cluster when one is named."""
    from workstation.features.engine import build_features

    address = scheduler_address(scheduler)
    if address is None:
        return build_features(engine, **kwargs)
    require_postgres(engine)
    from workstation.cluster.executor import cluster_client
    from workstation.cluster.features import ClusterBatchRunner

    with cluster_client(address, announce=announce) as client:
        return build_features(engine, runner=ClusterBatchRunner(client), **kwargs)


def train_and_register_on(
    engine: Engine, spec: TrainingSpec, *, scheduler: str | None = None, announce: Announce | None = None,
    **kwargs: Any,
) -> TrainingOutcome:  # fmt: skip
    """``ml.service.train_and_register``; on a cluster the folds and the final fit are its tasks and the
    training arrays are scattered once."""
    from workstation.ml.service import train_and_register

    address = scheduler_address(scheduler)
    if address is None:
        return train_and_register(engine, spec, **kwargs)
    require_postgres(engine)
    from workstation.cluster.executor import cluster_executor

    with cluster_executor(address, announce=announce) as executor:
        return train_and_register(engine, spec, executor=executor, publish=executor.publish, **kwargs)
