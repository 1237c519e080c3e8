"""History's files on disk: shared by processes, owned captures, private modes."""

import hashlib
import multiprocessing
import os
import stat
from pathlib import Path

import pytest

from assistant.engine import EngineConfig
from assistant.history import History
from assistant.settings import Settings


def _content(i: int) -> bytes:
    return hashlib.sha256(str(i).encode()).digest() * 8192  # 256 KiB, the same in every process


def _hammer(directory, worker, rounds, barrier):
    """Add the same new attachments as the other worker in lockstep, deleting conversations now and then (so one
    worker's collection races the other's add)."""
    h = History(Path(directory))
    own = Path(directory).parent / f"src-{worker}"
    own.mkdir()
    errors = []
    cid = h.create(f"worker {worker}")
    for i in range(rounds):
        src = own / f"photo{i % 7}.png"
        src.write_bytes(_content(i // 2))  # each new blob is stored twice in a row by both workers
        barrier.wait(60)
        try:
            h.add_message(cid, "user", f"q{i}", attachments=[("image", src), ("file", src)])
        except Exception as e:  # noqa: BLE001 - counted and reported by the test
            errors.append(repr(e))
        if (i + 12 * worker) % 25 == 24:
            h.delete(cid)
            cid = h.create(f"worker {worker}")
    h.close()
    return errors


ROUNDS = 210


def test_two_processes_storing_the_same_new_attachments(tmp_path):
    ctx = multiprocessing.get_context("spawn")
    barrier = ctx.Manager().Barrier(2)
    with ctx.Pool(2) as pool:
        results = pool.starmap(_hammer, [(str(tmp_path / "data"), w, ROUNDS, barrier) for w in (0, 1)])
    assert results == [[], []]
    h = History(tmp_path / "data")
    rows = h.db.execute("SELECT m.conversation_id, a.name, a.sha256, a.size FROM attachments a "
                        "JOIN messages m ON a.message_id = m.id").fetchall()
    kept = [ROUNDS - max(i for i in range(ROUNDS) if (i + 12 * w) % 25 == 24) - 1 for w in (0, 1)]
    assert len(rows) == 2 * sum(kept)  # two files in each round after each worker's last delete
    for cid, name, digest, size in rows:
        data = h._blob_path(digest, name).read_bytes()
        assert hashlib.sha256(data).hexdigest() == digest and len(data) == size
    assert not [p for p in h.incoming.iterdir()]  # no temp copies left behind
    h.close()


def test_a_sent_capture_lives_only_in_the_store_and_goes_with_its_conversation(tmp_path):
    h = History(tmp_path / "data")
    wav = h.capture(b"RIFF spoken question", "question", ".wav")
    assert wav.read_bytes() == b"RIFF spoken question" and wav.name.startswith("question-")
    cid = h.create()
    h.add_message(cid, "user", attachments=[("audio", wav)])
    stored = h.messages(cid)[0].attachments[0]
    assert not wav.exists() and stored.path.read_bytes() == b"RIFF spoken question"
    h.delete(cid)
    assert [p for p in (tmp_path / "data").rglob("*") if p.is_file() and p.read_bytes() == b"RIFF spoken question"] \
        == []
    unsent = h.capture(b"png", "pasted", ".png")
    h.discard(unsent)
    user_file = tmp_path / "mine.png"
    user_file.write_bytes(b"png")
    h.discard(user_file)  # only captures are the store's to delete
    assert not unsent.exists() and user_file.exists()
    h.close()


def test_captures_older_versions_left_outside_the_store_are_removed(tmp_path):
    data = tmp_path / "data"
    (data / "recordings").mkdir(parents=True)
    (data / "pasted").mkdir()
    (data / "recordings" / "question-20250101-101010.wav").write_bytes(b"RIFF")
    (data / "pasted" / "pasted-20250101-101010-123.png").write_bytes(b"png")
    (data / "pasted" / "my-own-notes.txt").write_text("not ours")
    History(data).close()
    assert not (data / "recordings").exists() and [p.name for p in (data / "pasted").iterdir()] == ["my-own-notes.txt"]


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def open_umask():
    old = os.umask(0o022)  # the usual umask, which made everything 0644 before
    yield
    os.umask(old)


def test_history_files_are_private(tmp_path, open_umask):
    h = History(tmp_path / "data")
    src = tmp_path / "a.txt"
    src.write_text("secret")
    cid = h.create()
    h.add_message(cid, "user", "x", attachments=[("file", src), ("audio", h.capture(b"RIFF", "question", ".wav"))])
    files = [p for p in (tmp_path / "data").rglob("*") if p.is_file()]
    assert {p.name for p in files} >= {"history.sqlite3", "history.sqlite3-wal", "history.sqlite3-shm"}
    assert len([p for p in files if h.blobs in p.parents]) == 2
    assert {mode(p) for p in files} == {0o600}
    assert {mode(p) for p in (tmp_path / "data").rglob("*") if p.is_dir()} | {mode(tmp_path / "data")} == {0o700}
    h.close()


def test_files_an_older_version_made_readable_are_made_private_on_open(tmp_path, open_umask):
    History(tmp_path / "data").close()
    for p in [tmp_path / "data", *(tmp_path / "data").rglob("*")]:
        p.chmod(0o755 if p.is_dir() else 0o644)
    History(tmp_path / "data").close()
    assert {mode(p) for p in (tmp_path / "data").rglob("*") if p.is_file()} == {0o600}
    assert mode(tmp_path / "data") == 0o700
    settings = tmp_path / "config" / "settings.json"
    settings.parent.mkdir()
    settings.write_text('{"remote_key": "sk-old"}')
    settings.chmod(0o644)
    assert Settings.load(settings).engine.remote_key == "sk-old" and mode(settings) == 0o600


def test_settings_with_keys_are_private(tmp_path, open_umask):
    path = tmp_path / "config" / "settings.json"
    Settings(EngineConfig(remote_key="sk-secret"), server_key="local-secret").save(path)
    assert mode(path) == 0o600 and mode(path.parent) == 0o700
    Settings(EngineConfig(remote_key="sk-other")).save(path)  # rewriting keeps it private and leaves no temp file
    assert mode(path) == 0o600 and [p.name for p in path.parent.iterdir()] == ["settings.json"]
    assert Settings.load(path).engine.remote_key == "sk-other"
