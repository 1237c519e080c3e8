"""The main window: conversation list, streaming chat, attachments, push-to-talk, settings."""

from __future__ import annotations

import functools
import threading
from dataclasses import replace
from pathlib import Path

from PySide6.QtCore import Qt, QThread, QUrl, Signal
from PySide6.QtGui import QAction, QGuiApplication, QImage, QKeySequence
from PySide6.QtWidgets import (QApplication, QComboBox, QHBoxLayout, QLabel, QMainWindow, QProgressBar, QPushButton,
                               QSplitter, QVBoxLayout, QWidget)

from assistant.history import History, StoredMessage
from assistant.session import Answer, ChatSession, Request
from assistant.settings import Settings
from ui.composer import Composer
from ui.conversations import ConversationList
from ui.hold import HoldKey
from ui.messages import MessageView
from ui.theme import apply_theme, resolve_theme
from ui.voice_chat import VoiceChat
from ui.widgets import ElidedLabel
from ui.worker import EngineWorker

TALK_KEY = Qt.Key_F8
VOICE_CHAT_KEY = Qt.Key_F9
INSTALL = "install:"  # the model box's last entry, which opens the Install dialog (no model has this name)
MIN_WIDTH, MIN_HEIGHT = 860, 500  # the smallest window whose every control fits without scrolling sideways


def when_idle(action):
    """A window action that must wait for the streaming answer: while one streams it is refused, with a message."""
    @functools.wraps(action)
    def run(self, *args):
        if self.busy:
            self._refuse_while_busy()
            return None
        return action(self, *args)
    return run


