"""The workstation's main window: dock panels from the registry, menus, shortcuts, status bar, layout memory."""

from __future__ import annotations

import logging
from pathlib import Path

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QAction, QCloseEvent, QShowEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QApplication,
    QDockWidget,
    QFileDialog,
    QMainWindow,
    QMenu,
    QMessageBox,
    QWidget,
)

from workstation import __version__
from workstation.dashboard.watchlist import DatabaseState, prepare_database
from workstation.gui.broker_status import BrokerStatusWidget
from workstation.gui.chart.view import ChartView
from workstation.gui.context import WorkstationContext
from workstation.gui.dialogs.command_palette import CommandPalette
from workstation.gui.dialogs.report_dialog import ReportDialog
from workstation.gui.dialogs.settings_dialog import THEME_KEY, SettingsDialog
from workstation.gui.dialogs.shortcuts_dialog import ShortcutsDialog
from workstation.gui.display_time import fill_zone_menu
from workstation.gui.dock_layout import DockLayout
from workstation.gui.export import export_model_csv, focused_table
from workstation.gui.feed_status import FeedStatusWidget
from workstation.gui.halt_status import HaltStatusWidget
from workstation.gui.named_layouts import NamedLayouts
from workstation.gui.notifications import NotificationArea
from workstation.gui.onboarding import OnboardingBar
from workstation.gui.panels.models import ModelPanel
from workstation.gui.quit_guards import QuitConfirmDialog
from workstation.gui.registry import PanelRegistry, default_registry
from workstation.gui.statusbar import STATUS_ROW_HEIGHT, DatabaseStatus, JobsWidget
from workstation.gui.theme import DEFAULT_THEME, apply_theme
from workstation.gui.window_layout import WindowLayout
from workstation.gui.workers import JobHandle
from workstation.jobs import CancelToken, ProgressCallback

logger = logging.getLogger(__name__)
_FEATURES = (
    QDockWidget.DockWidgetFeature.DockWidgetMovable
    | QDockWidget.DockWidgetFeature.DockWidgetFloatable
    | QDockWidget.DockWidgetFeature.DockWidgetClosable
)


