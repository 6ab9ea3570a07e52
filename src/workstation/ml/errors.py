"""Errors the ML layer raises for problems a user can act on (one line, no traceback)."""

from __future__ import annotations

from workstation.errors import WorkstationError


class ModelNotFoundError(WorkstationError):
    """No model with that model_id in the registry."""

    exit_code = 2


class ModelInUseError(WorkstationError):
    """The model has stored predictions, so the RESTRICT foreign key keeps it; deprecate it instead."""


class ArtifactIntegrityError(WorkstationError):
    """The artifact file is missing or its sha256 differs from the one recorded when it was saved."""


class InsufficientDataError(WorkstationError):
    """Too few labelled bars for the requested walk-forward validation."""


class OptionalDependencyError(WorkstationError):
    """A feature needs an optional extra that is not installed."""

    exit_code = 2
