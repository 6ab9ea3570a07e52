"""What every live feed shares, in this process or in a child: its listeners and its symbol set.

``LiveFeed`` (the connection's owner or a consumer) and ``RemoteFeed`` (a LiveFeed in a child process)
both register callbacks before ``start()`` and change their symbols at run time; a subclass says how a
change reaches the connection (``_symbols_changed``), only ever with the symbols that actually changed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from workstation.market.notify import BarEvent
from workstation.market.stream.events import FeedStatus, MarketEvent


class FeedListeners:
    def __init__(self, symbols: Iterable[str]) -> None:
        self._symbols = {s.upper() for s in symbols}
        self._listeners: list[Callable[[MarketEvent], None]] = []
        self._bar_listeners: list[Callable[[BarEvent], None]] = []
        self._status_listeners: list[Callable[[FeedStatus], None]] = []

    def add_listener(self, callback: Callable[[MarketEvent], None]) -> None:
        """Every StreamTrade, StreamQuote and StreamBar as it arrives (a consumer: each stored bar)."""
        self._listeners.append(callback)

    def add_bar_listener(self, callback: Callable[[BarEvent], None]) -> None:
        """Every bar the owner stored (back-fills and revisions included)."""
        self._bar_listeners.append(callback)

    def add_status_listener(self, callback: Callable[[FeedStatus], None]) -> None:
        self._status_listeners.append(callback)

    def subscribe(self, symbols: Iterable[str]) -> None:
        """Add symbols at run time (same connection, no reconnect)."""
        added = {s.upper() for s in symbols} - self._symbols
        if added:
            self._symbols |= added
            self._symbols_changed(added, add=True)

    def unsubscribe(self, symbols: Iterable[str]) -> None:
        removed = {s.upper() for s in symbols} & self._symbols
        if removed:
            self._symbols -= removed
            self._symbols_changed(removed, add=False)

    @property
    def symbols(self) -> tuple[str, ...]:
        return tuple(sorted(self._symbols))

    def _symbols_changed(self, symbols: set[str], *, add: bool) -> None:
        raise NotImplementedError
