"""Issue 15's defects in the window, driven with real key and mouse events: holding F8 with auto-repeat, holding the
talk button, focus after the file dialog, keyboard navigation and shortcuts."""

from pathlib import Path

import numpy as np
from PySide6.QtCore import QPoint, Qt
from PySide6.QtWidgets import QApplication

from tests.ui.conftest import wait_idle


class CountingRecorder:
    """The recorder's interface; counts how often the microphone was opened."""

    def __init__(self, seconds=1.0):
        from ui.recorder import to_wav

        self.wav = to_wav(np.zeros(int(16000 * seconds), np.float32))
        self.recording, self.starts = False, 0

    def start(self, device=""):
        self.recording, self.starts = True, self.starts + 1
        return True

    def stop(self):
        self.recording = False
        return self.wav


def _active(qtbot, w):
    w.activateWindow()
    qtbot.waitUntil(w.isActiveWindow, timeout=2000)


def _type_in_a_new_window(make_window, qtbot, engine, text, send=True):
    """A window, active, with text typed key by key into its input (and sent with Return)."""
    w = make_window(engine)
    _active(qtbot, w)
    w.composer.input.setFocus()
    qtbot.keyClicks(w.composer.input, text)
    if send:
        qtbot.keyClick(w.composer.input, Qt.Key_Return)
    return w


def test_holding_f8_with_auto_repeat_makes_one_recording(make_window, qtbot, fake):
    """X11 auto-repeat: release+press pairs about every 40 ms, not flagged as repeats. One hold, one recording."""
    w = make_window(fake)
    recorder = w.composer.recorder = CountingRecorder()
    _active(qtbot, w)
    qtbot.keyPress(w.composer.input, Qt.Key_F8)
    for _ in range(8):  # about 320 ms held
        qtbot.wait(40)
        qtbot.keyRelease(w.composer.input, Qt.Key_F8)
        qtbot.keyPress(w.composer.input, Qt.Key_F8)
        assert recorder.recording
    qtbot.keyRelease(w.composer.input, Qt.Key_F8)
    qtbot.waitUntil(lambda: not recorder.recording, timeout=2000)
    wait_idle(qtbot, w)
    assert recorder.starts == 1 and len(fake.seen) == 1
    assert w.composer.input.toPlainText() == ""  # F8 never reached the input


def test_two_separate_f8_presses_are_two_recordings(make_window, qtbot, fake):
    w = make_window(fake)
    recorder = w.composer.recorder = CountingRecorder()
    _active(qtbot, w)
    for _ in range(2):
        qtbot.keyPress(w.composer.input, Qt.Key_F8)
        qtbot.keyRelease(w.composer.input, Qt.Key_F8)
        qtbot.waitUntil(lambda: not recorder.recording, timeout=2000)
        wait_idle(qtbot, w)
    assert recorder.starts == 2 and len(fake.seen) == 2


def test_the_talk_button_stays_put_and_a_release_outside_it_stops(make_window, qtbot, fake):
    w = make_window(fake)
    recorder = w.composer.recorder = CountingRecorder()
    button = w.composer.talk_button
    qtbot.wait(50)
    before = button.mapTo(w, QPoint(0, 0)), button.size()
    qtbot.mousePress(button, Qt.LeftButton)
    qtbot.wait(50)  # the layout settles with the level meter shown
    assert recorder.recording and w.composer.level.isVisible()
    assert (button.mapTo(w, QPoint(0, 0)), button.size()) == before  # nothing moved under the pointer
    qtbot.mouseMove(button, QPoint(-40, -40))  # dragging off the button keeps recording
    assert recorder.recording and recorder.starts == 1
    qtbot.mouseRelease(button, Qt.LeftButton, pos=QPoint(-40, -40))  # released outside it
    assert not recorder.recording
    wait_idle(qtbot, w)
    assert recorder.starts == 1 and len(fake.seen) == 1


def test_a_release_delivered_elsewhere_still_stops_the_talk_button(make_window, qtbot, fake):
    w = make_window(fake)
    recorder = w.composer.recorder = CountingRecorder()
    qtbot.mousePress(w.composer.talk_button, Qt.LeftButton)
    assert recorder.recording
    qtbot.mouseRelease(w.messages.viewport(), Qt.LeftButton)
    assert not recorder.recording


def test_focus_returns_to_the_input_after_the_attach_dialog(make_window, qtbot, fake, tmp_path, monkeypatch):
    from PySide6.QtWidgets import QFileDialog

    doc = tmp_path / "notes.txt"
    doc.write_text("hello")
    for picked in ([str(doc)], []):  # chosen, or cancelled
        monkeypatch.setattr(QFileDialog, "getOpenFileNames", staticmethod(lambda *a, picked=picked, **k: (picked, "")))
        w = make_window(fake)
        _active(qtbot, w)
        w.composer.attach_button.setFocus()
        qtbot.keyClick(w.composer.attach_button, Qt.Key_Space)  # opens the (patched) dialog
        assert QApplication.focusWidget() is w.composer.input
        qtbot.keyClicks(QApplication.focusWidget(), "what is this")
        assert w.composer.input.toPlainText() == "what is this"
        assert len(w.composer.attachments.chips) == len(picked)
        w.close()


