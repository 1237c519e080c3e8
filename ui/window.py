"""The main window: conversation list, streaming chat, attachments, push-to-talk, settings."""

from __future__ import annotations

import functools
import threading
from pathlib import Path

from PySide6.QtCore import Qt, QThread, Signal
from PySide6.QtGui import QGuiApplication, QImage
from PySide6.QtWidgets import QApplication, QMainWindow

from assistant.history import History, StoredMessage
from assistant.session import Answer, ChatSession, Request
from assistant.settings import Settings
from ui.hold import HoldKey
from ui.theme import apply_theme
from ui.voice_chat import VoiceChat
from ui.window_layout import MIN_HEIGHT, MIN_WIDTH, VOICE_CHAT_KEY, WindowLayout
from ui.window_models import INSTALL, ModelActions
from ui.window_voice import VoiceActions
from ui.worker import EngineWorker

__all__ = ["INSTALL", "MIN_HEIGHT", "MIN_WIDTH", "TALK_KEY", "VOICE_CHAT_KEY", "MainWindow"]
TALK_KEY = Qt.Key_F8


def when_idle(action):
    """A window action that must wait for the streaming answer: while one streams it is refused, with a message."""
    @functools.wraps(action)
    def run(self, *args):
        if self.busy:
            self._refuse_while_busy()
            return None
        return action(self, *args)
    return run


