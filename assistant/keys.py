"""API keys in the desktop keyring (the Secret Service of GNOME Keyring or KWallet, macOS Keychain, Windows
Credential Locker) through PyPI `keyring`, when one is running; otherwise they stay in the settings file, which only
its owner can read (0600). Entries are per settings file, so two installs (or test runs) never share a key."""

from __future__ import annotations

import logging
from pathlib import Path

log = logging.getLogger(__name__)
SERVICE = "omni-assistant"


def _keyring():
    """The keyring module when a real desktop backend is running, else None (no backend, or only keyring's
    "fail" and "null" stand-ins, as on a server or in CI)."""
    try:
        import keyring
        from keyring.backends import chainer, fail, null
    except ImportError:
        return None
    try:
        backend = keyring.get_keyring()
    except Exception:  # a broken backend configuration must not stop the app from starting
        return None
    if isinstance(backend, (fail.Keyring, null.Keyring)) or (
            isinstance(backend, chainer.ChainerBackend) and not backend.backends):
        return None
    return keyring


def where() -> str:
    """The keyring backend's name, or "" when keys stay in the settings file."""
    keyring = _keyring()
    return "" if keyring is None else keyring.get_keyring().name


def save(path: Path, name: str, value: str) -> bool:
    """Keep a key in the keyring (an empty value removes it); False when there is no keyring or it refused, so
    the caller keeps the key in the private settings file instead."""
    keyring = _keyring()
    if keyring is None:
        return False
    user = f"{name}@{Path(path).resolve()}"
    try:
        if value:
            keyring.set_password(SERVICE, user, value)
        elif keyring.get_password(SERVICE, user) is not None:
            keyring.delete_password(SERVICE, user)
    except Exception as e:  # locked, dismissed or broken: the file keeps it
        log.warning("the keyring did not take the %s (%s); it stays in the private settings file", name, e)
        return False
    return True


def load(path: Path, name: str) -> str:
    """A key kept in the keyring for this settings file ("" when there is none, or no keyring)."""
    keyring = _keyring()
    if keyring is None:
        return ""
    try:
        return keyring.get_password(SERVICE, f"{name}@{Path(path).resolve()}") or ""
    except Exception as e:
        log.warning("the keyring could not be read (%s)", e)
        return ""
