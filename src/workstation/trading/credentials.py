"""Alpaca credentials: APCA_API_KEY_ID / APCA_API_SECRET_KEY, else the OS keyring.

Headless Linux usually has no keyring backend; then the environment variables are the way, and
the error says so. APCA_API_BASE_URL overrides the REST endpoint (the stream URL is derived from
it, or set APCA_API_STREAM_URL). Paper trading unless ``live`` is asked for explicitly.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from urllib.parse import urlparse

from workstation.errors import ConfigurationError

log = logging.getLogger(__name__)

KEY_ENV = "APCA_API_KEY_ID"
SECRET_ENV = "APCA_API_SECRET_KEY"
BASE_URL_ENV = "APCA_API_BASE_URL"
STREAM_URL_ENV = "APCA_API_STREAM_URL"
KEYRING_SERVICE = "workstation-alpaca"


@dataclass(frozen=True)
class AlpacaCredentials:
    key_id: str
    secret_key: str
    paper: bool = True
    base_url: str | None = None
    stream_url: str | None = None

    def __repr__(self) -> str:  # never print the secret
        return f"AlpacaCredentials(key_id={self.key_id[:4]}…, paper={self.paper}, base_url={self.base_url!r})"


def _keyring_pair(account: str) -> tuple[str | None, str | None, str | None]:
    """(key, secret, problem) from the OS keyring; problem explains why the keyring could not be used."""
    try:
        import keyring
        from keyring.errors import KeyringError, NoKeyringError

        try:
            key = keyring.get_password(KEYRING_SERVICE, f"{account}:key_id")
            secret = keyring.get_password(KEYRING_SERVICE, f"{account}:secret_key")
        except NoKeyringError:
            return None, None, "no OS keyring backend is available on this system"
        except KeyringError as exc:
            return None, None, f"the OS keyring failed: {str(exc).splitlines()[0]}"
        return key, secret, None
    except Exception as exc:  # a broken keyring install must not stop environment-variable users
        return None, None, f"the OS keyring failed: {exc}"


def store_credentials(key_id: str, secret_key: str, *, live: bool = False) -> None:
    """Save keys in the OS keyring (the GUI's settings dialog uses this)."""
    import keyring
    from keyring.errors import KeyringError

    account = "live" if live else "paper"
    try:
        keyring.set_password(KEYRING_SERVICE, f"{account}:key_id", key_id)
        keyring.set_password(KEYRING_SERVICE, f"{account}:secret_key", secret_key)
    except KeyringError as exc:
        raise ConfigurationError(
            f"cannot store keys: no usable OS keyring ({exc}); set {KEY_ENV} and {SECRET_ENV} instead"
        ) from None


def derive_stream_url(base_url: str) -> str:
    parsed = urlparse(base_url)
    scheme = "wss" if parsed.scheme == "https" else "ws"
    return f"{scheme}://{parsed.netloc}/stream"


def load_credentials(*, live: bool = False) -> AlpacaCredentials:
    key, secret = os.environ.get(KEY_ENV), os.environ.get(SECRET_ENV)
    problem = None
    if not (key and secret):
        key, secret, problem = _keyring_pair("live" if live else "paper")
    if not (key and secret):
        hint = f" ({problem}; use the environment variables)" if problem else ""
        raise ConfigurationError(f"no Alpaca credentials: set {KEY_ENV} and {SECRET_ENV}{hint}")
    base_url = os.environ.get(BASE_URL_ENV) or None
    if base_url is not None:
        parsed = urlparse(base_url)
        if parsed.scheme not in ("http", "https") or not parsed.netloc:
            raise ConfigurationError(f"{BASE_URL_ENV} must be an http(s) URL, got {base_url!r}")
        base_url = base_url.rstrip("/").removesuffix("/v2")
    stream_url = os.environ.get(STREAM_URL_ENV) or (derive_stream_url(base_url) if base_url else None)
    return AlpacaCredentials(key, secret, paper=not live, base_url=base_url, stream_url=stream_url)