class MainWindow(WindowLayout, VoiceActions, ModelActions, QMainWindow):
    """One window for text, images, voice and files. It renders a ChatSession; the engine lives on a worker thread.
    Its layout, voice and models/settings parts are in ui.window_layout, ui.window_voice and ui.window_models."""

    request_load = Signal(object)
    request_respond = Signal(int, object, object, str, object)
    request_rehearse = Signal(object, object, str, object, int)
    request_serve = Signal(object)

    def __init__(self, settings: Settings, history: History, engine_factory, settings_path: Path | None = None):
        super().__init__()
        self.history = history
        self.session = ChatSession(history, settings)
        self.session.on_text = self._on_text
        self.session.on_transcript = self._on_heard
        self.session.on_finished = self._on_answered
        self.settings_path = settings_path
        self.ready = False
        self.player = None  # plays attachments (QMediaPlayer, made on first use)
        self.reader = None  # ui.read_aloud.ReadAloud, made on first use
        self.voice_chat = VoiceChat(self)
        self.voice_chat.ask.connect(self._ask_aloud)
        self.voice_chat.rehearse.connect(self._rehearse)
        self.voice_chat.resumed.connect(lambda: self.rehearsing is not None and self.rehearsing.set())
        self.rehearsing: threading.Event | None = None  # the last rehearsal's cancel
        self.voice_chat.interrupt.connect(self.stop)
        self.voice_chat.hush.connect(lambda on: self.reader is not None and self.reader.player.hold(on))
        self._build(apply_theme(QApplication.instance(), settings.theme, settings.font_size))
        QGuiApplication.styleHints().colorSchemeChanged.connect(self._on_system_scheme)
        self.sidebar.refresh()
        self.retranslate()
        # The engine's thread: every model call happens there, never on this one.
        self.thread = QThread(self)
        self.worker = EngineWorker(engine_factory)
        self.worker.moveToThread(self.thread)
        self.request_load.connect(self.worker.load)
        self.request_respond.connect(self.worker.respond)
        self.request_rehearse.connect(self.worker.rehearse)
        self.worker.heard_ahead.connect(self.voice_chat.heard_ahead)
        self.request_serve.connect(self.worker.serve)
        self.api_url = ""
        self.worker.serving.connect(self._on_serving)
        self.worker.serve_failed.connect(
            lambda m: self.status_text.setText(self.tr("The API could not start: %1").replace("%1", m)))
        self.worker.loading.connect(self._on_loading)
        self.worker.ready.connect(self._on_ready)
        self.worker.load_failed.connect(self._on_load_failed)
        # Bound methods, not lambdas: only a receiver on this thread makes the connections queued.
        self.worker.event.connect(self._on_event)
        self.thread.start()
        self.talk_key = HoldKey(TALK_KEY, self)  # one hold of F8, auto-repeat or not, is one recording
        self.talk_key.pressed.connect(lambda: self.composer.start_recording())
        self.talk_key.released.connect(lambda: self.composer.stop_recording())
        QApplication.instance().installEventFilter(self.talk_key)

    @property
    def settings(self) -> Settings:
        """The settings in use (the session's: one value for the window and the chat)."""
        return self.session.settings

    @settings.setter
    def settings(self, value: Settings) -> None:
        self.session.settings = value

    # ---- language (the layout: ui.window_layout) ---------------------------------------------------------
    def retranslate(self) -> None:
        """Every visible string, in the current language."""
        self.setWindowTitle(self.tr("Omni Assistant"))
        self.sidebar.retranslate()
        self.messages.retranslate()
        self.template_label.setText(self.tr("Template:"))
        self.export_button.setText(self.tr("Export"))
        self.settings_button.setText(self.tr("Settings"))
        self.composer.retranslate()
        self.session.untitled = {"image": self.tr("Image question"), "audio": self.tr("Voice question"),
                                 "file": self.tr("Document question"), "fork": self.tr("%1 (edited)")}
        self._fill_templates()
        self._fill_switches()
        self._show_title()
        if not self.ready:
            self.status_text.setText(self.tr("Loading models in the background…"))

    # ---- conversations (the model and voice switches: ui.window_models) -----------------------------------
    def _set_busy(self, busy: bool) -> None:
        """While an answer streams, what would have to wait for it is visibly disabled (Stop and Esc stay)."""
        self.composer.set_busy(busy)
        self.voice_chat.answering = busy
        self.model_box.setEnabled(not busy)
        self.voice_box.setEnabled(not busy)
        self.sidebar.new_button.setEnabled(not busy)
        self.messages.set_actions_enabled(not busy)

    def _refuse_while_busy(self) -> None:
        self.status_text.setText(self.tr("An answer is still being written: stop it (Esc) first"))

    def new_conversation(self) -> None:
        """Start an empty conversation (created in the store with the first message)."""
        if not self.session.open(None):
            self._refuse_while_busy()
            return
        self.sidebar.list.clearSelection()
        self.messages.show_messages([])
        self._show_title()
        self.status_text.clear()
        self.composer.input.setFocus()

    def open_conversation(self, conversation_id: int) -> None:
        """Show a stored conversation."""
        if not self.session.open(conversation_id):
            self._refuse_while_busy()
            self.sidebar.refresh()  # the selection goes back to the conversation being answered
            return
        self.messages.show_messages(self.session.messages())
        self._show_title()
        self.sidebar.refresh()  # keeps the list's selection on the open conversation
        self.status_text.clear()  # the last answer's statistics belong to the conversation it was in

    def _on_deleted(self, _conversation_id: int) -> None:
        if self.session.conversation is None:  # the open one went: show an empty one
            self.new_conversation()

    def _fill_templates(self) -> None:
        self.template_box.blockSignals(True)
        self.template_box.clear()
        self.template_box.addItem(self.tr("None"), "")
        for t in self.settings.templates:
            shots = {"zero-shot": self.tr("zero-shot"), "one-shot": self.tr("one-shot")}.get(t.shots,
                                                                                              self.tr("few-shot"))
            self.template_box.addItem(f"{t.name} ({shots})", t.name)
        self.template_box.blockSignals(False)  # the selection is set by _show_title

    def _show_title(self) -> None:
        info = self.session.info()
        self.title.setText(info.title if info else self.tr("New conversation"))
        self.template_box.setCurrentIndex(max(0, self.template_box.findData(self.session.template)))

    # ---- attachments (reading aloud and the voice chat: ui.window_voice) -----------------------------------
    def dragEnterEvent(self, event) -> None:
        if event.mimeData().hasUrls() or event.mimeData().hasImage():
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:
        mime = event.mimeData()
        if mime.hasUrls():
            self.composer.add_files([Path(u.toLocalFile()) for u in mime.urls() if u.isLocalFile()])
        elif mime.hasImage():
            self.composer.add_pasted_image(QImage(mime.imageData()))
        event.acceptProposedAction()

    def _on_text(self, delta: str) -> None:
        self.messages.find(self.session.answer.id).append(delta)
        if self.speaks_answers and not self.session.stopping:  # a stopped answer's last words are not spoken
            self._reader().feed(delta)

    # ---- asking -------------------------------------------------------------------------------------------
    @property
    def busy(self) -> bool:
        """Whether an answer is streaming."""
        return self.session.busy

    def send(self) -> bool:
        """Send the input text and attachments as a question; False if there is nothing to send or no engine."""
        text = self.composer.input.toPlainText().strip()
        if self.busy or (not text and all(c.bad for c in self.composer.attachments.chips)):
            return False
        if not self.ready:
            self.status_text.setText(self.tr("The models are still loading; your message is kept."))
            return False
        self._ask(text, self.composer.attachments.take())
        self.composer.input.clear()
        return True

    def _ask(self, text: str, attachments: list[tuple[str, Path]]) -> None:
        """Send a question and show it, and its answer as it streams."""
        before, replacing = self.session.conversation, self.session.edit_from is not None
        request = self.session.send(text, attachments, self.template_box.currentData() or "")
        if self.session.conversation != before:  # created, or forked from an earlier question
            self.sidebar.refresh()
            self._show_title()
        stored = self.session.messages()
        if replacing:
            self.messages.show_messages(stored[:-2])  # the edited turn and after are gone (or were never in a fork)
        self.messages.add(stored[-2])
        self._answer(request)

    def _answer(self, request: Request) -> None:
        """Show the new answer's bubble and hand its request to the engine's thread."""
        self.messages.add(StoredMessage(self.session.answer.id, "assistant", "", "streaming"))
        self._dispatch(request)

    def _dispatch(self, request: Request) -> None:
        """Hand a request to the engine's thread; the answer's bubble is already shown."""
        self.messages.refresh_actions()
        if self.speaks_answers:
            self.stop_speaking()  # this answer is read from its first sentence
        self._set_busy(True)
        self.status_text.setText(self.tr("Answering…"))  # not "Editing…", "Listening…" or the last answer's stats
        self.request_respond.emit(request.id, request.conversation, request.options, request.voice_mode,
                                  request.cancel)

    def stop(self) -> None:
        """Stop the streaming answer (it is kept, marked stopped) and any reading aloud."""
        self.session.stop()
        self.stop_speaking()

    @when_idle
    def regenerate(self) -> None:
        """Answer the last question again."""
        request = self.session.regenerate()
        if request is not None:
            self.messages.remove(self.messages.widgets()[-1])  # only the old answer goes; nothing is re-rendered
            self._answer(request)
            self.composer.input.setFocus()  # the pressed button went with its bubble: not on to the search box

    @when_idle
    def show_version(self, index: int) -> None:
        """Show another version of the last answer; the conversation goes on from the one shown."""
        shown = self.session.show_version(index)
        if shown is None:
            return
        self.messages.remove(self.messages.widgets()[-1])
        self.messages.add(shown)
        self.messages.refresh_actions()
        self.status_text.setText(self.messages.stats(shown.meta))

    @when_idle
    def continue_answer(self) -> None:
        """Go on with the last answer where the length limit cut it, in the same bubble."""
        request = self.session.continue_answer()
        if request is None:
            return
        widget = self.messages.find(self.session.answer.id)
        widget.set_header(self.messages.header("assistant", "streaming"))
        widget.cut, widget.streaming = False, True
        self._dispatch(request)

    @when_idle
    def edit_question(self, question_id: int) -> None:
        """Put a question back in the input box. Sending replaces the last question and what followed it; an
        earlier one goes on in a copy of the conversation from there (a fork), and this one is kept."""
        question = self.session.edit(question_id)
        if question is None:
            return
        text, attachments = self.session.draft(question)
        self.composer.input.setPlainText(text)
        self.composer.discard()
        for a in attachments:
            self.composer.attachments.add(a.kind, a.path, a.name)
        self.composer.input.setFocus()
        last = question.id == self.session.last_question()
        self.status_text.setText(self.tr("Editing the last question; send to replace it") if last else
                                 self.tr("Editing an earlier question; sending starts a copy of this conversation "
                                         "from there, and this one is kept"))

    def edit_last(self) -> None:
        """Edit the last question."""
        last = self.session.last_question()
        if last is not None:
            self.edit_question(last)

    # ---- the session's answer -------------------------------------------------------------------------------
    def _on_heard(self, text: str) -> None:
        question = self.messages.find(self.session.answer.question_id)
        if question is not None:
            self.messages.set_heard(question, text)
        self._show_title()  # a spoken first question titles its conversation by what was heard
        self.sidebar.refresh()

    def _on_answered(self, answer: Answer) -> None:
        self.messages.finish(answer.id, answer.status, answer.meta)  # the other messages are not re-rendered
        if self.speaks_answers and self.reader is not None and answer.status != "stopped":
            self.reader.finish()
        self._set_busy(False)
        if self.ready:
            self.progress.hide()  # shown for a model the answer loaded on first use
        self.sidebar.refresh()
        self.status_text.setText(self.tr("Could not answer: %1").replace("%1", answer.meta["error"])
                                 if answer.status == "error" else self.messages.stats(answer.meta))
        self.voice_chat.answered()  # it may ask what it heard while this answer was stopped

    # ---- worker signals (loading and serving: ui.window_models) --------------------------------------------
    def _on_event(self, request: int, event) -> None:
        self.session.feed(request, event)  # a bound method: runs on the GUI thread, where History lives

    def closeEvent(self, event) -> None:
        self.stop()
        self.worker.close()  # stops the API and waits for the engine thread; late events find no answer below
        if self.composer.recorder.recording:
            self.composer.recorder.stop()
        self.composer.discard()  # unsent recordings and pasted images go with the window
        self.voice_chat.close()  # their ONNX sessions are released now, not at exit
        if self.reader is not None:
            self.reader.close()
        QApplication.instance().removeEventFilter(self.talk_key)
        self.thread.quit()
        self.thread.wait(10_000)
        self.session.close()  # closed mid-answer: keep what was there
        super().closeEvent(event)
