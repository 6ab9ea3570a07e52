"""The chart's indicators: which are shown, with which parameters, and the Indicators menu.

Enabled indicators and their parameters are saved in the settings (``chart/indicators``,
``chart/indicator_params``). Every indicator is computed with its parameters in the chart's load
worker; changing a parameter recomputes that one indicator off the GUI thread. An indicator's
parameters open from the Indicators menu (Parameters ›) or by clicking its name in a legend.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import numpy as np
from numpy.typing import NDArray
from PySide6.QtCore import QObject
from PySide6.QtWidgets import QMenu, QToolButton, QWidget

from workstation.dashboard import indicators
from workstation.dashboard.chart_data import ChartData
from workstation.gui.background import BackgroundCalls
from workstation.gui.chart.view import ChartView, SubplotSpec
from workstation.gui.context import WorkstationContext
from workstation.gui.dialogs.indicator_dialog import IndicatorDialog

FloatArray = NDArray[np.float64]
Computed = dict[str, dict[str, FloatArray]]
ENABLED_KEY = "chart/indicators"
PARAMS_KEY = "chart/indicator_params"
DEFAULT_INDICATORS = ["sma20", "sma50", "rsi"]
_OVERLAY_COLORS = ("#f6c344", "#42a5f5", "#ff7043", "#66bb6a", "#ab47bc", "#26c6da", "#ec407a", "#8d6e63")


def compute_all(data: ChartData, params: Mapping[str, Mapping[str, object]]) -> Computed:
    """Every indicator of the catalog with its parameters (runs in the load worker)."""
    if data.bars.empty:
        return {}
    high, low, close, volume = (data.column(c) for c in ("high", "low", "close", "volume"))
    return {key: indicators.compute(key, high, low, close, volume, params.get(key)) for key in indicators.INDICATORS}


def overlay_color(key: str) -> str:
    # The lines of one indicator (a band's upper/middle/lower) share its colour.
    return _OVERLAY_COLORS[list(indicators.INDICATORS).index(key) % len(_OVERLAY_COLORS)]


class ChartIndicators(QObject):
    def __init__(self, context: WorkstationContext, view: ChartView, picker: QToolButton, parent: QWidget) -> None:
        super().__init__(parent)
        self._context = context
        self._view = view
        self._picker = picker
        self._parent = parent
        self._calls = BackgroundCalls(1, self)
        saved = context.settings.value(ENABLED_KEY)
        self._enabled: list[str] = [str(k) for k in saved] if isinstance(saved, list) else DEFAULT_INDICATORS.copy()
        self._params: dict[str, dict[str, float]] = _load_params(context.settings.value(PARAMS_KEY))
        self._data: ChartData | None = None
        self._computed: Computed = {}
        self.dialog: IndicatorDialog | None = None
        view.legendLinkActivated.connect(self.open_parameters)
        self.rebuild_menu([])

    # -- state --------------------------------------------------------------------------------------------
    def enabled(self) -> list[str]:
        return list(self._enabled)

    def params(self) -> dict[str, dict[str, float]]:
        return {k: dict(v) for k, v in self._params.items()}

    def title(self, key: str) -> str:
        return indicators.INDICATORS[key].title(self._params.get(key))

    def set_data(self, data: ChartData, computed: Computed) -> None:
        """New bars are on the view: show every enabled indicator on them."""
        self._data = data
        self._computed = computed
        self.rebuild_menu(list(data.feature_overlays))
        for key in self._enabled:
            self._show(key)

    def set_indicator(self, key: str, enabled: bool) -> None:
        if enabled and key not in self._enabled:
            self._enabled.append(key)
            self._show(key)
        elif not enabled and key in self._enabled:
            self._enabled.remove(key)
            self._hide(key)
        self._context.settings.setValue(ENABLED_KEY, self._enabled)

    def set_parameters(self, key: str, params: Mapping[str, object]) -> None:
        """New parameters for ``key``: saved, recomputed in the background, redrawn when ready."""
        resolved = indicators.INDICATORS[key].resolve(params)
        self._params[key] = resolved
        self._context.settings.setValue(PARAMS_KEY, json.dumps(self._params))
        self.rebuild_menu(list(self._data.feature_overlays) if self._data is not None else [])
        data = self._data
        if data is None or data.bars.empty:
            return
        high, low, close, volume = (data.column(c) for c in ("high", "low", "close", "volume"))
        self._calls.run(
            lambda: indicators.compute(key, high, low, close, volume, resolved),
            lambda lines, error: self._recomputed(data, key, lines, error),
        )

    def _recomputed(self, data: ChartData, key: str, lines: Any, error: str | None) -> None:
        if error is not None or data is not self._data:
            return  # another symbol or interval was loaded meanwhile: its own computation applies
        self._computed[key] = lines
        if key in self._enabled:
            self._hide(key)
            self._show(key)

    def open_parameters(self, key: str) -> IndicatorDialog | None:
        indicator = indicators.INDICATORS.get(key)
        if indicator is None or not indicator.params:
            return None
        self.dialog = IndicatorDialog(indicator, self._params.get(key, {}), self._parent)
        dialog = self.dialog
        dialog.accepted.connect(
            lambda: self._context.perform(
                f"chart/indicator/{key}/parameters",
                lambda: self.set_parameters(key, dialog.params()),
                metadata={"params": dialog.params()},
            )
        )
        dialog.open()
        return dialog

    # -- drawing ------------------------------------------------------------------------------------------
    def _show(self, key: str) -> None:
        data = self._data
        if data is None or data.bars.empty:
            return
        if key.startswith("feature:"):
            column = key.split(":", 1)[1]
            values = data.feature_overlays.get(column)
            if values is not None:
                self._view.set_overlay(key, values, legend=column)
            return
        ind = indicators.INDICATORS.get(key)
        lines = self._computed.get(key)
        if ind is None or lines is None:
            return
        title = self.title(key)
        if ind.overlay:
            for name, values in lines.items():
                self._view.set_overlay(f"{key}:{name}", values, overlay_color(key), legend=title, link=key)
        else:
            self._view.set_subplot(key, SubplotSpec(lines, ind.y_range, ind.levels, title=title, link=key))

    def _hide(self, key: str) -> None:
        if key.startswith("feature:"):
            self._view.remove_overlay(key)
            return
        ind = indicators.INDICATORS.get(key)
        if ind is None:
            return
        if ind.overlay:
            for name in [n for n in self._view.overlay_names() if n.startswith(f"{key}:")]:
                self._view.remove_overlay(name)
        else:
            self._view.remove_subplot(key)

    # -- the menu -----------------------------------------------------------------------------------------
    def rebuild_menu(self, feature_columns: list[str]) -> None:
        menu = self._picker.menu() or QMenu(self._picker)
        self._picker.setMenu(menu)
        menu.clear()
        menu.addSection("Overlays")
        for key, ind in indicators.INDICATORS.items():
            if ind.overlay:
                self._toggle(menu, key, self.title(key))
        if feature_columns:
            menu.addSection("Stored features")
            for column in feature_columns:
                self._toggle(menu, f"feature:{column}", column)
        menu.addSection("Panes")
        for key, ind in indicators.INDICATORS.items():
            if not ind.overlay:
                self._toggle(menu, key, self.title(key))
        parameters = menu.addMenu("Parameters")
        for key, ind in indicators.INDICATORS.items():
            if ind.params:
                action = parameters.addAction(f"{self.title(key)}…")
                action.triggered.connect(lambda _checked=False, k=key: self.open_parameters(k))

    def _toggle(self, menu: QMenu, key: str, label: str) -> None:
        action = menu.addAction(label)
        action.setCheckable(True)
        action.setChecked(key in self._enabled)
        action.setData(key)
        action.toggled.connect(
            lambda on, k=key: self._context.perform(
                f"chart/indicator/{k}", lambda: self.set_indicator(k, on), metadata={"enabled": on}
            )
        )


def _load_params(raw: object) -> dict[str, dict[str, float]]:
    try:
        loaded = json.loads(str(raw)) if raw else {}
    except json.JSONDecodeError:
        return {}
    if not isinstance(loaded, dict):
        return {}
    params: dict[str, dict[str, float]] = {}
    for key, values in loaded.items():
        if key in indicators.INDICATORS and isinstance(values, dict):
            params[key] = indicators.INDICATORS[key].resolve(values)
    return params
