"""Alpaca keys: keyring when one exists, an explained 0600 file fallback otherwise, the environment first."""

from __future__ import annotations

import stat
from collections.abc import Iterator

import keyring
import pytest
from keyring.backend import KeyringBackend
from keyring.backends import fail

from workstation import credentials
from workstation.credentials import AlpacaCredentials
from workstation.errors import ConfigurationError


class MemoryKeyring(KeyringBackend):
    priority = 1  # type: ignore[assignment]

    def __init__(self) -> None:
        super().__init__()
        self.store: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.store.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.store[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        self.store.pop((service, username), None)


@pytest.fixture
def no_keyring() -> Iterator[None]:
    previous = keyring.get_keyring()
    keyring.set_keyring(fail.Keyring())
    yield
    keyring.set_keyring(previous)


@pytest.fixture
def memory_keyring() -> Iterator[MemoryKeyring]:
    previous = keyring.get_keyring()
    backend = MemoryKeyring()
    keyring.set_keyring(backend)
    yield backend
    keyring.set_keyring(previous)


def test_without_keyring_says_so_and_uses_a_private_file_only_when_allowed(no_keyring: None) -> None:
    status = credentials.keyring_status()
    assert not status.available
    assert "No OS keyring" in status.explanation
    assert "APCA_API_KEY_ID" in status.explanation
    creds = AlpacaCredentials("PKTEST", "s3cret", paper=True)
    with pytest.raises(ConfigurationError, match="no OS keyring"):
        credentials.save_alpaca_credentials(creds)
    assert credentials.load_alpaca_credentials() is None
    assert credentials.save_alpaca_credentials(creds, allow_file=True) == "file"
    path = credentials.fallback_path()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert credentials.load_alpaca_credentials() == (creds, "file")
    assert "s3cret" not in repr(creds)
    credentials.delete_alpaca_credentials()
    assert not path.exists()
    assert credentials.load_alpaca_credentials() is None


def test_keyring_is_used_when_present(memory_keyring: MemoryKeyring) -> None:
    assert credentials.keyring_status().available
    creds = AlpacaCredentials("PKLIVE", "topsecret", paper=False)
    assert credentials.save_alpaca_credentials(creds) == "keyring"
    assert memory_keyring.store[("workstation", "alpaca_secret_key")] == "topsecret"
    assert not credentials.fallback_path().exists()
    assert credentials.load_alpaca_credentials() == (creds, "keyring")
    credentials.delete_alpaca_credentials()
    assert credentials.load_alpaca_credentials() is None


def test_environment_wins(memory_keyring: MemoryKeyring, monkeypatch: pytest.MonkeyPatch) -> None:
    credentials.save_alpaca_credentials(AlpacaCredentials("A", "B"))
    monkeypatch.setenv("APCA_API_KEY_ID", "ENVKEY")
    monkeypatch.setenv("APCA_API_SECRET_KEY", "ENVSECRET")
    found = credentials.load_alpaca_credentials()
    assert found == (AlpacaCredentials("ENVKEY", "ENVSECRET", True), "environment")


def test_blank_keys_are_refused(memory_keyring: MemoryKeyring) -> None:
    with pytest.raises(ConfigurationError, match="both"):
        credentials.save_alpaca_credentials(AlpacaCredentials(" ", "x"))
