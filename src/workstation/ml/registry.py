"""The model registry on the ``models`` table: register, list, show, set status, delete, load.

model_id is readable and versioned: ``<type>_<target>_<interval>[_h<horizon>]_v<n>``, e.g.
``rf_direction_1d_v3``; n counts up per base name. The artifact lives under the user data
directory and its sha256 is stored in ``artifact_sha256``; :func:`load_model` refuses a file whose
hash differs. A model that has predictions cannot be deleted (the predictions' RESTRICT foreign key
keeps it, so every stored prediction can be traced to its model); deprecate it instead.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from workstation.db.models import Model, Prediction
from workstation.db.trading import MODEL_STATUSES
from workstation.db.types import json_safe
from workstation.errors import ConfigurationError
from workstation.ml.artifacts import TrainedModel, delete_artifact, load_artifact, save_artifact
from workstation.ml.errors import ModelInUseError, ModelNotFoundError
from workstation.ml.estimators import ID_PREFIXES, REGISTRY_NAMES

TARGET_SHORT = {"price_direction": "direction", "volatility": "volatility"}
TYPE_FROM_REGISTRY = {v: k for k, v in REGISTRY_NAMES.items()}


@dataclass(frozen=True)
class ModelInfo:
    """One registry row, as the CLI and the GUI's model panel show it."""

    model_id: str
    name: str
    version: str
    model_type: str  # the registry name: RandomForest, GradientBoosting, LogisticRegression, LSTM
    status: str
    parameters: dict[str, Any]
    metrics: dict[str, Any]
    file_path: str | None
    artifact_sha256: str | None
    created_at: datetime
    updated_at: datetime

    @property
    def target(self) -> str:
        return str(self.parameters.get("target", ""))

    @property
    def interval(self) -> str:
        return str(self.parameters.get("interval", ""))

    @property
    def symbols(self) -> list[str]:
        return [str(s) for s in self.parameters.get("symbols", [])]

    @property
    def feature_importance(self) -> list[dict[str, Any]]:
        """Permutation importance measured on the last held-out fold, most useful first."""
        return list(self.metrics.get("feature_importance", []))

    def as_dict(self) -> dict[str, Any]:
        return {
            "model_id": self.model_id, "name": self.name, "version": self.version, "model_type": self.model_type,
            "status": self.status, "parameters": self.parameters, "metrics": self.metrics,
            "file_path": self.file_path, "artifact_sha256": self.artifact_sha256,
            "created_at": self.created_at.isoformat(), "updated_at": self.updated_at.isoformat(),
        }  # fmt: skip


def _info(row: Model) -> ModelInfo:
    return ModelInfo(
        row.model_id, row.name, row.version, row.model_type, row.status, dict(row.parameters or {}),
        dict(row.metrics or {}), row.file_path, row.artifact_sha256, row.created_at, row.updated_at,
    )  # fmt: skip


def base_model_id(model_type: str, target: str, interval: str, horizon: int) -> str:
    base = f"{ID_PREFIXES[model_type]}_{TARGET_SHORT[target]}_{interval}"
    if horizon != 1:
        base += f"_h{horizon}"
    return re.sub(r"[^A-Za-z0-9_.-]", "_", base).lower()


def _next_version(session: Session, base: str) -> int:
    existing = session.scalars(select(Model.model_id).where(Model.model_id.like(f"{base}_v%"))).all()
    numbers = [int(m.group(1)) for mid in existing if (m := re.fullmatch(re.escape(base) + r"_v(\d+)", mid))]
    return max(numbers, default=0) + 1


def register_model(
    engine: Engine,
    trained: TrainedModel,
    *,
    parameters: dict[str, Any],
    metrics: dict[str, Any],
    name: str | None = None,
    status: str = "active",
) -> ModelInfo:
    """Save the artifact and insert the registry row (retrying the version number on a race)."""
    if status not in MODEL_STATUSES:
        raise ConfigurationError(f"status must be one of {', '.join(MODEL_STATUSES)}, not {status!r}")
    base = base_model_id(trained.model_type, trained.target, trained.interval, trained.horizon)
    display = name or f"{REGISTRY_NAMES[trained.model_type]} {trained.target} {trained.interval} h{trained.horizon}"
    for _attempt in range(5):
        with Session(engine) as session:
            version = _next_version(session, base)
            model_id = f"{base}_v{version}"
            path, digest = save_artifact(trained, model_id)
            row = Model(
                model_id=model_id, name=display, version=str(version), model_type=REGISTRY_NAMES[trained.model_type],
                parameters=json_safe(parameters), metrics=json_safe(metrics), file_path=str(path),
                artifact_sha256=digest, status=status,
            )  # fmt: skip
            session.add(row)
            try:
                session.commit()
            except IntegrityError:
                session.rollback()
                delete_artifact(str(path))  # another process took this version number: try the next one
                continue
            return _info(row)
    raise ConfigurationError(f"could not allocate a model id for {base} (too many concurrent registrations)")


def get_model(engine: Engine, model_id: str) -> ModelInfo:
    with Session(engine) as session:
        row = session.scalar(select(Model).where(Model.model_id == model_id))
        if row is None:
            raise ModelNotFoundError(f"no model {model_id!r}; 'workstation models list' shows the registry")
        return _info(row)


def list_models(engine: Engine, *, status: str | None = None) -> list[ModelInfo]:
    query = select(Model).order_by(Model.created_at.desc(), Model.model_id)
    if status is not None:
        query = query.where(Model.status == status)
    with Session(engine) as session:
        return [_info(row) for row in session.scalars(query)]


def set_status(engine: Engine, model_id: str, status: str) -> ModelInfo:
    if status not in MODEL_STATUSES:
        raise ConfigurationError(f"status must be one of {', '.join(MODEL_STATUSES)}, not {status!r}")
    with Session(engine) as session:
        row = session.scalar(select(Model).where(Model.model_id == model_id))
        if row is None:
            raise ModelNotFoundError(f"no model {model_id!r}; 'workstation models list' shows the registry")
        row.status = status
        session.commit()
        return _info(row)


def prediction_count(engine: Engine, model_id: str) -> int:
    with Session(engine) as session:
        return int(session.scalar(select(func.count()).where(Prediction.model_id == model_id)) or 0)


def delete_model(engine: Engine, model_id: str) -> None:
    """Delete the row and its artifact; refused when predictions reference the model."""
    info = get_model(engine, model_id)
    refusal = (
        f"model {model_id} has {{n}} stored prediction(s) and cannot be deleted; "
        f"deprecate it instead: workstation models set-status {model_id} deprecated"
    )
    count = prediction_count(engine, model_id)
    if count:
        raise ModelInUseError(refusal.format(n=count))
    with Session(engine) as session:
        try:
            session.execute(delete(Model).where(Model.model_id == model_id))
            session.commit()
        except IntegrityError:  # a prediction arrived in between: the RESTRICT key still holds
            session.rollback()
            raise ModelInUseError(refusal.format(n=prediction_count(engine, model_id))) from None
    delete_artifact(info.file_path)


def load_model(engine: Engine, model_id: str) -> tuple[ModelInfo, TrainedModel]:
    """The registry row and its verified artifact."""
    info = get_model(engine, model_id)
    if not info.file_path:
        raise ModelNotFoundError(f"model {model_id} has no artifact file")
    return info, load_artifact(info.file_path, info.artifact_sha256, model_id=model_id)


def feature_importance(engine: Engine, model_id: str) -> list[dict[str, Any]]:
    """[{"feature", "importance", "std"}] from the last held-out fold, most useful first."""
    return get_model(engine, model_id).feature_importance