class MainWindow(QMainWindow):
    """One window for text, images, voice and files. It renders a ChatSession; the engine lives on a worker thread."""

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

    # ---- layout -----------------------------------------------------------------------------------------
    def _build(self, colours: dict) -> None:
        self.resize(1100, 760)
        self.setAcceptDrops(True)
        self.sidebar = ConversationList(self.session)
        self.sidebar.new_requested.connect(self.new_conversation)
        self.sidebar.picked.connect(self.open_conversation)
        self.sidebar.renamed.connect(self._show_title)
        self.sidebar.deleted.connect(self._on_deleted)

        chat = QWidget()
        chat_layout = QVBoxLayout(chat)
        top = QHBoxLayout()
        self.title = ElidedLabel()
        self.title.setStyleSheet("font-weight: 600; font-size: 15px")
        self.template_box = QComboBox()
        self.template_box.activated.connect(lambda i: self.session.set_template(self.template_box.itemData(i)))
        self.export_button = QPushButton()
        self.export_button.clicked.connect(lambda: self.sidebar.export())
        self.settings_button = QPushButton()
        self.settings_button.clicked.connect(self.open_settings)
        top.addWidget(self.title, 1)
        self.model_box, self.voice_box = QComboBox(), QComboBox()  # switched from the chat, saved as settings
        self.model_box.activated.connect(self._switch_model)
        self.voice_box.activated.connect(
            lambda i: self.apply_settings(replace(self.settings, voice_mode=self.voice_box.itemData(i))))
        top.addWidget(self.model_box)
        top.addWidget(self.voice_box)
        for box in (self.model_box, self.template_box):  # long names shrink with the window
            box.setSizeAdjustPolicy(QComboBox.AdjustToMinimumContentsLengthWithIcon)
            box.setMinimumContentsLength(9)
        self.voice_box.setSizeAdjustPolicy(QComboBox.AdjustToContents)  # two short labels: always whole
        self.template_label = QLabel()
        top.addWidget(self.template_label)
        top.addWidget(self.template_box)
        top.addWidget(self.export_button)
        top.addWidget(self.settings_button)
        chat_layout.addLayout(top)

        self.messages = MessageView(colours["muted"])
        self.messages.dark = resolve_theme(self.settings.theme) == "dark"
        self.messages.regenerate.connect(self.regenerate)
        self.messages.continue_answer.connect(self.continue_answer)
        self.messages.read_aloud.connect(self.read_aloud)
        self.messages.version_requested.connect(self.show_version)
        self.messages.edit.connect(self.edit_question)
        self.messages.play.connect(self.play_audio)
        chat_layout.addWidget(self.messages, 1)
        self.composer = Composer(self.session)
        self.composer.submit.connect(self.send)
        self.composer.stop.connect(self.stop)
        self.composer.play.connect(self.play_audio)
        self.composer.folder_chosen.connect(self._remember_folder)
        self.composer.converse_button.toggled.connect(self.set_voice_chat)
        self.voice_chat.level.connect(lambda v: self.composer.level.setValue(int(v * 100)))
        self.voice_chat.status.connect(lambda text: self.status_text.setText(text))
        for view in (self.messages, self.sidebar, self.composer):
            view.notice.connect(lambda text: self.status_text.setText(text))
        chat_layout.addWidget(self.composer)

        split = QSplitter()
        split.addWidget(self.sidebar)
        split.addWidget(chat)
        split.setSizes([260, 840])
        split.setStretchFactor(1, 1)  # resizing the window resizes the chat; the sidebar keeps its width
        split.setCollapsible(1, False)
        self.sidebar.setMinimumWidth(160)
        self.setMinimumSize(MIN_WIDTH, MIN_HEIGHT)
        self.setCentralWidget(split)
        self.progress = QProgressBar()
        self.progress.setRange(0, 0)
        self.progress.setMaximumWidth(160)
        self.status_text = ElidedLabel()  # a long error never widens the window
        self.statusBar().addWidget(self.status_text, 1)
        self.statusBar().addPermanentWidget(self.progress)
        self.find_action = self._shortcut(QKeySequence.Find, self.sidebar.search.setFocus)
        self.stop_action = self._shortcut(QKeySequence(Qt.Key_Escape), self.stop)
        self.new_action = self._shortcut(QKeySequence.New, self.new_conversation)
        self.settings_action = self._shortcut(QKeySequence("Ctrl+,"), self.open_settings)
        self.voice_chat_action = self._shortcut(QKeySequence(VOICE_CHAT_KEY), self.composer.converse_button.click)

    def _shortcut(self, keys: QKeySequence, slot) -> QAction:
        action = QAction(self)
        action.setShortcut(keys)
        action.triggered.connect(lambda: slot())  # a lambda: the slot looks up the method when triggered
        self.addAction(action)
        return action

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

    # ---- conversations ----------------------------------------------------------------------------------
    def _fill_switches(self) -> None:
        """The model and voice-mode boxes above the chat, showing the settings in use."""
        from models.weights import canonical
        from ui.settings_dialog import llm_choices, voice_choices

        current = self.settings.engine.llm
        choices = llm_choices(short=True)
        if all(canonical(value) != canonical(current) for value, _ in choices):
            choices.append((current, current))  # a path or Hugging Face id chosen in settings
        for box, values, chosen in ((self.model_box, choices, canonical(current)),
                                    (self.voice_box, voice_choices(short=True), self.settings.voice_mode)):
            box.clear()
            for value, label in values:
                box.addItem(label, value)
            box.setCurrentIndex(next(i for i, (v, _) in enumerate(values) if canonical(v) == chosen))
        self.model_box.insertSeparator(self.model_box.count())
        self.model_box.addItem(self.tr("Install a model…"), INSTALL)
        self.model_box.setToolTip(self.tr("The model that answers (loads in the background): %1").replace(
            "%1", canonical(current)))
        self.voice_box.setToolTip(self.tr("How a spoken question reaches the model"))

    def _switch_model(self, index: int) -> None:
        from models.weights import canonical

        value = self.model_box.itemData(index)
        if value == INSTALL:
            value = self.install_model()
            self._fill_switches()  # the new model is listed; the box shows the model in use until it is chosen
            if value is None:
                return
        if canonical(value) != canonical(self.settings.engine.llm):
            self.apply_settings(replace(self.settings, engine=replace(self.settings.engine, llm=value)))

    def install_model(self) -> str | None:
        """The Install dialog; the name of the model it installed, if any."""
        from ui.install_dialog import InstallDialog

        dialog = InstallDialog(self)
        dialog.exec()
        return dialog.installed_name

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

    # ---- attachments and voice ----------------------------------------------------------------------------
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

    @property
    def speaks_answers(self) -> bool:
        """Whether answers are read aloud as they stream: the setting says so, or a voice chat is on."""
        return self.settings.read_aloud or self.voice_chat.on

    def _reader(self):
        """The read-aloud queue (made on first use: it loads the voice and opens the sound output)."""
        if self.reader is None:
            from ui.read_aloud import ReadAloud

            self.reader = ReadAloud(self)
            self.reader.player.started.connect(self._on_sentence_started)
            self.reader.player.finished.connect(lambda: self.voice_chat.set_speaking(False))
            self.reader.failed.connect(
                lambda m: self.status_text.setText(self.tr("Could not read aloud: %1").replace("%1", m)))
            self.reader.warm()
        return self.reader

    @property
    def speaking(self) -> bool:
        """An answer is being read aloud (a sentence plays or waits to)."""
        return self.reader is not None and self.reader.speaking

    def read_aloud(self, text: str) -> None:
        """Speak an answer (offline voices); it starts as soon as its first sentence is synthesized."""
        self.stop_speaking()
        self.status_text.setText(self.tr("Reading aloud…"))
        self._reader().read(text)

    def stop_speaking(self) -> None:
        """Silence: what is queued is dropped, what plays stops."""
        if self.reader is not None:
            self.reader.stop()
        self.voice_chat.set_speaking(False)

    def _on_sentence_started(self) -> None:
        self.voice_chat.set_speaking(True)
        self.voice_chat.sentence_started()

    def play_audio(self, path: Path) -> None:
        """Play a recording or audio attachment (reading aloud stops)."""
        from PySide6.QtMultimedia import QAudioOutput, QMediaPlayer

        self.stop_speaking()
        if self.player is None:
            self.player = QMediaPlayer(self)
            self.player.setAudioOutput(QAudioOutput(self.player))
        self.player.setSource(QUrl.fromLocalFile(str(path)))
        self.player.play()

    # ---- voice chat ---------------------------------------------------------------------------------------
    def set_voice_chat(self, on: bool) -> None:
        """The hands-free voice chat (ui.voice_chat): the app listens, answers aloud and listens again; talking over
        an answer stops it. The Voice chat button and F9 toggle it."""
        if on == self.voice_chat.on:
            return
        if not on:
            self.voice_chat.stop()
            self.composer.level.hide()
            return
        if not self.ready:
            self.status_text.setText(self.tr("The models are still loading; start the voice chat when they are ready"))
        elif self.composer.recorder.recording:  # push-to-talk is let go of: the voice chat takes the microphone
            self.composer.stop_recording(send=False)
        if not self.ready or not self.voice_chat.start(self.settings.microphone, self.settings.barge_in):
            self.composer.converse_button.setChecked(False)
            return
        self._reader()  # the voice loads and the sound output opens now, not when the first answer is ready
        self.composer.level.show()

    def _rehearse(self, wav: bytes, pause: int) -> None:
        """Work ahead on what the voice chat heard up to a pause (Session.rehearsal); an earlier rehearsal is called
        off (the words it had are out of date), as it is when speech resumes."""
        request = self.session.rehearsal(wav) if self.ready else None
        if request is None:
            return
        if self.rehearsing is not None:
            self.rehearsing.set()
        self.rehearsing = request.cancel
        self.request_rehearse.emit(request.conversation, request.options, request.voice_mode, request.cancel, pause)

    def _ask_aloud(self, wav: bytes) -> None:
        """Send what the voice chat heard as a spoken question (kept as its audio attachment)."""
        self._ask("", [("audio", self.history.capture(wav, "question", ".wav"))])

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
        # A spoken question comes back as the words heard, to correct a mishearing, not as its recording.
        heard = question.meta.get("transcript", "") if not question.text.strip() else ""
        self.composer.input.setPlainText(question.text or heard)
        self.composer.discard()
        for a in question.attachments:
            if not (heard and a.kind == "audio"):
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

    # ---- worker signals -------------------------------------------------------------------------------------
    def _on_event(self, request: int, event) -> None:
        self.session.feed(request, event)  # a bound method: runs on the GUI thread, where History lives

    def _on_loading(self, stage: str) -> None:
        """A loading step: its name in the UI's language, and how far along loading is where the step is known."""
        steps = {"starting": self.tr("the engine"), "loading llm model": self.tr("the language model"),
                 "loading whisper model": self.tr("the speech model"),
                 "loading vision model": self.tr("the vision model")}  # Engine.preload's order
        self.progress.show()
        if self.ready:  # a model loaded on first use while an answer waits (OCR, say): until that answer ends
            self.progress.setRange(0, 0)
            self.status_text.setText(self.tr("Loading: %1").replace("%1", stage.removeprefix("loading ")))
        elif stage in steps:
            done = list(steps).index(stage)
            self.progress.setRange(0, 100)
            self.progress.setValue(100 * done // len(steps))
            self.status_text.setText(self.tr("Loading %1 (step %2 of %3, %4%)").replace("%1", steps[stage]).replace(
                "%2", str(done + 1)).replace("%3", str(len(steps))).replace("%4", str(self.progress.value())))
        elif stage.startswith("preparing "):  # the weights are converted into the cache: minutes, once
            self.progress.setRange(0, 0)
            self.status_text.setText(self.tr("First run: preparing %1 (once; this can take a few minutes)").replace(
                "%1", stage.removeprefix("preparing ")))
        else:  # a step this window does not know (a remote endpoint's, say): shown as it came, no percentage
            self.progress.setRange(0, 0)
            self.status_text.setText(self.tr("Loading: %1").replace("%1", stage))

    def _on_ready(self, models: dict, seconds: float) -> None:
        self.ready = True
        self.progress.setRange(0, 100)
        self.progress.setValue(100)
        self.progress.hide()
        note = self.tr("Ready: %1 (loaded in %2 s)").replace("%1", models.get("llm", "")).replace(
            "%2", f"{seconds:.1f}")
        if self.session.recovered:
            note += " · " + self.tr("%1 interrupted answer(s) from the last session were kept").replace(
                "%1", str(self.session.recovered))
        self.status_text.setText(note)
        if self.settings.server_enabled:
            self.request_serve.emit(self.settings)

    def _on_serving(self, url: str) -> None:
        self.api_url = url
        self.status_text.setText(self.tr("API serving at %1").replace("%1", url) if url else self.tr("API stopped"))

    def _on_load_failed(self, message: str) -> None:
        self.progress.hide()
        self.status_text.setText(self.tr("Could not load the models: %1").replace("%1", message))

    # ---- settings -------------------------------------------------------------------------------------------
    def open_settings(self) -> None:
        """The settings dialog; applies and saves on OK."""
        from ui.settings_dialog import SettingsDialog

        dialog = SettingsDialog(self.settings, self)
        if dialog.exec():
            self.apply_settings(dialog.result_settings())

    def _remember_folder(self, folder: str) -> None:
        """The Attach dialog opens where files were last picked, also after a restart."""
        if folder != self.settings.attach_folder:
            self.settings = replace(self.settings, attach_folder=folder)
            self.settings.save(self.settings_path)

    def _on_system_scheme(self, _scheme) -> None:
        """The desktop switched between light and dark: follow it when the theme is "system"."""
        if self.settings.theme == "system":
            self.apply_settings(self.settings)

    def apply_settings(self, new: Settings) -> None:
        """Use new settings: theme and language now, models reloaded in the background if they changed."""
        from ui.i18n import install_language

        reload = new.engine != self.settings.engine  # the whole config: models, device, limits, endpoint
        reserve = any(getattr(new, k) != getattr(self.settings, k)
                      for k in ("server_enabled", "server_port", "server_key"))
        language_changed = new.language != self.settings.language
        self.settings = new
        new.save(self.settings_path)
        apply_theme(QApplication.instance(), new.theme, new.font_size)
        if language_changed:
            install_language(QApplication.instance(), new.language)
        self.retranslate()
        self.messages.dark = resolve_theme(new.theme) == "dark"
        if self.session.conversation is not None and not self.busy:
            self.messages.show_messages(self.session.messages())
        if reload and not self.busy:
            self.load_models()  # serving restarts once the new models are ready
        elif reserve:
            self.request_serve.emit(new)

    def load_models(self) -> None:
        """Start (re)loading the models on the worker thread."""
        self.ready = False
        self.progress.show()
        self.request_load.emit(self.settings.engine)

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
