"""The models report shows the stored held-out metrics next to the baseline, per fold, the confusion
matrix, the reliability table and the feature importances — in every format."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import Engine

from ml.helpers import insert_features, read_yahoo
from workstation.db.engine import create_db_engine
from workstation.ml.registry import get_model
from workstation.ml.service import train_and_register
from workstation.ml.training import TrainingSpec
from workstation.reports.models import build_models_report


def _train(engine: Engine, shared_data: Path) -> str:
    insert_features(engine, "ORCL", read_yahoo(shared_data / "orcl-1995-2014.txt").iloc[-1500:])
    spec = TrainingSpec(
        model_type="random_forest", target="price_direction", symbols=("ORCL",), n_folds=3,
        hyperparameters={"n_estimators": 25},
    )  # fmt: skip
    return train_and_register(engine, spec).model.model_id


def test_models_report_tables_equal_the_stored_metrics(engine: Engine, shared_data: Path) -> None:
    model_id = _train(engine, shared_data)
    stored = get_model(engine, model_id).metrics
    document = build_models_report(engine, model_id)
    tables = {t.name: t for t in document.tables()}
    held_out = {r["metric"]: r for r in tables["held_out"].rows}
    assert held_out["Accuracy"]["model"] == stored["held_out"]["accuracy"]
    assert held_out["Accuracy"]["baseline"] == stored["baseline"]["accuracy"]
    assert held_out["Log loss"]["better"] == "lower"
    # The interval of (model − baseline) and the verdict, as stored.
    stored_interval = stored["intervals"]["log_loss"]
    assert (held_out["Log loss"]["difference"], held_out["Log loss"]["low"], held_out["Log loss"]["high"]) == (
        stored_interval["difference"],
        stored_interval["low"],
        stored_interval["high"],
    )
    from workstation.ml.uncertainty import VERDICT_WORDS

    paragraphs = " ".join(b.text for section in document.sections for b in section.blocks if hasattr(b, "text"))
    assert f"Verdict: {VERDICT_WORDS[stored['verdict']]}" in paragraphs
    # Importances keep three significant digits (they are far below 1e-4 on noise), never 0.0000.
    importance = tables["importance"]
    largest = max(abs(r["importance"]) for r in importance.rows)
    decimals = next(c.decimals for c in importance.columns if c.key == "importance")
    assert round(largest, decimals) != 0 and f"{largest:.{decimals}f}".strip("0.-") != ""
    assert len(tables["folds"].rows) == len(stored["folds"]) == 3
    assert tables["folds"].rows[0]["m_accuracy"] == stored["folds"][0]["metrics"]["accuracy"]
    confusion = tables["confusion"].rows
    assert sum(r["predicted_up"] + r["predicted_down"] for r in confusion) == int(stored["held_out"]["rows"])
    assert len(tables["reliability"].rows) == len(stored["reliability"])
    assert (
        tables["importance"].rows[0]["feature"]
        == max(stored["feature_importance"], key=lambda r: r["importance"])["feature"]
    )


@pytest.mark.slow
def test_models_report_cli_in_every_format(db_url: str, shared_data: Path, tmp_path: Path) -> None:
    engine = create_db_engine(db_url)
    model_id = _train(engine, shared_data)
    engine.dispose()
    for fmt in ("html", "pdf", "csv", "xlsx"):
        result = subprocess.run(
            [sys.executable, "-m", "workstation", "--database-url", db_url, "report", "--kind", "models",
             "--model-id", model_id, "--out", str(tmp_path / f"m.{fmt}")],
            capture_output=True, text=True, timeout=300,
        )  # fmt: skip
        assert result.returncode == 0, result.stderr
    html = (tmp_path / "m.html").read_text()
    for section in (
        "Held-out metrics against the baseline",
        "Per fold",
        "Confusion matrix",
        "Calibration",
        "Feature importances",
    ):
        assert section in html  # fmt: skip
    from openpyxl import load_workbook

    assert {"held_out", "folds", "confusion", "reliability", "importance"} <= set(
        load_workbook(tmp_path / "m.xlsx").sheetnames
    )
    from pypdf import PdfReader

    text = " ".join(" ".join(p.extract_text().split()) for p in PdfReader(tmp_path / "m.pdf").pages)
    assert model_id in text


def test_importances_keep_significant_digits_and_show_their_share() -> None:
    from workstation.reports.models import _importance, importance_decimals

    assert importance_decimals([0.00125, 0.00007, -0.00002]) == 5  # 0.00125: three significant digits
    assert importance_decimals([0.034]) == 4
    assert importance_decimals([2.5e-9]) == 11
    assert importance_decimals([0.0]) == 4
    table = _importance(
        {"feature_importance": [{"feature": "a", "importance": 0.0003, "std": 0.0001},
                                {"feature": "b", "importance": 0.0001, "std": 0.00005},
                                {"feature": "c", "importance": -0.00005, "std": 0.00002}]}
    )  # fmt: skip
    shares = {r["feature"]: r["share"] for r in table.rows}
    assert shares == {"a": pytest.approx(0.75), "b": pytest.approx(0.25), "c": 0.0}
    from workstation.reports.formatting import format_value

    column = next(c for c in table.columns if c.key == "importance")
    assert format_value(table.rows[0]["importance"], column.format, decimals=column.decimals) == "0.000300"
