"""A screenshot pasted into the window is answered from its text: the text reaches the model's prompt as text, the
answer cites it, and the picture's chip says its text was read."""

from dataclasses import replace
from pathlib import Path

from PySide6.QtCore import QMimeData
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QLabel

from assistant.conversation import Done, TokenDelta
from assistant.engine import Engine
from assistant.settings import Settings
from tests.assistant.test_engine import PLANTED_SENTENCE, _planted_screenshot, adapter, config, whisper_file  # noqa: F401 (fixtures)
from tests.conftest import needs_tesseract
from tests.models.test_vision import tiny_clip_name  # noqa: F401 (fixture)
from tests.ui.conftest import FakeEngine, wait_idle


def paste_and_ask(qtbot, w, picture: Path, question: str):
    pasted = QMimeData()
    pasted.setImageData(QImage(str(picture)))
    w.composer.input.insertFromMimeData(pasted)
    w.composer.input.setPlainText(question)
    assert w.send()
    wait_idle(qtbot, w, 60_000)
    return w.history.messages(w.session.conversation)


def marks(widget) -> list[str]:
    return [label.text() for chip in widget.chips for label in chip.findChildren(QLabel, "text_read")]


@needs_tesseract
def test_a_pasted_screenshots_text_reaches_the_model_as_text(make_window, qtbot, config, tmp_path):  # noqa: F811
    config = replace(config, image_adapter=adapter(tmp_path, "image", config.vision, Path(config.llm).name, 48))
    engine = Engine(config)
    w = make_window(engine, Settings(engine=config, temperature=0.0, max_tokens=2))
    question, answer = paste_and_ask(qtbot, w, _planted_screenshot(tmp_path), "where did the dog run?")
    assert answer.status == "done", answer.meta
    name = question.attachments[0].name
    assert answer.meta["sources"] == [f"{name}, text in the image"]
    fed = [k for k in engine.llm.cached_keys if isinstance(k, int)]  # the prompt as fed, and the two tokens answered
    assert PLANTED_SENTENCE in engine.llm.llm.tokenizer.decode(fed)
    assert marks(w.messages.widgets()[0]) == ["text read"]


class CitingEngine(FakeEngine):
    """Answers citing the text of the first picture in the question, as the real engine does when it read some."""

    def respond(self, conversation, options, voice_mode="cascade", cancel=None, leave_out_unreadable=False):
        events = list(super().respond(conversation, options, voice_mode, cancel, leave_out_unreadable))
        label = conversation[-1].parts[0].label
        done = replace(events[-1], sources=(f"{label}, text in the image",) if self.read else ())
        yield from [e for e in events if isinstance(e, TokenDelta)] + [done]


def test_the_text_read_mark_follows_the_answers_sources_and_survives_a_restart(make_window, qtbot, tmp_path):
    engine = CitingEngine()
    engine.read = True
    shot = tmp_path / "shot.png"
    QImage(64, 32, QImage.Format_RGB32).save(str(shot))
    w = make_window(engine)
    paste_and_ask(qtbot, w, shot, "what does it say?")
    assert marks(w.messages.widgets()[0]) == ["text read"]
    engine.read = False  # a photo: seen, no text read, no mark
    w.new_conversation()
    paste_and_ask(qtbot, w, shot, "what is this?")
    assert marks(w.messages.widgets()[0]) == []
    first = w.history.conversations()[-1]  # the oldest, shown again from the history: marked as before
    w.open_conversation(first.id)
    assert marks(w.messages.widgets()[0]) == ["text read"]