def _tab_until(qtbot, w, wanted, limit=40):
    """Press Tab (from the focused widget) until `wanted` has focus; the widgets passed on the way."""
    seen = []
    for _ in range(limit):
        qtbot.keyClick(QApplication.focusWidget(), Qt.Key_Tab)
        seen.append(QApplication.focusWidget())
        if seen[-1] is wanted:
            return seen
    raise AssertionError(f"{wanted!r} never got focus; the chain was {seen!r}")


def test_tab_leaves_the_input_and_reaches_every_button(make_window, qtbot, fake, tmp_path):
    from PySide6.QtWidgets import QPushButton, QToolButton

    w = _type_in_a_new_window(make_window, qtbot, fake, "first", send=False)
    qtbot.keyClick(w.composer.input, Qt.Key_Tab)
    assert QApplication.focusWidget() is not w.composer.input and "\t" not in w.composer.input.toPlainText()
    qtbot.keyClick(QApplication.focusWidget(), Qt.Key_Tab, Qt.ShiftModifier)
    assert QApplication.focusWidget() is w.composer.input  # Shift+Tab comes back
    qtbot.keyClick(w.composer.input, Qt.Key_Return)
    wait_idle(qtbot, w)
    doc = tmp_path / "notes.txt"
    doc.write_text("x")
    w.composer.add_files([doc])
    question, answer = w.messages.widgets()
    buttons = {"copy": next(b for b in answer.findChildren(QPushButton) if b.text() == "Copy"),
               "regenerate": answer.findChild(QPushButton, "regenerate"),
               "edit": question.findChild(QPushButton, "edit"),
               "remove chip": w.composer.attachments.chips[0].findChild(QToolButton, "remove")}
    w.composer.input.setFocus()
    for button in buttons.values():
        _tab_until(qtbot, w, button)
    _tab_until(qtbot, w, buttons["copy"])
    qtbot.keyClick(buttons["copy"], Qt.Key_Space)
    assert QApplication.clipboard().text() == fake.answer
    _tab_until(qtbot, w, buttons["remove chip"])
    qtbot.keyClick(buttons["remove chip"], Qt.Key_Space)
    assert not w.composer.attachments.chips
    fake.answer = "Another answer."
    _tab_until(qtbot, w, buttons["regenerate"])
    qtbot.keyClick(buttons["regenerate"], Qt.Key_Space)
    wait_idle(qtbot, w)
    assert [m.text for m in w.history.messages(w.session.conversation)] == ["first", "Another answer."]
    edit = w.messages.widgets()[0].findChild(QPushButton, "edit")
    w.composer.input.setFocus()
    _tab_until(qtbot, w, edit)
    qtbot.keyClick(edit, Qt.Key_Space)
    assert w.composer.input.toPlainText() == "first" and QApplication.focusWidget() is w.composer.input


def test_escape_stops_the_answer(make_window, qtbot):
    from tests.ui.conftest import FakeEngine

    w = _type_in_a_new_window(make_window, qtbot, FakeEngine(" ".join(["word"] * 300), delay=0.02), "long answer")
    qtbot.waitUntil(lambda: w.session.answer is not None and len(w.session.answer.text) > 10, timeout=5000)
    qtbot.keyClick(QApplication.focusWidget(), Qt.Key_Escape)
    wait_idle(qtbot, w)
    assert w.history.messages(w.session.conversation)[-1].status == "stopped"


def test_ctrl_n_starts_a_new_conversation_and_ctrl_comma_opens_settings(make_window, qtbot, fake, monkeypatch):
    from ui.settings_dialog import SettingsDialog

    w = _type_in_a_new_window(make_window, qtbot, fake, "hello")
    wait_idle(qtbot, w)
    w.sidebar.search.setFocus()
    qtbot.keyClick(w.sidebar.search, Qt.Key_N, Qt.ControlModifier)
    assert w.session.conversation is None and not w.messages.widgets()
    assert QApplication.focusWidget() is w.composer.input
    opened = []
    monkeypatch.setattr(SettingsDialog, "exec", lambda self: opened.append(self) or 0)
    qtbot.keyClick(w.composer.input, Qt.Key_Comma, Qt.ControlModifier)
    assert len(opened) == 1


