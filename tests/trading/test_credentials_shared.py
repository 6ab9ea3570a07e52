"""Keys saved from Settings (workstation.credentials) are the keys the Alpaca broker uses."""

from __future__ import annotations

import pytest

from workstation import credentials
from workstation.errors import ConfigurationError
from workstation.trading.credentials import load_credentials


def _no_keyring(monkeypatch: pytest.MonkeyPatch) -> None:
    status = credentials.KeyringStatus(False, "keyring.backends.fail.Keyring", "no keyring")
    monkeypatch.setattr(credentials, "keyring_status", lambda: status)


def test_keys_saved_in_the_fallback_file_are_used(monkeypatch: pytest.MonkeyPatch) -> None:
    _no_keyring(monkeypatch)
    credentials.save_alpaca_credentials(
        credentials.AlpacaCredentials("PKTESTKEY123", "secret-value-xyz", paper=True), allow_file=True
    )
    loaded = load_credentials()
    assert loaded.key_id == "PKTESTKEY123"
    assert loaded.secret_key == "secret-value-xyz"
    assert loaded.paper
    with pytest.raises(ConfigurationError, match="paper-trading keys, not live"):
        load_credentials(live=True)


def test_environment_wins_and_missing_keys_explain_themselves(monkeypatch: pytest.MonkeyPatch) -> None:
    _no_keyring(monkeypatch)
    with pytest.raises(ConfigurationError, match="no OS keyring"):
        load_credentials()
    monkeypatch.setenv("APCA_API_KEY_ID", "ENVKEY")
    monkeypatch.setenv("APCA_API_SECRET_KEY", "ENVSECRET")
    monkeypatch.setenv("APCA_API_BASE_URL", "http://127.0.0.1:9/v2")
    loaded = load_credentials()
    assert loaded.key_id == "ENVKEY"
    assert loaded.base_url == "http://127.0.0.1:9"
    assert loaded.stream_url == "ws://127.0.0.1:9/stream"
