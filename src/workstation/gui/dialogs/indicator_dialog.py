"""Edit one chart indicator's parameters (periods, deviations), with its defaults one click away."""

from __future__ import annotations

from collections.abc import Mapping

from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFormLayout,
    QLabel,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from workstation.dashboard.indicators import Indicator, Params


class IndicatorDialog(QDialog):
    def __init__(self, indicator: Indicator, params: Mapping[str, object], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("indicatorDialog")
        self.setWindowTitle(f"{indicator.name} parameters")
        self._indicator = indicator
        self.inputs: dict[str, QSpinBox | QDoubleSpinBox] = {}
        current = indicator.resolve(params)
        form = QFormLayout()
        for param in indicator.params:
            box: QSpinBox | QDoubleSpinBox
            if param.integer:
                box = QSpinBox()
                box.setRange(int(param.minimum), int(param.maximum))
                box.setValue(int(current[param.name]))
            else:
                box = QDoubleSpinBox()
                box.setDecimals(2)
                box.setSingleStep(0.1)
                box.setRange(param.minimum, param.maximum)
                box.setValue(current[param.name])
            box.setObjectName(f"indicatorParam_{param.name}")
            box.setToolTip(f"{param.label}: {param.minimum:g} to {param.maximum:g} (default {param.default:g})")
            form.addRow(param.label, box)
            self.inputs[param.name] = box
        self.preview = QLabel()
        self.preview.setObjectName("indicatorTitle")
        for box in self.inputs.values():
            box.valueChanged.connect(lambda _v: self._show_title())
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok
            | QDialogButtonBox.StandardButton.Cancel
            | QDialogButtonBox.StandardButton.RestoreDefaults
        )
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        buttons.button(QDialogButtonBox.StandardButton.RestoreDefaults).clicked.connect(self.restore_defaults)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.preview)
        layout.addWidget(buttons)
        self._show_title()

    def params(self) -> Params:
        return self._indicator.resolve({name: float(box.value()) for name, box in self.inputs.items()})

    def restore_defaults(self) -> None:
        for param in self._indicator.params:
            box = self.inputs[param.name]
            if isinstance(box, QSpinBox):
                box.setValue(int(param.default))
            else:
                box.setValue(param.default)

    def _show_title(self) -> None:
        self.preview.setText(f"Shown as {self._indicator.title(self.params())}")
