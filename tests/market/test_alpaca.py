from __future__ import annotations

import json
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pandas as pd
import pytest
from sqlalchemy import Engine

from workstation.market.bars import load_bars
from workstation.market.ingest import ingest_alpaca

START = pd.Timestamp("2022-01-01", tz="UTC")


class AlpacaStandIn:
    """Answers GET /v2/stocks/bars from the recorded bodies in ../shared/alpaca-fixtures."""

    def __init__(self, fixtures: Path) -> None:
        self.fixtures = fixtures
        self.queries: list[dict[str, list[str]]] = []

    def answer(self, path: str, query: dict[str, list[str]]) -> tuple[int, bytes]:
        self.queries.append(query)
        if path != "/v2/stocks/bars":
            return 404, b'{"code": 40410000, "message": "endpoint not found"}'
        symbols = query.get("symbols", [""])[0].split(",")
        if "DENIED" in symbols:
            return 403, (self.fixtures / "error_403_order_failed.json").read_bytes()
        if "BADKEY" in symbols:
            return 401, (self.fixtures / "error_401_not_authorized.json").read_bytes()
        if symbols == ["EMPTY"]:
            return 200, (self.fixtures / "bars_stock_empty.json").read_bytes()
        if symbols == ["AAPL"]:
            first = json.loads((self.fixtures / "bars_stock_single_paged.json").read_text())
            if query.get("page_token") == [first["next_page_token"]]:
                # Page two: the AAPL bar of the multi-symbol answer, and no further token.
                multi = json.loads((self.fixtures / "bars_stock_multi.json").read_text())
                return 200, json.dumps({"bars": {"AAPL": multi["bars"]["AAPL"]}, "next_page_token": None}).encode()
            return 200, json.dumps(first).encode()
        return 200, (self.fixtures / "bars_stock_multi.json").read_bytes()


@pytest.fixture
def alpaca_server(alpaca_fixtures: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[AlpacaStandIn]:
    stand_in = AlpacaStandIn(alpaca_fixtures)

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            url = urlparse(self.path)
            status, body = stand_in.answer(url.path, parse_qs(url.query))
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    monkeypatch.setenv("APCA_API_KEY_ID", "test-key")
    monkeypatch.setenv("APCA_API_SECRET_KEY", "test-secret")
    monkeypatch.setenv("APCA_API_DATA_URL", f"http://127.0.0.1:{server.server_address[1]}")
    try:
        yield stand_in
    finally:
        server.shutdown()
        server.server_close()


def test_paged_bars_are_followed_and_stored(engine: Engine, alpaca_server: AlpacaStandIn) -> None:
    summary = ingest_alpaca(engine, ["AAPL"], start=START)
    assert summary.exit_code == 0
    assert summary.symbols["AAPL"].inserted == 3
    assert [q.get("page_token") for q in alpaca_server.queries] == [
        None,
        ["QUFQTHxEfDIwMjItMDItMDJUMDU6MDA6MDAuMDAwMDAwMDAwWg=="],
    ]
    assert alpaca_server.queries[0]["feed"] == ["iex"]
    assert alpaca_server.queries[0]["adjustment"] == ["split"]
    bars = load_bars(engine, "AAPL", "1d", source="alpaca")
    assert list(bars.index) == [
        pd.Timestamp(t, tz="UTC") for t in ("2022-02-01 05:00", "2022-02-02 05:00", "2022-03-09 05:00")
    ]
    assert list(bars["close"]) == [174.61, 175.84, 162.95]
    assert bars["volume"].iloc[0] == 85998033
    again = ingest_alpaca(engine, ["AAPL"], start=START)
    assert again.unchanged == 3
    assert again.inserted == again.updated == 0


def test_multi_symbol_answer(engine: Engine, alpaca_server: AlpacaStandIn) -> None:
    summary = ingest_alpaca(engine, ["AAPL", "TSLA"], start=START, feed="sip")
    assert {s: v.inserted for s, v in summary.symbols.items()} == {"AAPL": 1, "TSLA": 1}
    assert alpaca_server.queries[0]["feed"] == ["sip"]


def test_empty_answer_is_a_reported_failure(engine: Engine, alpaca_server: AlpacaStandIn) -> None:
    summary = ingest_alpaca(engine, ["EMPTY"], start=START)
    assert summary.failures == {"EMPTY": "Alpaca returned no 1Day bars (iex feed) for the range"}
    assert summary.exit_code == 1


@pytest.mark.parametrize(
    ("symbol", "start"),
    [("DENIED", "Alpaca refused the request (HTTP 403): the account's data subscription"),
     ("BADKEY", "Alpaca refused the API keys (HTTP 401)")],
)  # fmt: skip
def test_refused_access_is_a_configuration_error_not_a_failed_symbol(
    engine: Engine, alpaca_server: AlpacaStandIn, symbol: str, start: str
) -> None:
    from workstation.errors import ConfigurationError, ExitCode

    with pytest.raises(ConfigurationError) as caught:
        ingest_alpaca(engine, [symbol, "OTHER"], start=START)
    assert str(caught.value).startswith(start)
    assert caught.value.exit_code == ExitCode.USAGE
    assert load_bars(engine, "OTHER").empty


def test_missing_credentials_is_a_configuration_error(engine: Engine) -> None:
    from workstation.errors import ConfigurationError

    with pytest.raises(ConfigurationError, match="APCA_API_KEY_ID"):
        ingest_alpaca(engine, ["AAPL"], start=START)


def test_ingest_alpaca_exit_codes_through_the_installed_script(
    alpaca_server: AlpacaStandIn, workstation_cli: Callable[..., subprocess.CompletedProcess[str]], tmp_path: Path
) -> None:
    url = f"sqlite:///{tmp_path / 'alpaca.db'}"
    args = ["--database-url", url, "ingest", "alpaca", "--start", "2022-01-01", "--json"]
    stored = workstation_cli(*args, "--symbols", "AAPL,TSLA")
    assert stored.returncode == 0, stored.stderr
    assert json.loads(stored.stdout)["inserted"] == 2
    empty = workstation_cli(*args, "--symbols", "EMPTY")
    assert empty.returncode == 1
    assert json.loads(empty.stdout)["failures"] == {"EMPTY": "Alpaca returned no 1Day bars (iex feed) for the range"}
    refused = workstation_cli(*args, "--symbols", "BADKEY")
    assert refused.returncode == 2
    assert json.loads(refused.stdout) == {
        "error": "Alpaca refused the API keys (HTTP 401): check APCA_API_KEY_ID and APCA_API_SECRET_KEY: "
        "request is not authorized",
        "exit_code": 2,
    }
    assert refused.stderr.startswith("error: Alpaca refused the API keys")


def test_alpaca_imports_raise_no_deprecation_warning() -> None:
    probe = (
        "import warnings; warnings.simplefilter('error');"
        "import os; os.environ.update(APCA_API_KEY_ID='k', APCA_API_SECRET_KEY='s');"
        "from workstation.market.providers.alpaca import make_client; make_client()"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
