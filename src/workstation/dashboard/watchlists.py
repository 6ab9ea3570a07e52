"""Named watchlists: lists of symbols the user keeps (no Qt here), in ``watchlists.json``.

"All symbols" is not a list: it is every symbol in the database, always there. A named list keeps
its symbols in the user's order; a symbol that has no data yet stays in the list. The active list
is remembered, so the window opens on the list it was showing.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from workstation.dashboard.json_file import read_json, write_json
from workstation.paths import user_data_dir

WATCHLISTS_FILE = "watchlists.json"


class WatchlistError(ValueError):
    """A name that is empty, taken, or not a list."""


class WatchlistStore:
    def __init__(self, path: Path | None = None) -> None:
        self._path = path
        document = read_json(self.path)
        raw = document.get("lists", {})
        self._lists: dict[str, list[str]] = {
            str(name): _clean(symbols) for name, symbols in (raw.items() if isinstance(raw, dict) else [])
        }
        active = document.get("active")
        self._active: str | None = active if isinstance(active, str) and active in self._lists else None

    @property
    def path(self) -> Path:
        return self._path or user_data_dir() / WATCHLISTS_FILE

    def names(self) -> list[str]:
        return sorted(self._lists, key=str.lower)

    def symbols(self, name: str) -> list[str]:
        if name not in self._lists:
            raise WatchlistError(f"no watchlist named {name!r}")
        return list(self._lists[name])

    @property
    def active(self) -> str | None:
        """The named list shown, or None for all symbols."""
        return self._active

    def set_active(self, name: str | None) -> None:
        if name is not None and name not in self._lists:
            raise WatchlistError(f"no watchlist named {name!r}")
        self._active = name
        self._write()

    def create(self, name: str, symbols: Iterable[str] = ()) -> None:
        name = self._valid_new_name(name)
        self._lists[name] = _clean(symbols)
        self._write()

    def rename(self, old: str, new: str) -> None:
        if old not in self._lists:
            raise WatchlistError(f"no watchlist named {old!r}")
        new = self._valid_new_name(new) if new.strip() != old else old
        self._lists[new] = self._lists.pop(old)
        if self._active == old:
            self._active = new
        self._write()

    def delete(self, name: str) -> None:
        if self._lists.pop(name, None) is None:
            raise WatchlistError(f"no watchlist named {name!r}")
        if self._active == name:
            self._active = None
        self._write()

    def add(self, name: str, symbols: Iterable[str]) -> None:
        current = self.symbols(name)
        self._lists[name] = _clean([*current, *symbols])
        self._write()

    def remove(self, name: str, symbols: Iterable[str]) -> None:
        gone = {s.strip().upper() for s in symbols}
        self._lists[name] = [s for s in self.symbols(name) if s not in gone]
        self._write()

    def _valid_new_name(self, name: str) -> str:
        name = name.strip()
        if not name:
            raise WatchlistError("a watchlist needs a name")
        if name in self._lists:
            raise WatchlistError(f"a watchlist named {name!r} already exists")
        return name

    def _write(self) -> None:
        write_json(self.path, {"version": 1, "active": self._active, "lists": self._lists})


def _clean(symbols: Iterable[str]) -> list[str]:
    seen: dict[str, None] = {}
    for symbol in symbols:
        cleaned = str(symbol).strip().upper()
        if cleaned:
            seen.setdefault(cleaned, None)
    return list(seen)
