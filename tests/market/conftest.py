import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

# The local stand-ins (yahoo_stub, alpaca_ws_standin) are imported by name from this folder.
sys.path.insert(0, str(Path(__file__).parent))

from alpaca_ws_standin import StreamStandIn


@pytest.fixture
def stand_in(alpaca_fixtures: Path) -> Iterator[StreamStandIn]:
    """The local websocket stand-in of Alpaca's market-data stream (alpaca_ws_standin.py), one per test."""
    server = StreamStandIn(alpaca_fixtures).start()
    try:
        yield server
    finally:
        server.stop()
