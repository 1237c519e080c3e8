"""History: WAL SQLite, content-addressed attachments, crash recovery, search, export, settings and templates."""

import json
import multiprocessing
import os
import signal
import sqlite3
from dataclasses import replace

import pytest

from assistant.conversation import AudioPart, ImagePart, TextPart
from assistant.engine import EngineConfig
from assistant.history import History
from assistant.settings import Settings
from assistant.templates import PromptTemplate


@pytest.fixture
def history(tmp_path):
    h = History(tmp_path / "data")
    yield h
    h.close()


def test_wal_and_round_trip_with_attachments(history, tmp_path):
    img = tmp_path / "cat.PNG"
    img.write_bytes(b"\x89PNG fake image bytes")
    wav = tmp_path / "q.wav"
    wav.write_bytes(b"RIFF fake")
    cid = history.create("Cats")
    history.add_message(cid, "user", "What is this?", attachments=[("image", img), ("audio", wav)])
    history.add_message(cid, "assistant", "A cat.", meta={"ttft_ms": 120})
    assert history.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    img.unlink()  # the store keeps its own copy
    q, a = history.messages(cid)
    assert [x.kind for x in q.attachments] == ["image", "audio"] and q.attachments[0].name == "cat.PNG"
    assert q.attachments[0].path.read_bytes() == b"\x89PNG fake image bytes"
    assert q.attachments[0].path.suffix == ".png" and history.blobs in q.attachments[0].path.parents
    message = q.to_message()
    assert isinstance(message.parts[0], ImagePart) and isinstance(message.parts[1], AudioPart)
    assert message.parts[-1] == TextPart("What is this?") and a.meta == {"ttft_ms": 120}


def test_same_content_is_stored_once_and_collected_when_unused(history, tmp_path):
    f = tmp_path / "a.txt"
    f.write_text("same")
    c1, c2 = history.create("one"), history.create("two")
    history.add_message(c1, "user", "x", attachments=[("file", f)])
    history.add_message(c2, "user", "y", attachments=[("file", f)])
    assert len(list(history.blobs.glob("*/*"))) == 1
    history.delete(c1)
    assert len(list(history.blobs.glob("*/*"))) == 1
    history.delete(c2)
    assert list(history.blobs.glob("*/*")) == []


def test_search_rename_delete_and_order(history):
    a, b = history.create("Holiday plans"), history.create("Work")
    history.add_message(b, "user", "Summarise the quarterly report")
    assert [c.id for c in history.conversations()] == [b, a]
    assert [c.id for c in history.conversations("QUARTERLY")] == [b]
    assert [c.id for c in history.conversations("holiday")] == [a]
    assert history.conversations("100%") == []
    history.rename(a, "  Trip  ")
    assert history.info(a).title == "Trip"
    with pytest.raises(ValueError):
        history.rename(a, "   ")
    history.delete(a)
    assert [c.id for c in history.conversations()] == [b]


def test_regenerate_deletes_from_a_message_on(history):
    cid = history.create()
    ids = [history.add_message(cid, r, t) for r, t in [("user", "q1"), ("assistant", "a1"), ("user", "q2"),
                                                       ("assistant", "a2")]]
    history.delete_messages_from(cid, ids[2])
    assert [m.text for m in history.messages(cid)] == ["q1", "a1"]


def _crashing_writer(directory, ready):
    h = History(directory)
    cid = h.create("Crash")
    h.add_message(cid, "user", "Tell me a long story")
    mid = h.add_message(cid, "assistant", "", status="streaming")
    h.update_message(mid, text="Once upon a time")
    ready.set()
    signal.pause()  # killed here, mid-answer


def test_a_kill_mid_answer_loses_nothing(tmp_path):
    ctx = multiprocessing.get_context("spawn")
    ready = ctx.Event()
    proc = ctx.Process(target=_crashing_writer, args=(tmp_path, ready))
    proc.start()
    assert ready.wait(60)
    os.kill(proc.pid, signal.SIGKILL)
    proc.join()
    h = History(tmp_path)
    assert h.recover() == 1
    cid = h.conversations()[0].id
    q, a = h.messages(cid)
    assert q.text == "Tell me a long story" and a.text == "Once upon a time" and a.status == "interrupted"
    assert h.recover() == 0
    h.close()