class MainWindow(QMainWindow):
    def __init__(self, context: WorkstationContext, registry: PanelRegistry | None = None) -> None:
        super().__init__()
        self.setObjectName("mainWindow")
        self.setWindowTitle("Workstation")
        self.setDockNestingEnabled(True)
        self.setDockOptions(
            QMainWindow.DockOption.AnimatedDocks
            | QMainWindow.DockOption.AllowNestedDocks
            | QMainWindow.DockOption.AllowTabbedDocks
        )
        self.context = context
        self.settings = context.settings
        self.shortcuts = context.shortcuts
        self.docks: dict[str, QDockWidget] = {}
        self._sized = False
        self._quit_confirmed = False
        self.quit_dialog: QuitConfirmDialog | None = None
        self.notifications = NotificationArea(self)
        self._last_table: QAbstractItemView | None = None
        self.onboarding = OnboardingBar(context, self)
        self.addToolBar(Qt.ToolBarArea.TopToolBarArea, self.onboarding)
        self.onboarding.hide()
        self._build_menus()
        self.resize(1500, 900)  # until the saved geometry is restored; dock sizes are shares of whatever size
        self._build_docks(registry or default_registry())
        self.window_layout = WindowLayout(self, self.docks, self.dock_layout, self.settings)
        self.layouts = NamedLayouts(self.settings, self.window_layout, self)
        self._build_status_bar()
        # Everything else with a QAction (dock toggles, toolbar buttons) is recorded as a user action too.
        context.actions.watch(self)
        self.window_layout.remember_default()
        self.window_layout.restore()
        context.notify.connect(self.notifications.show_message)
        context.jobs.jobFailed.connect(self._job_failed)
        context.engineChanged.connect(self._database_changed)
        context.statusWidgetAdded.connect(self._add_status_widget)
        self.onboarding.dataLoaded.connect(self.check_database)
        QApplication.instance().focusChanged.connect(self._track_table)  # type: ignore[union-attr]
        self.check_database()

    # -- construction --------------------------------------------------------------------------------
    def _action(self, action_id: str, text: str, keys: str | tuple[str, ...], category: str, slot: object) -> QAction:
        action = QAction(text, self)
        action.setShortcutContext(Qt.ShortcutContext.ApplicationShortcut)
        self.context.actions.connect(action, slot)  # type: ignore[arg-type]
        self.addAction(action)
        return self.shortcuts.register(action_id, action, keys, category)

    def _build_menus(self) -> None:
        bar = self.menuBar()
        file_menu = bar.addMenu("&File")
        file_menu.addAction(self._action("app.palette", "Command palette…", "Ctrl+K", "General", self.open_palette))
        file_menu.addAction(self._action("app.refresh", "Refresh", "F5", "General", self.refresh))
        file_menu.addAction(
            self._action("app.export", "Export focused table to CSV…", "Ctrl+E", "General", self.export_focused_table)
        )
        file_menu.addAction(self._action("app.report", "Export report…", (), "General", self.open_report_dialog))
        file_menu.addSeparator()
        file_menu.addAction(self._action("data.demo", "Load demo universe", (), "Data", self.onboarding.load_demo))
        file_menu.addAction(self._action("data.csv", "Import CSV…", (), "Data", self.onboarding.import_csv))
        file_menu.addAction(self._action("data.download", "Download bars…", (), "Data", self.onboarding.download))
        file_menu.addSeparator()
        file_menu.addAction(self._action("app.settings", "Settings…", "Ctrl+,", "General", self.open_settings))
        file_menu.addAction(self._action("app.quit", "Quit", "Ctrl+Q", "General", self.close))
        self.view_menu = bar.addMenu("&View")
        self.panels_menu = QMenu("Panels", self)
        self.view_menu.addMenu(self.panels_menu)
        self.focus_menu = QMenu("Focus panel", self)
        self.view_menu.addMenu(self.focus_menu)
        self.view_menu.addSeparator()
        self.view_menu.addAction(self._action("view.reset", "Reset layout", (), "View", self.reset_layout))
        self.layouts_menu = QMenu("Layouts", self)
        self.layouts_menu.aboutToShow.connect(lambda: self.layouts.fill_menu(self.layouts_menu, self))
        self.view_menu.addMenu(self.layouts_menu)
        self.view_menu.addAction(
            self._action("view.save_layout", "Save layout as…", (), "View", lambda: self.layouts.ask_and_save(self))
        )
        self.view_menu.addAction(self._action("view.theme", "Toggle dark/light theme", (), "View", self.toggle_theme))
        self.zone_menu = QMenu("Time zone", self)
        self.zone_menu.aboutToShow.connect(lambda: fill_zone_menu(self.zone_menu, self.context.display_time))
        self.view_menu.addMenu(self.zone_menu)
        help_menu = bar.addMenu("&Help")
        help_menu.addAction(self._action("help.shortcuts", "Keyboard shortcuts…", "F1", "Help", self.open_shortcuts))
        help_menu.addAction(self._action("help.about", "About workstation", (), "Help", self._about))

    def _build_docks(self, registry: PanelRegistry) -> None:
        specs = registry.specs()
        for spec in specs:  # in menu order
            dock = QDockWidget(spec.title, self)
            dock.setObjectName(spec.object_name)
            dock.setFeatures(_FEATURES)
            dock.setWidget(spec.factory(self.context))
            self.docks[spec.object_name] = dock
            self.panels_menu.addAction(dock.toggleViewAction())
            if spec.slot is not None:
                self.focus_menu.addAction(
                    self._action(
                        f"view.focus.{spec.object_name}",
                        f"Focus {spec.title}",
                        f"Ctrl+{spec.slot}",
                        "View",
                        lambda _checked=False, name=spec.object_name: self.focus_panel(name),
                    )
                )
        # Placed in areas first, then beside a placed dock, then as tabs (Qt cannot split beside a tab).
        for spec in specs:
            if not (spec.beside in self.docks or spec.tab_with in self.docks):
                self.addDockWidget(spec.area, self.docks[spec.object_name])
        for spec in specs:
            if spec.beside in self.docks and spec.tab_with not in self.docks:
                self.splitDockWidget(self.docks[spec.beside], self.docks[spec.object_name], Qt.Orientation.Horizontal)
        for spec in specs:
            if spec.tab_with in self.docks:
                self.tabifyDockWidget(self.docks[spec.tab_with], self.docks[spec.object_name])
        # Qt raises the last tab added; a group shows its first-added tab instead (the blotter, not the
        # newest research panel), until the user picks another or a saved layout says otherwise.
        raised: set[str] = set()
        for spec in sorted(specs, key=lambda s: s.order):
            if spec.tab_with in self.docks and spec.tab_with not in raised:
                raised.add(spec.tab_with)
                self.docks[spec.object_name].raise_()
        defaults = {spec.object_name: spec.size for spec in specs if spec.size is not None}
        self.dock_layout = DockLayout(self, self.docks, defaults)

    def apply_default_sizes(self) -> None:
        """The default shares: the chart at the centre with over half the window (see panels/__init__.py)."""
        self.dock_layout.reset()

    def _build_status_bar(self) -> None:
        status = self.statusBar()
        self.jobs_widget = JobsWidget(self.context.jobs, self)
        self.database_status = DatabaseStatus(self.context, self)
        self.database_label = self.database_status.label
        self.feed_status = FeedStatusWidget(self.context.live, self)
        status.addPermanentWidget(self.jobs_widget)
        status.addPermanentWidget(self.feed_status)
        status.addPermanentWidget(self.database_status)
        # Fixed, so that messages and job rows coming and going never resize the docks (see statusbar.py).
        status.setFixedHeight(STATUS_ROW_HEIGHT + 6)
        for widget in self.context.status_widgets:
            self._add_status_widget(widget)
        self.broker_status = BrokerStatusWidget(self.context.trading, self)
        self._add_status_widget(self.broker_status)
        trading = self.context.trading
        self.halt_status = HaltStatusWidget(
            trading, lambda: self.context.perform("status/resume", trading.resume), self
        )
        self._add_status_widget(self.halt_status)

    def _add_status_widget(self, widget: QWidget) -> None:
        """The hook for sections owned by panels (broker, equity, buying power, day P&L): right of the jobs."""
        self.statusBar().insertPermanentWidget(1, widget)

    # -- layout memory -------------------------------------------------------------------------------
    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        if not self._sized:
            # Dock sizes only stick once the window is laid out; from then on they follow its size.
            self._sized = True
            QTimer.singleShot(0, self._start_layout)

    def _start_layout(self) -> None:
        self.window_layout.start()

    def save_layout(self) -> None:
        self.window_layout.save()

    def reset_layout(self) -> None:
        self.window_layout.reset()

    # -- commands ------------------------------------------------------------------------------------
    def focus_panel(self, object_name: str) -> None:
        dock = self.docks.get(object_name)
        if dock is None:
            return
        dock.show()
        dock.raise_()
        dock.widget().setFocus(Qt.FocusReason.ShortcutFocusReason)

    def refresh(self) -> None:
        self.context.refreshRequested.emit()

    def _track_table(self, _old: object, _new: object) -> None:
        table = focused_table()
        if table is not None:
            self._last_table = table

    def export_focused_table(self, path: str | Path | None = None) -> int | None:
        table = focused_table(self._last_table)
        if table is None or table.model() is None:
            self.notifications.show_message("warning", "Click into a table first, then export it with Ctrl+E.")
            return None
        if not path:
            suggested = f"{table.objectName() or 'table'}.csv"
            path, _ = QFileDialog.getSaveFileName(self, "Export table to CSV", suggested, "CSV files (*.csv)")
            if not path:
                return None
        try:
            rows = export_model_csv(table.model(), path)
        except OSError as exc:
            self.notifications.show_message("error", f"Export failed: {exc}")
            return None
        self.notifications.show_message("info", f"Exported {rows} rows to {path}")
        return rows

    def open_report_dialog(self) -> ReportDialog:
        """File → Export report…; the model report defaults to the model selected in the model panel."""
        dock = self.docks.get("modelPanel")
        panel = dock.widget() if dock is not None else None
        model_id = panel.selected_model_id() if isinstance(panel, ModelPanel) else None
        dialog = ReportDialog(self.context, model_id=model_id, parent=self)
        dialog.open()
        return dialog

    def open_palette(self) -> CommandPalette:
        palette = CommandPalette(
            self.shortcuts, self.context.symbols, self.context.set_symbol, self, names=self.context.symbol_names
        )
        geometry = self.geometry()
        palette.move(geometry.center().x() - palette.width() // 2, geometry.top() + 80)
        palette.show()
        palette.query.setFocus()
        return palette

    def open_shortcuts(self) -> ShortcutsDialog:
        dialog = ShortcutsDialog(self.shortcuts, self)
        dialog.open()
        return dialog

    def open_settings(self) -> SettingsDialog:
        dialog = SettingsDialog(self.context, self.theme(), self)
        dialog.accepted.connect(lambda: self.set_theme(dialog.chosen_theme()))
        dialog.open()
        return dialog

    def theme(self) -> str:
        return str(self.settings.value(THEME_KEY, DEFAULT_THEME))

    def set_theme(self, name: str) -> None:
        app = QApplication.instance()
        if isinstance(app, QApplication):
            apply_theme(app, name)
        self.settings.setValue(THEME_KEY, name)
        for view in self.findChildren(ChartView):
            view.apply_theme(name == "dark")

    def toggle_theme(self) -> None:
        self.set_theme("light" if self.theme() == "dark" else "dark")

    def _about(self) -> None:
        QMessageBox.about(
            self,
            "About workstation",
            f"<b>workstation {__version__}</b><br>A desktop trading workstation for systematic US-equity trading.",
        )

    # -- database ------------------------------------------------------------------------------------
    def check_database(self) -> None:
        """Off the GUI thread: create the schema of a brand-new database, then tell the panels to load.

        A database with no tables at all (the first start on the default SQLite file) gets the schema
        automatically; one with foreign tables or an older schema is left alone and reported.
        """
        engine = self.context.engine

        def job(progress: ProgressCallback, cancel: CancelToken) -> tuple[DatabaseState, str | None]:
            return prepare_database(engine)

        self.context.jobs.submit("Open database", job, on_success=self._database_ready)

    def _database_ready(self, result: tuple[DatabaseState, str | None]) -> None:
        state, warning = result
        if state.schema_present:
            # Log tables exist: from now on logs, timings, errors and user actions go to this database.
            self.context.start_monitoring()
        self.database_status.set_state(state)
        self.onboarding.set_database_empty(state.empty)
        if warning:
            self.notifications.show_message("warning", warning)
        if state.schema_present:
            self.context.databaseChanged.emit()
            self.context.live.start()  # after the panels asked for their data: the watchlist names the symbols

    def _database_changed(self) -> None:
        self.database_status.set_state(None)
        self.check_database()

    def _quit_anyway(self) -> None:
        self._quit_confirmed = True
        self.close()

    def _job_failed(self, handle: JobHandle, message: str) -> None:
        self.notifications.show_message("error", f"{handle.label} failed: {message}")

    def closeEvent(self, event: QCloseEvent) -> None:
        if not self._quit_confirmed:
            reasons = self.context.quit_guards.reasons()
            if reasons:
                # Asked without blocking (open(), not exec()): a confirmed quit closes the window again.
                event.ignore()
                self.quit_dialog = QuitConfirmDialog(reasons, self)
                self.quit_dialog.accepted.connect(self._quit_anyway)
                self.quit_dialog.open()
                return
        self.save_layout()
        self.context.live.stop()  # releases the data connection's lease for the next owner at once
        self.context.jobs.shutdown(3000)
        self.context.stop_monitoring()
        self.context.trading.close(3000)
        super().closeEvent(event)
