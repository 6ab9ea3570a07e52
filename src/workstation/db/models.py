"""Every table of the data model, importable from one place."""

from workstation.db.base import Base
from workstation.db.logs import ErrorLog, PerformanceLog, SystemLog, TradingEvent, UserActionLog
from workstation.db.market import FeatureEngineeredData, MarketData, StockInfo
from workstation.db.trading import Fill, Model, Order, Prediction

# The spec's twelve tables, in the order the data flows.
SPEC_TABLES = (
    "stock_info",
    "market_data",
    "feature_engineered_data",
    "models",
    "predictions",
    "orders",
    "fills",
    "system_logs",
    "trading_events",
    "performance_logs",
    "error_logs",
    "user_action_logs",
)
SPEC_VIEWS = ("recent_system_activity", "mv_features_dashboard_summary")

__all__ = [
    "SPEC_TABLES",
    "SPEC_VIEWS",
    "Base",
    "ErrorLog",
    "FeatureEngineeredData",
    "Fill",
    "MarketData",
    "Model",
    "Order",
    "PerformanceLog",
    "Prediction",
    "StockInfo",
    "SystemLog",
    "TradingEvent",
    "UserActionLog",
]
