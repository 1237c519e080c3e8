"""API keys: in the desktop keyring when one runs (an in-memory backend stands in for it here), else in the private
settings file."""

import json
from dataclasses import replace

import keyring
import pytest
from keyring.backend import KeyringBackend
from keyring.backends import fail
from keyring.errors import PasswordSetError

from assistant import keys
from assistant.settings import Settings


class MemoryKeyring(KeyringBackend):
    """A desktop keyring's interface, kept in a dict."""

    priority = 1

    def __init__(self, refuse=False):
        super().__init__()
        self.entries, self.refuse = {}, refuse

    def get_password(self, service, username):
        return self.entries.get((service, username))

    def set_password(self, service, username, password):
        if self.refuse:
            raise PasswordSetError("the keyring is locked")
        self.entries[(service, username)] = password

    def delete_password(self, service, username):
        del self.entries[(service, username)]


@pytest.fixture
def use_keyring():
    before = keyring.get_keyring()

    def use(backend):
        keyring.set_keyring(backend)
        return backend
    yield use
    keyring.set_keyring(before)


def with_keys(server="sk-server", remote="sk-remote"):
    s = Settings()
    return replace(s, server_key=server, engine=replace(s.engine, remote_key=remote))


def test_with_a_keyring_the_keys_leave_the_file_and_come_back(tmp_path, use_keyring):
    ring = use_keyring(MemoryKeyring())
    path = tmp_path / "settings.json"
    with_keys().save(path)
    raw = json.loads(path.read_text())
    assert raw["server_key"] == "" and raw["engine"]["remote_key"] == ""
    assert "sk-server" not in path.read_text() and set(ring.entries.values()) == {"sk-server", "sk-remote"}
    loaded = Settings.load(path)
    assert loaded.server_key == "sk-server" and loaded.engine.remote_key == "sk-remote"
    with_keys(server="", remote="sk-remote").save(path)  # a cleared key leaves the keyring too
    assert set(ring.entries.values()) == {"sk-remote"} and Settings.load(path).server_key == ""
    other = tmp_path / "other" / "settings.json"
    assert Settings.load(other).engine.remote_key == ""  # each settings file has its own entries
    assert "MemoryKeyring" in keys.where()


def test_a_key_left_in_the_file_moves_to_the_keyring_on_the_next_save(tmp_path, use_keyring):
    path = tmp_path / "settings.json"
    use_keyring(fail.Keyring())
    with_keys().save(path)  # no keyring yet: the private file keeps them
    assert json.loads(path.read_text())["server_key"] == "sk-server" and keys.where() == ""
    ring = use_keyring(MemoryKeyring())
    loaded = Settings.load(path)
    assert loaded.server_key == "sk-server"
    loaded.save(path)
    assert json.loads(path.read_text())["server_key"] == "" and "sk-server" in ring.entries.values()


def test_a_keyring_that_refuses_leaves_the_keys_in_the_private_file(tmp_path, use_keyring):
    use_keyring(MemoryKeyring(refuse=True))
    path = tmp_path / "settings.json"
    with_keys().save(path)
    assert json.loads(path.read_text())["server_key"] == "sk-server"
    assert Settings.load(path).server_key == "sk-server" and (path.stat().st_mode & 0o777) == 0o600
