"""The database URL as workers receive it: the full URL inside, the password hidden from every repr.

Dask shows task arguments in the dashboard and in worker logs (a failed task's repr), and derives
default task keys from them. Tasks here get explicit keys that name no argument, and the URL they carry
is a :class:`DatabaseUrl`, whose ``repr`` and ``str`` are the masked URL; only :meth:`reveal`, called in
the worker just before it opens its engine, returns the password.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.engine import URL, make_url


class DatabaseUrl:
    __slots__ = ("_url",)

    def __init__(self, url: URL | str) -> None:
        parsed = make_url(url) if isinstance(url, str) else url
        self._url = parsed.render_as_string(hide_password=False)

    def reveal(self) -> str:
        """The URL with its password, for create_engine (never for a message)."""
        return self._url

    @property
    def masked(self) -> str:
        return make_url(self._url).render_as_string(hide_password=True)

    def __repr__(self) -> str:
        return f"DatabaseUrl({self.masked})"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, DatabaseUrl) and other._url == self._url

    def __hash__(self) -> int:
        return hash(self._url)

    # __slots__ without __dict__: spell out pickling (the URL must reach the worker whole).
    def __getstate__(self) -> dict[str, Any]:
        return {"url": self._url}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self._url = state["url"]
