"""Open the workstation window on a demo database and save a PNG of it (run by packaging/screenshot.sh).

    python3 tests/gui/screenshot.py OUT.png [--database-url URL]

Data: ``workstation demo load`` when this installation has it; otherwise the real daily price files in
../shared/data (ORCL, NVDA), read in place, if present. Nothing is invented for the picture.
"""

from __future__ import annotations

import argparse
import csv
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "src"))

from sqlalchemy import Engine, insert
from sqlalchemy.engine import make_url

from workstation.dashboard import commands
from workstation.db.engine import create_db_engine
from workstation.db.migrate import upgrade
from workstation.db.models import MarketData, StockInfo

SHARED = Path(__file__).resolve().parents[3] / "shared" / "data"
_REAL_FILES = {
    "ORCL": ("orcl-1995-2014.txt", "Oracle Corporation"),
    "NVDA": ("nvda-1999-2014.txt", "NVIDIA Corporation"),
}


def load_shared_files(engine: Engine) -> list[str]:
    loaded = []
    for symbol, (name, company) in _REAL_FILES.items():
        path = SHARED / name
        if not path.exists():
            continue
        rows = []
        with path.open() as handle:
            for record in csv.DictReader(handle):
                rows.append(
                    {
                        "symbol": symbol,
                        "interval": "1d",
                        "timestamp": datetime.fromisoformat(record["Date"]).replace(hour=21, tzinfo=UTC),
                        "open": Decimal(record["Open"]),
                        "high": Decimal(record["High"]),
                        "low": Decimal(record["Low"]),
                        "close": Decimal(record["Close"]),
                        "volume": int(float(record["Volume"])),
                        "source": "yahoo-file",
                    }
                )
        with engine.begin() as conn:
            conn.execute(
                insert(StockInfo).values(symbol=symbol, company_name=company, sector="Technology", exchange="NASDAQ")
            )
            conn.execute(insert(MarketData), rows)
        loaded.append(symbol)
    return loaded


def prepare_database(url: str) -> str:
    engine = create_db_engine(url)
    upgrade(engine)
    try:
        if commands.command_available(commands.DEMO_LOAD):
            subprocess.run(
                [sys.executable, "-m", "workstation", "--database-url", url, *commands.DEMO_LOAD], check=True
            )
            return "workstation demo load"
        loaded = load_shared_files(engine)
        if not loaded:
            raise SystemExit(
                "no demo data: this installation has no `workstation demo load` and ../shared/data is absent"
            )
        return f"shared price files ({', '.join(loaded)})"
    finally:
        engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("output", type=Path)
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--theme", default="dark", choices=("dark", "light"))
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="workstation-shot-"))
    import os

    os.environ["WORKSTATION_DATA_DIR"] = str(workdir)  # a fresh layout and settings, not the user's
    url = args.database_url or f"sqlite:///{workdir / 'demo.db'}"
    source = prepare_database(url) if args.database_url is None else "the given database"

    from workstation.gui.app import build_window, ensure_application

    app = ensure_application()
    window, _reporter = build_window(make_url(url))
    window.set_theme(args.theme)
    window.resize(1600, 900)
    window.show()
    chart = window.docks["chartPanel"].widget()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and (chart.view.bar_count() == 0 or window.context.jobs.running_jobs()):
        app.processEvents()
        time.sleep(0.02)
    chart.set_indicator("bbands", True)
    chart.set_indicator("macd", True)
    chart.view.show_last(250)
    chart._show_readout(chart.view.bar_count() - 1)
    for _ in range(20):
        app.processEvents()
        time.sleep(0.02)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    if not window.grab().save(str(args.output)):
        raise SystemExit(f"could not write {args.output}")
    print(f"saved {args.output} ({source})")
    window.close()
    window.context.close()
    window.deleteLater()
    app.processEvents()


if __name__ == "__main__":
    main()
