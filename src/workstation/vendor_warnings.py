"""Warnings that third-party packages raise on import and that a user of the workstation can do nothing
about, silenced narrowly: one warning, by message and category, around the import that raises it.

Nothing else is filtered, so a new warning still shows (and still fails a test that asks for none).
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from contextlib import contextmanager

# alpaca-py (up to 0.44 at least) imports websockets.legacy from alpaca.data and alpaca.trading, and
# websockets 14+ deprecates that module with a DeprecationWarning at import: alpaca-py's to fix.
WEBSOCKETS_LEGACY = r"websockets\.legacy is deprecated"


@contextmanager
def importing_alpaca() -> Iterator[None]:
    """Wrap ``import alpaca.data…`` / ``import alpaca.trading…`` in this."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=WEBSOCKETS_LEGACY, category=DeprecationWarning)
        yield
