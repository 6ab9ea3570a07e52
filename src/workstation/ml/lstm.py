"""LSTM over the last N feature vectors (optional extra: ``pip install 'workstation[lstm]'``, PyTorch CPU).

Input windows are built per symbol from rows ≤ t only; bars before a symbol's first row are NaN and
are imputed with the training medians like any warm-up NULL, then every feature is standardised with
statistics of the training rows alone. PyTorch is imported only when an LSTM is trained or loaded.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from workstation.jobs import CancelToken
from workstation.ml.errors import OptionalDependencyError

INSTALL_HINT = "the LSTM model needs PyTorch (CPU): pip install 'workstation[lstm]'"


def default_lstm_hyperparameters() -> dict[str, Any]:
    return {
        "sequence_length": 20,
        "hidden_size": 32,
        "num_layers": 1,
        "epochs": 15,
        "batch_size": 256,
        "learning_rate": 1e-3,
        "random_state": 42,
    }


def require_torch() -> Any:
    try:
        import torch
    except ImportError:
        raise OptionalDependencyError(INSTALL_HINT) from None
    return torch


def sequence_windows(x: np.ndarray, groups: np.ndarray, length: int) -> np.ndarray:
    """(rows, length, features): row i holds rows i-length+1..i of the same symbol, oldest first.

    ``x`` must be sorted by symbol then time (``groups`` = the symbol of each row)."""
    n, f = x.shape
    out = np.full((n, length, f), np.nan, dtype=x.dtype)
    for lag in range(length):
        if lag >= n:
            break
        shifted = np.full((n, f), np.nan, dtype=x.dtype)
        shifted[lag:] = x[: n - lag] if lag else x
        same = np.zeros(n, dtype=bool)
        same[lag:] = groups[lag:] == groups[: n - lag]
        shifted[~same] = np.nan
        out[:, length - 1 - lag, :] = shifted
    return out


class LSTMEstimator:
    """A small LSTM classifier/regressor with an sklearn-like interface (fit, predict_proba, predict)."""

    def __init__(
        self,
        *,
        classification: bool,
        sequence_length: int = 20,
        hidden_size: int = 32,
        num_layers: int = 1,
        epochs: int = 15,
        batch_size: int = 256,
        learning_rate: float = 1e-3,
        random_state: int = 42,
    ) -> None:
        self.classification = classification
        self.sequence_length = sequence_length
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.epochs = epochs
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.random_state = random_state
        self.classes_ = np.array([0, 1])
        self._state: dict[str, Any] | None = None
        self._median: np.ndarray | None = None
        self._mean: np.ndarray | None = None
        self._scale: np.ndarray | None = None
        self._y_scale = 1.0

    def _prepare(self, x: np.ndarray) -> np.ndarray:
        if self._median is None or self._mean is None or self._scale is None:
            raise RuntimeError("LSTMEstimator is not fitted")
        filled = np.where(np.isnan(x), self._median, x)
        return np.asarray((filled - self._mean) / self._scale, dtype=np.float32)

    def _network(self, torch: Any, n_features: int) -> Any:
        hidden, layers = self.hidden_size, self.num_layers

        class Net(torch.nn.Module):  # type: ignore[misc]
            def __init__(self) -> None:
                super().__init__()
                self.lstm = torch.nn.LSTM(n_features, hidden, num_layers=layers, batch_first=True)
                self.head = torch.nn.Linear(hidden, 1)

            def forward(self, batch: Any) -> Any:
                output, _ = self.lstm(batch)
                return self.head(output[:, -1, :]).squeeze(-1)

        return Net()

    def fit(self, x: np.ndarray, y: np.ndarray, *, progress: Any = None, cancel: CancelToken | None = None) -> Any:
        torch = require_torch()
        cancel = cancel or CancelToken()
        torch.manual_seed(self.random_state)
        flat = x.reshape(-1, x.shape[-1])
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # an all-NULL column has no median: 0 below
            median = np.nanmedian(flat, axis=0)
        self._median = np.nan_to_num(median)
        filled = np.where(np.isnan(flat), self._median, flat)
        self._mean = filled.mean(axis=0)
        self._scale = np.where(filled.std(axis=0) > 0, filled.std(axis=0), 1.0)
        target = y.astype(np.float32)
        if not self.classification:
            self._y_scale = float(np.std(target)) or 1.0
            target = target / self._y_scale
        inputs = torch.from_numpy(self._prepare(x))
        labels = torch.from_numpy(target)
        net = self._network(torch, x.shape[-1])
        optimiser = torch.optim.Adam(net.parameters(), lr=self.learning_rate)
        loss_fn = torch.nn.BCEWithLogitsLoss() if self.classification else torch.nn.MSELoss()
        generator = torch.Generator().manual_seed(self.random_state)
        for epoch in range(self.epochs):
            cancel.raise_if_cancelled()
            net.train()
            order = torch.randperm(len(labels), generator=generator)
            for begin in range(0, len(labels), self.batch_size):
                batch = order[begin : begin + self.batch_size]
                optimiser.zero_grad()
                loss = loss_fn(net(inputs[batch]), labels[batch])
                loss.backward()
                optimiser.step()
            if progress is not None:
                progress((epoch + 1) / self.epochs, f"epoch {epoch + 1}/{self.epochs}")
        self._state = {k: v.detach().clone() for k, v in net.state_dict().items()}
        self._n_features = x.shape[-1]
        return self

    def _forward(self, x: np.ndarray) -> np.ndarray:
        torch = require_torch()
        if self._state is None:
            raise RuntimeError("LSTMEstimator is not fitted")
        net = self._network(torch, x.shape[-1])
        net.load_state_dict(self._state)
        net.eval()
        with torch.no_grad():
            return np.asarray(net(torch.from_numpy(self._prepare(x))).numpy(), dtype=float)

    def predict_proba(self, x: np.ndarray) -> np.ndarray:
        p = 1.0 / (1.0 + np.exp(-self._forward(x)))
        return np.column_stack([1 - p, p])

    def predict(self, x: np.ndarray) -> np.ndarray:
        if self.classification:
            return (self.predict_proba(x)[:, 1] >= 0.5).astype(int)
        return self._forward(x) * self._y_scale
