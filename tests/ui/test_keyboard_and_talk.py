"""Issue 15's defects in the window, driven with real key and mouse events: holding F8 with auto-repeat, holding the
talk button, focus after the file dialog, keyboard navigation and shortcuts."""

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
