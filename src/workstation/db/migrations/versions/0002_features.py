"""feature catalog 3.0: one column per feature, versioned unique key, summary over the latest version

Revision ID: 0002_features
Revises: 0001
Create Date: 2026-11-25

Adds the catalog's columns to feature_engineered_data (double precision, NULL during warm-up), makes
feature_version part of the unique key so catalog versions can coexist (the new key also serves the
reader's and the incremental builder's (symbol, interval, timestamp) range scans), and redefines the
dashboard summary over each symbol's latest feature version (sql/<dialect>/0002_features.*.sql).

The column list is frozen here on purpose: a later catalog is a new version with its own migration.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from workstation.db.sqlfiles import apply_sql

revision: str = "0002_features"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLE = "feature_engineered_data"
OLD_UNIQUE = "uq_feature_engineered_data_symbol_interval_timestamp_source"
NEW_UNIQUE = "uq_feature_engineered_data_bar_version"

# Catalog 3.0 minus the spec's six named columns, which migration 0001 created.
FEATURE_COLUMNS = [
    "sma_5",
    "sma_20",
    "sma_50",
    "sma_100",
    "sma_200",
    "ema_12",
    "ema_26",
    "ema_50",
    "wma_20",
    "dema_20",
    "tema_20",
    "trima_20",
    "t3_5",
    "bb_middle",
    "bb_lower",
    "midpoint_14",
    "midprice_14",
    "ht_trendline",
    "rsi_7",
    "rsi_21",
    "macd_signal",
    "macd_hist",
    "ppo_12_26",
    "apo_12_26",
    "mom_10",
    "roc_10",
    "cmo_14",
    "adx_14",
    "adxr_14",
    "dx_14",
    "plus_di_14",
    "minus_di_14",
    "plus_dm_14",
    "minus_dm_14",
    "aroon_down_14",
    "aroon_up_14",
    "aroonosc_14",
    "bop",
    "cci_14",
    "cci_20",
    "mfi_14",
    "stoch_k",
    "stoch_d",
    "stochf_k",
    "stochf_d",
    "stochrsi_k",
    "stochrsi_d",
    "trix_15",
    "ultosc",
    "willr_14",
    "adosc_3_10",
    "obv_change_20",
    "ad_change_20",
    "volume_ratio_20",
    "volume_zscore_20",
    "log_volume",
    "vwap_ratio_20",
    "natr_14",
    "trange",
    "stddev_20",
    "realised_vol_10",
    "realised_vol_20",
    "realised_vol_60",
    "parkinson_vol_20",
    "garman_klass_vol_20",
    "bb_width",
    "bb_percent_b",
    "ht_dcperiod",
    "ht_phasor_inphase",
    "ht_phasor_quadrature",
    "avgprice",
    "medprice",
    "typprice",
    "wclprice",
    "linearreg_14",
    "linearreg_slope_14",
    "linearreg_angle_14",
    "linearreg_intercept_14",
    "tsf_14",
    "correl_close_volume_20",
    "cdl_doji",
    "cdl_dojistar",
    "cdl_dragonflydoji",
    "cdl_gravestonedoji",
    "cdl_hammer",
    "cdl_invertedhammer",
    "cdl_hangingman",
    "cdl_shootingstar",
    "cdl_engulfing",
    "cdl_harami",
    "cdl_haramicross",
    "cdl_piercing",
    "cdl_darkcloudcover",
    "cdl_morningstar",
    "cdl_eveningstar",
    "cdl_3whitesoldiers",
    "cdl_3blackcrows",
    "cdl_marubozu",
    "cdl_spinningtop",
    "cdl_highwave",
    "cdl_longline",
    "cdl_shortline",
    "cdl_belthold",
    "cdl_kicking",
    "cdl_hikkake",
    "returns_5",
    "returns_10",
    "returns_20",
    "returns_60",
    "log_return_1",
    "log_return_5",
    "log_return_20",
    "log_return_60",
    "close_sma_20_ratio",
    "close_sma_50_ratio",
    "close_sma_200_ratio",
    "close_ema_12_ratio",
    "close_ema_26_ratio",
    "sma_50_200_ratio",
    "zscore_close_20",
    "zscore_close_50",
    "zscore_returns_20",
    "gap_return",
    "intraday_return",
    "high_low_range",
    "close_location",
    "close_to_max_252",
    "close_to_min_252",
    "rsi_1d_lag_1",
    "rsi_1d_lag_2",
    "rsi_1d_lag_5",
    "macd_lag_1",
    "macd_hist_lag_1",
    "returns_lag_1",
    "returns_lag_2",
    "returns_lag_3",
    "returns_lag_5",
    "atr_lag_1",
    "volume_ratio_20_lag_1",
    "zscore_close_20_lag_1",
]


def upgrade() -> None:
    apply_sql(op.get_bind(), "0002_features_drop_summary")
    with op.batch_alter_table(TABLE) as batch:
        for name in FEATURE_COLUMNS:
            batch.add_column(sa.Column(name, sa.Double(), nullable=True))
        batch.drop_constraint(OLD_UNIQUE, type_="unique")
        batch.create_unique_constraint(NEW_UNIQUE, ["symbol", "interval", "timestamp", "source", "feature_version"])
    apply_sql(op.get_bind(), "0002_features.up")


def downgrade() -> None:
    apply_sql(op.get_bind(), "0002_features_drop_summary")
    # The old key has no version: keep the newest row of each bar, drop the other versions.
    op.execute(
        sa.text(
            f"DELETE FROM {TABLE} WHERE EXISTS (SELECT 1 FROM {TABLE} f2 WHERE f2.symbol = {TABLE}.symbol"
            f" AND f2.interval = {TABLE}.interval AND f2.timestamp = {TABLE}.timestamp"
            f" AND f2.source = {TABLE}.source AND f2.id > {TABLE}.id)"
        )
    )
    with op.batch_alter_table(TABLE) as batch:
        batch.drop_constraint(NEW_UNIQUE, type_="unique")
        batch.create_unique_constraint(OLD_UNIQUE, ["symbol", "interval", "timestamp", "source"])
        for name in reversed(FEATURE_COLUMNS):
            batch.drop_column(name)
    apply_sql(op.get_bind(), "0002_features.down")