def test_export_markdown(history):
    cid = history.create("Geo")
    history.add_message(cid, "user", "Capital of France?", meta={"transcript": "capital of France"})
    history.add_message(cid, "assistant", "Paris.", status="stopped")
    md = history.export_markdown(cid)
    assert md.startswith("# Geo\n") and "**You**" in md and "Paris." in md and "_(stopped)_" in md
    assert "(heard) capital of France" in md


def test_unknown_status_and_kind_are_refused(history, tmp_path):
    cid = history.create()
    with pytest.raises(ValueError):
        history.add_message(cid, "user", "x", status="weird")
    f = tmp_path / "f"
    f.write_text("x")
    with pytest.raises(ValueError):
        history.add_message(cid, "user", "x", attachments=[("video", f)])
    assert history.messages(cid) == []  # nothing half-written


def test_settings_round_trip_and_lenient_loading(tmp_path):
    path = tmp_path / "settings.json"
    s = Settings(temperature=0.2, language="ko", templates=[PromptTemplate("T", "sys", (("q", "a"),))])
    s.save(path)
    loaded = Settings.load(path)
    assert loaded.temperature == 0.2 and loaded.language == "ko" and loaded.templates[0].examples == (("q", "a"),)
    raw = json.loads(path.read_text())
    raw.update(temperature="hot", unknown=1, max_tokens=99)
    path.write_text(json.dumps(raw))
    loaded = Settings.load(path)
    assert loaded.temperature == Settings().temperature and loaded.max_tokens == 99
    path.write_text("{ not json")
    assert Settings.load(path) == Settings() and path.with_suffix(".bad").exists()


def test_the_old_answer_length_default_gives_way_to_the_new_one(tmp_path):
    # 256 tokens cut ordinary answers; every settings file saved before holds it without the user choosing it.
    path = tmp_path / "settings.json"
    Settings(max_tokens=256).save(path)
    assert Settings.load(path).max_tokens == Settings().max_tokens == 1024
    Settings(max_tokens=300).save(path)
    assert Settings.load(path).max_tokens == 300


def test_an_old_flat_settings_file_keeps_its_engine_settings(tmp_path):
    """Before the engine's config was nested, its fields sat at the top level of settings.json."""
    path = tmp_path / "settings.json"
    old = {"llm": "qwen2.5-coder-0.5b-instruct", "device": "cpu", "quantize": "int8", "max_file_mb": 50,
           "max_pdf_pages": 10, "remote_url": "http://gpu-box:8000/v1", "remote_key": "sk-old", "system_prompt": "Hi.",
           "temperature": 0.2}
    path.write_text(json.dumps(old))
    s = Settings.load(path)
    assert s.engine == EngineConfig(llm="qwen2.5-coder-0.5b-instruct", device="cpu", quantize="int8", max_file_mb=50,
                                    max_pdf_pages=10, remote_url="http://gpu-box:8000/v1", remote_key="sk-old")
    assert s.system_prompt == "Hi." and s.temperature == 0.2  # the window's own prompt stays the window's
    s.save(path)
    raw = json.loads(path.read_text())
    assert raw["engine"]["max_file_mb"] == 50 and "llm" not in raw and Settings.load(path) == s
    raw["engine"].update(device="tpu", max_file_mb=0, max_pdf_pages="many")  # hand-edited: each keeps its default
    path.write_text(json.dumps(raw))
    d = EngineConfig()
    assert Settings.load(path).engine == replace(s.engine, device=d.device, max_file_mb=d.max_file_mb,
                                                 max_pdf_pages=d.max_pdf_pages)


def test_templates_put_examples_before_the_conversation():
    from assistant.conversation import Message

    t = PromptTemplate("Few", "Be brief.", (("2+2?", "4"), ("3+3?", "6")))
    out = t.apply([Message.user("5+5?")], base_system="You are helpful.")
    assert out[0].role == "system" and out[0].text == "You are helpful.\n\nBe brief."
    assert [m.text for m in out[1:]] == ["2+2?", "4", "3+3?", "6", "5+5?"] and t.shots == "few-shot"
    assert PromptTemplate("Z").apply([Message.user("hi")]) == [Message.user("hi")]


def test_history_is_plain_sqlite(tmp_path):
    History(tmp_path).close()
    tables = {r[0] for r in sqlite3.connect(tmp_path / "history.sqlite3").execute(
        "SELECT name FROM sqlite_master WHERE type='table'")}
    assert {"conversations", "messages", "attachments"} <= tables
