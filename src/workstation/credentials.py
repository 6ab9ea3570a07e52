"""Broker credentials: the OS keyring when there is one, else an explained fallback.

Order of lookup for the Alpaca keys: the environment (APCA_API_KEY_ID / APCA_API_SECRET_KEY, the
names alpaca-py itself uses), then the OS keyring (service ``workstation``), then the fallback file
``alpaca-credentials.json`` in the user data directory, created with 0600 permissions. The file is
only ever written when the caller asks for it explicitly (``allow_file=True``), because it keeps
the secret in plain text: on a headless Linux box without a Secret Service there is no keyring
(keyring.backends.fail.Keyring) and the user must choose between that file and the environment.
"""

from __future__ import annotations

import contextlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import keyring
import keyring.errors

from workstation.errors import ConfigurationError
from workstation.paths import user_data_dir

SERVICE = "workstation"
ENV_KEY_ID = "APCA_API_KEY_ID"
ENV_SECRET = "APCA_API_SECRET_KEY"
FALLBACK_FILE = "alpaca-credentials.json"
_KEY_ID, _SECRET, _MODE = "alpaca_key_id", "alpaca_secret_key", "alpaca_mode"

Location = Literal["environment", "keyring", "file"]


@dataclass(frozen=True, slots=True)
class AlpacaCredentials:
    key_id: str
    secret_key: str
    paper: bool = True

    def __repr__(self) -> str:  # never print a secret by accident
        return f"AlpacaCredentials(key_id={self.key_id!r}, secret_key='***', paper={self.paper})"


@dataclass(frozen=True, slots=True)
class KeyringStatus:
    available: bool
    backend: str
    explanation: str


def keyring_status() -> KeyringStatus:
    backend = keyring.get_keyring()
    name = f"{type(backend).__module__}.{type(backend).__name__}"
    priority = getattr(backend, "priority", 0)
    if "fail" in name.lower() or "null" in name.lower() or (isinstance(priority, int | float) and priority <= 0):
        return KeyringStatus(
            False,
            name,
            "No OS keyring is available (on Linux, install and unlock a Secret Service such as GNOME Keyring or "
            "KWallet). Keys can instead be kept in a private file in the user data directory (readable only by "
            "you, but not encrypted) or given through the environment variables APCA_API_KEY_ID and "
            "APCA_API_SECRET_KEY.",
        )
    return KeyringStatus(True, name, f"Keys are stored in the OS keyring ({type(backend).__name__}).")


def fallback_path() -> Path:
    return user_data_dir() / FALLBACK_FILE


def _read_file() -> dict[str, str]:
    path = fallback_path()
    if not path.exists():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ConfigurationError(f"cannot read {path}: {exc}") from None
    return {str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else {}


def _write_file(values: dict[str, str]) -> None:
    path = fallback_path()
    tmp = path.with_suffix(".tmp")
    # Create with 0600 from the start: a chmod after writing would leave a window where others can read it.
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(values, handle)
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)


def load_alpaca_credentials() -> tuple[AlpacaCredentials, Location] | None:
    """The keys to use and where they came from, or None when none are configured."""
    key_id, secret = os.environ.get(ENV_KEY_ID), os.environ.get(ENV_SECRET)
    if key_id and secret:
        paper = os.environ.get("APCA_API_BASE_URL", "paper").find("paper") >= 0
        return AlpacaCredentials(key_id, secret, paper), "environment"
    if keyring_status().available:
        try:
            key_id = keyring.get_password(SERVICE, _KEY_ID)
            secret = keyring.get_password(SERVICE, _SECRET)
            mode = keyring.get_password(SERVICE, _MODE)
        except keyring.errors.KeyringError as exc:
            raise ConfigurationError(f"the OS keyring refused access: {exc}") from None
        if key_id and secret:
            return AlpacaCredentials(key_id, secret, mode != "live"), "keyring"
    stored = _read_file()
    if stored.get(_KEY_ID) and stored.get(_SECRET):
        return AlpacaCredentials(stored[_KEY_ID], stored[_SECRET], stored.get(_MODE) != "live"), "file"
    return None


def save_alpaca_credentials(credentials: AlpacaCredentials, *, allow_file: bool = False) -> Location:
    """Store the keys in the keyring, or in the 0600 fallback file when allowed and no keyring exists."""
    if not credentials.key_id.strip() or not credentials.secret_key.strip():
        raise ConfigurationError("both the Alpaca key id and the secret key are needed")
    mode = "paper" if credentials.paper else "live"
    if keyring_status().available:
        try:
            keyring.set_password(SERVICE, _KEY_ID, credentials.key_id.strip())
            keyring.set_password(SERVICE, _SECRET, credentials.secret_key.strip())
            keyring.set_password(SERVICE, _MODE, mode)
        except keyring.errors.KeyringError as exc:
            raise ConfigurationError(f"the OS keyring refused to store the keys: {exc}") from None
        return "keyring"
    if not allow_file:
        raise ConfigurationError(
            "no OS keyring is available: allow the private-file fallback or set APCA_API_KEY_ID and "
            "APCA_API_SECRET_KEY in the environment"
        )
    _write_file({_KEY_ID: credentials.key_id.strip(), _SECRET: credentials.secret_key.strip(), _MODE: mode})
    return "file"


def delete_alpaca_credentials() -> None:
    """Forget stored keys everywhere we store them (the environment is the user's own)."""
    if keyring_status().available:
        for name in (_KEY_ID, _SECRET, _MODE):
            with contextlib.suppress(keyring.errors.PasswordDeleteError):
                keyring.delete_password(SERVICE, name)
    path = fallback_path()
    if path.exists():
        path.unlink()