def test_the_delete_dialog_defaults_to_no(make_window, qtbot, fake):
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QMessageBox

    w = make_window(fake)
    w.composer.input.setPlainText("keep me")
    qtbot.keyClick(w.composer.input, Qt.Key_Return)
    wait_idle(qtbot, w)
    cid = w.session.conversation
    asked = []

    def answer_with_enter():
        box = QApplication.activeModalWidget()
        asked.append(box.defaultButton() is box.button(QMessageBox.No))
        qtbot.keyClick(box, Qt.Key_Return)

    QTimer.singleShot(100, answer_with_enter)
    w.sidebar.delete(cid)
    assert asked == [True] and w.history.info(cid) is not None


def test_loading_shows_the_step_and_a_percentage_in_the_ui_language(make_window, qtbot, fake):
    """The worker's real loading path, paused at each step the engine reports."""
    import threading

    from ui.i18n import install_language

    gates = {stage: threading.Event() for stage in ("loading llm model", "loading whisper model", "unknown step")}

    def factory(config, progress):
        for stage, gate in gates.items():
            progress(stage)
            gate.wait(10)
        return fake

    for language, expected in (("en", "Loading the speech model (step 3 of 4, 50%)"), ("ko", "음성 모델")):
        install_language(QApplication.instance(), language)
        try:
            w = make_window(fake, load=False)
            w.retranslate()
            w.worker.factory = factory
            for gate in gates.values():
                gate.clear()
            w.load_models()
            qtbot.waitUntil(lambda: w.progress.value() == 25, timeout=5000)  # the language model: step 2 of 4
            gates["loading llm model"].set()
            qtbot.waitUntil(lambda: w.progress.value() == 50, timeout=5000)
            assert expected in w.status_text.text() and w.progress.isVisible()
            gates["loading whisper model"].set()
            qtbot.waitUntil(lambda: w.progress.maximum() == 0, timeout=5000)  # unknown: busy, shown as it came
            assert "unknown step" in w.status_text.text()
            gates["unknown step"].set()
            qtbot.waitUntil(lambda: w.ready, timeout=5000)
            assert not w.progress.isVisible()
            w.close()
        finally:
            install_language(QApplication.instance(), "en")


def test_a_mislabelled_file_is_marked_when_attached_and_left_out(make_window, qtbot, fake, tmp_path):
    from assistant.conversation import FilePart
    from ui.i18n import install_language

    fake_pdf = tmp_path / "report.pdf"
    fake_pdf.write_text("just some text, not a PDF")
    good = tmp_path / "notes.txt"
    good.write_text("meeting at noon")
    w = make_window(fake)
    w.composer.add_files([fake_pdf, good])
    bad, ok = w.composer.attachments.chips
    assert bad.bad and bad.property("bad") and not ok.bad
    assert "report.pdf is not a PDF file" in w.status_text.text() and "report.pdf" in bad.toolTip()
    assert not w.composer.quick["extract"].isVisibleTo(w)  # no quick action offered for the file left out
    w.composer.input.setPlainText("what is in these?")
    assert w.send()
    wait_idle(qtbot, w)
    parts = fake.seen[-1][0][-1].parts
    assert [p.label for p in parts if isinstance(p, FilePart)] == ["notes.txt"]  # the rest of the question went
    assert w.history.messages(w.session.conversation)[-1].status == "done"
    w.composer.add_files([fake_pdf])
    assert not w.send()  # only a bad file and no text: nothing to send
    try:
        install_language(QApplication.instance(), "ko")
        w.composer.add_files([fake_pdf])
        assert "report.pdf" in w.status_text.text() and "PDF" in w.status_text.text()
        assert "not a" not in w.status_text.text()  # in Korean
    finally:
        install_language(QApplication.instance(), "en")


def test_the_attach_dialog_filters_what_the_assistant_reads_and_opens_where_files_were_last_picked(
        make_window, qtbot, fake, tmp_path, monkeypatch):
    from PySide6.QtWidgets import QFileDialog

    from assistant.settings import Settings

    folder = tmp_path / "photos"
    folder.mkdir()
    (folder / "cat.png").write_bytes(b"")
    calls = []

    def dialog(parent, title, start, filters):
        calls.append((start, filters))
        return [str(folder / "cat.png")], ""

    monkeypatch.setattr(QFileDialog, "getOpenFileNames", staticmethod(dialog))
    w = make_window(fake)
    w.composer.pick_files()
    w.composer.pick_files()
    (first_start, filters), (second_start, _) = calls
    assert first_start == str(Path.home()) and second_start == str(folder)
    first = filters.split(";;")[0]
    assert all(f"*{s}" in first for s in (".png", ".wav", ".pdf", ".docx", ".csv", ".py", ".md", ".txt"))
    assert filters.split(";;")[-1].endswith("(*)")  # anything else stays reachable
    assert Settings.load(w.settings_path).attach_folder == str(folder)  # kept after a restart
