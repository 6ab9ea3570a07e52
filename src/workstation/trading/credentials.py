"""Where and as whom the Alpaca broker connects.

The keys come from ``workstation.credentials`` (environment, then the OS keyring, then the private
fallback file the settings dialog can write), so keys saved in the GUI are the keys trading uses.
APCA_API_BASE_URL overrides the REST endpoint (the stream URL is derived from it, or set
APCA_API_STREAM_URL). Paper trading unless ``live`` is asked for explicitly.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from urllib.parse import urlparse

from workstation.errors import ConfigurationError

KEY_ENV = "APCA_API_KEY_ID"
SECRET_ENV = "APCA_API_SECRET_KEY"
BASE_URL_ENV = "APCA_API_BASE_URL"
STREAM_URL_ENV = "APCA_API_STREAM_URL"


@dataclass(frozen=True)
class AlpacaCredentials:
    key_id: str
    secret_key: str
    paper: bool = True
    base_url: str | None = None
    stream_url: str | None = None

    def __repr__(self) -> str:  # never print the secret
        return f"AlpacaCredentials(key_id={self.key_id[:4]}…, paper={self.paper}, base_url={self.base_url!r})"


def check_url(value: str, name: str, schemes: tuple[str, ...]) -> str:
    """``value`` if it is a usable URL (scheme, host, a numeric port if any); else ConfigurationError."""
    parsed = urlparse(value.strip())
    try:
        parsed.port  # noqa: B018  # raises ValueError on a port that is not a number in 0..65535
    except ValueError:
        raise ConfigurationError(f"{name} has an invalid port: {value!r}") from None
    if parsed.scheme not in schemes or not parsed.hostname:
        raise ConfigurationError(f"{name} must be an {' or '.join(schemes)} URL with a host, got {value!r}")
    if any(ch.isspace() for ch in value.strip()):
        raise ConfigurationError(f"{name} must not contain spaces, got {value!r}")
    return value.strip()


def derive_stream_url(base_url: str) -> str:
    parsed = urlparse(base_url)
    scheme = "wss" if parsed.scheme == "https" else "ws"
    return f"{scheme}://{parsed.netloc}/stream"


def load_credentials(*, live: bool = False) -> AlpacaCredentials:
    from workstation.credentials import keyring_status, load_alpaca_credentials

    found = load_alpaca_credentials()
    if found is None:
        status = keyring_status()
        hint = "" if status.available else " (no OS keyring on this system: use the environment variables)"
        raise ConfigurationError(
            f"no Alpaca credentials: set {KEY_ENV} and {SECRET_ENV} or save them in Settings{hint}"
        )
    stored, location = found
    if location != "environment" and stored.paper == live:
        wanted, have = ("live", "paper") if live else ("paper", "live")
        raise ConfigurationError(f"the Alpaca keys saved in the {location} are {have}-trading keys, not {wanted}")
    key, secret = stored.key_id, stored.secret_key
    base_url = os.environ.get(BASE_URL_ENV) or None
    if base_url is not None:
        base_url = check_url(base_url, BASE_URL_ENV, ("http", "https")).rstrip("/").removesuffix("/v2")
    stream_url = os.environ.get(STREAM_URL_ENV) or None
    if stream_url is not None:
        stream_url = check_url(stream_url, STREAM_URL_ENV, ("ws", "wss"))
    elif base_url:
        stream_url = derive_stream_url(base_url)
    return AlpacaCredentials(key, secret, paper=not live, base_url=base_url, stream_url=stream_url)
