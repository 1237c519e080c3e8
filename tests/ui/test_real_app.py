"""End to end: the real window on the real bundled models, for a typed, an image and a spoken question.

The spoken question goes through a PulseAudio virtual microphone (a null sink whose monitor is a source), recorded
by the app's own QtMultimedia recorder, exactly as a user holding the talk button.
"""

from dataclasses import replace

import pytest

from assistant.engine import EngineConfig
from assistant.history import History
from assistant.settings import Settings
from tests.test_real_weights import _installed
from tools.demo import VOICE_ANSWER, sample_image, spoken_question

pytestmark = [pytest.mark.weights,
              pytest.mark.skipif(not _installed(), reason="bundled weights/espeak-ng not installed (run scripts/test)")]


@pytest.fixture
def window(qtbot, tmp_path):
    from ui.window import MainWindow
    from ui.worker import real_engine

    w = MainWindow(Settings(EngineConfig(device="cpu"), temperature=0.0, max_tokens=48, voice_mode="cascade"), History(tmp_path / "data"), real_engine,
                   tmp_path / "settings.json")
    qtbot.addWidget(w)
    w.show()
    w.load_models()
    qtbot.waitUntil(lambda: w.ready, timeout=300_000)
    yield w
    w.close()
    w.history.close()


def _ask(qtbot, w, text, attachment=None):
    if attachment is not None:
        w.composer.add_files([attachment])
    w.composer.input.setPlainText(text)
    assert w.send()
    qtbot.waitUntil(lambda: not w.busy, timeout=120_000)
    return w.history.messages(w.session.conversation)


def test_typed_image_and_spoken_questions(window, qtbot, tmp_path, microphone):
    answer = _ask(qtbot, window, "What is the capital of France?")[-1]
    assert "Paris" in answer.text and answer.status == "done" and answer.meta["ttft_ms"] > 0

    window.new_conversation()
    answer = _ask(qtbot, window, "What shape is this?", sample_image(tmp_path / "c.png"))[-1]
    assert "circle" in answer.text.lower()

    if microphone is None:
        pytest.skip("PulseAudio is not installed: no virtual microphone")
    window.new_conversation()
    speech = spoken_question(tmp_path / "q.wav")
    window.settings = replace(window.settings, microphone=microphone.device_id)
    window.composer.start_recording()
    assert window.composer.recorder.recording, window.status_text.text()
    qtbot.wait(300)
    player = microphone.play(speech)  # the event loop keeps running: the recorder reads as it plays
    qtbot.waitUntil(lambda: player.poll() is not None, timeout=30_000)
    qtbot.wait(500)
    window.composer.stop_recording()
    qtbot.waitUntil(lambda: not window.busy, timeout=120_000)
    question, answer = window.history.messages(window.session.conversation)
    assert question.attachments[0].kind == "audio"
    heard = question.meta.get("transcript", "").lower()
    assert "capital" in heard and "japan" in heard, heard
    assert VOICE_ANSWER in answer.text
