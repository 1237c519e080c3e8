"""The main window: conversation list, streaming chat, attachments, push-to-talk, settings."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from PySide6.QtCore import QBuffer, QByteArray, QEvent, QIODevice, QObject, Qt, QThread, QUrl, Signal
from PySide6.QtGui import QAction, QImage, QKeySequence
from PySide6.QtWidgets import (QApplication, QComboBox, QFileDialog, QHBoxLayout, QInputDialog, QLabel, QLineEdit,
                               QListWidget, QListWidgetItem, QMainWindow, QMenu, QMessageBox, QProgressBar,
                               QPushButton, QScrollArea, QSplitter, QVBoxLayout, QWidget)

from assistant.conversation import Done
from assistant.history import History, StoredMessage
from assistant.privacy import StreamMasker
from assistant.settings import Settings
from assistant.templates import PromptTemplate
from models.generation import SamplingOptions
from ui.recorder import Recorder
from ui.theme import apply_theme
from ui.widgets import AttachmentBar, InputBox, MessageWidget, kind_of
from ui.worker import EngineWorker

TALK_KEY = Qt.Key_F8
QUICK_ACTIONS = {  # sent in English: the bundled LLM follows English instructions best
    "summarize": "Summarize the attached file in a few sentences.",
    "explain": "Explain what this code does, step by step.",
    "table": "Describe this table: its columns, size and notable values.",
    "extract": "Extract the text from the attached file.",
}
SAVE_EVERY_S = 0.5  # partial answers reach the database at least this often


class MainWindow(QMainWindow):
    """One window for text, images, voice and files. The engine lives on a worker thread."""

    request_load = Signal(object)
    request_respond = Signal(int, object, object, str, object)
    request_serve = Signal(object)

    def __init__(self, settings: Settings, history: History, engine_factory, settings_path: Path | None = None):
        super().__init__()
        self.settings, self.history = settings, history
        self.settings_path = settings_path
        self.conversation: int | None = None
        self.ready = False
        self.models: dict = {}
        self.request = 0
        self.answer: MessageWidget | None = None
        self.answer_id: int | None = None
        self.question_widget: MessageWidget | None = None
        self.question_id: int | None = None
        self.cancel: threading.Event | None = None
        self.masker: StreamMasker | None = None
        self.saved_at = 0.0
        self.edit_from: int | None = None
        self.player = None
        self.recorder = Recorder(self)
        self.colours = apply_theme(QApplication.instance(), settings.theme)
        self._build()
        self.recover_note = history.recover()
        self.refresh_list()
        self.retranslate()
        # The engine's thread: every model call happens there, never on this one.
        self.thread = QThread(self)
        self.worker = EngineWorker(engine_factory)
        self.worker.moveToThread(self.thread)
        self.request_load.connect(self.worker.load)
        self.request_respond.connect(self.worker.respond)
        self.request_serve.connect(self.worker.serve)
        self.api_url = ""
        self.worker.serving.connect(self._on_serving)
        self.worker.serve_failed.connect(
            lambda m: self.status_text.setText(self.tr("The API could not start: %1").replace("%1", m)))
        self.worker.loading.connect(self._on_loading)
        self.worker.ready.connect(self._on_ready)
        self.worker.load_failed.connect(self._on_load_failed)
        self.worker.token.connect(self._on_token)
        self.worker.transcript.connect(self._on_transcript)
        self.worker.finished.connect(self._on_finished)
        self.worker.failed.connect(self._on_failed)
        self.thread.start()
        QApplication.instance().installEventFilter(self)

    # ---- layout -----------------------------------------------------------------------------------------
    def _build(self) -> None:
        self.resize(1100, 760)
        self.setAcceptDrops(True)
        side = QWidget()
        side_layout = QVBoxLayout(side)
        self.new_button = QPushButton()
        self.new_button.clicked.connect(self.new_conversation)
        self.search = QLineEdit()
        self.search.setClearButtonEnabled(True)
        self.search.textChanged.connect(self.refresh_list)
        self.list = QListWidget()
        self.list.setTextElideMode(Qt.ElideRight)
        self.list.setHorizontalScrollBarPolicy(Qt.ScrollBarAlwaysOff)
        self.list.currentItemChanged.connect(self._on_pick)
        self.list.setContextMenuPolicy(Qt.CustomContextMenu)
        self.list.customContextMenuRequested.connect(self._list_menu)
        self.list.itemDoubleClicked.connect(lambda item: self.rename_conversation(item.data(Qt.UserRole)))
        side_layout.addWidget(self.new_button)
        side_layout.addWidget(self.search)
        side_layout.addWidget(self.list)

        chat = QWidget()
        chat_layout = QVBoxLayout(chat)
        top = QHBoxLayout()
        self.title = QLabel()
        self.title.setStyleSheet("font-weight: 600; font-size: 15px")
        self.template_box = QComboBox()
        self.template_box.activated.connect(self._on_template)
        self.export_button = QPushButton()
        self.export_button.clicked.connect(self.export_conversation)
        self.settings_button = QPushButton()
        self.settings_button.clicked.connect(self.open_settings)
        top.addWidget(self.title, 1)
        self.template_label = QLabel()
        top.addWidget(self.template_label)
        top.addWidget(self.template_box)
        top.addWidget(self.export_button)
        top.addWidget(self.settings_button)
        chat_layout.addLayout(top)

        self.scroll = QScrollArea()
        self.scroll.setWidgetResizable(True)
        self.scroll.setFrameShape(QScrollArea.NoFrame)
        self.thread_widget = QWidget()
        self.messages_layout = QVBoxLayout(self.thread_widget)
        self.messages_layout.addStretch()
        self.scroll.setWidget(self.thread_widget)
        self.scroll.verticalScrollBar().rangeChanged.connect(self._stick_to_bottom)
        self.empty = QLabel()
        self.empty.setAlignment(Qt.AlignCenter)
        self.empty.setWordWrap(True)
        self.empty.setMinimumHeight(360)
        self.empty.setStyleSheet(f"color: {self.colours['muted']}; font-size: 15px")
        self.messages_layout.insertWidget(0, self.empty)
        chat_layout.addWidget(self.scroll, 1)

        self.attachments = AttachmentBar()
        self.attachments.play.connect(self.play_audio)
        self.attachments.changed.connect(self._offer_actions)
        self.attachments.discarded.connect(self.history.discard)  # a removed recording leaves no file behind
        chat_layout.addWidget(self.attachments)
        self.actions_row = QHBoxLayout()
        self.quick: dict[str, QPushButton] = {}
        for key in QUICK_ACTIONS:
            button = QPushButton()
            button.setObjectName(f"quick-{key}")
            button.clicked.connect(lambda _=False, key=key: self.quick_action(key))
            button.hide()
            self.quick[key] = button
            self.actions_row.addWidget(button)
        self.actions_row.addStretch()
        chat_layout.addLayout(self.actions_row)
        row = QHBoxLayout()
        self.attach_button = QPushButton()
        self.attach_button.clicked.connect(self.pick_files)
        self.talk_button = QPushButton()
        self.talk_button.setObjectName("talk")
        self.talk_button.pressed.connect(self.start_recording)
        self.talk_button.released.connect(self.stop_recording)
        self.input = InputBox()
        self.input.setFixedHeight(72)
        self.input.submit.connect(self.send)
        self.input.image_pasted.connect(self.add_pasted_image)
        self.input.files_pasted.connect(self.add_files)
        self.send_button = QPushButton()
        self.send_button.setObjectName("send")
        self.send_button.clicked.connect(self.send)
        self.stop_button = QPushButton()
        self.stop_button.clicked.connect(self.stop)
        self.stop_button.hide()
        tools = QVBoxLayout()
        tools.addWidget(self.attach_button)
        tools.addWidget(self.talk_button)
        row.addLayout(tools)
        row.addWidget(self.input, 1)
        buttons = QVBoxLayout()
        buttons.addWidget(self.send_button)
        buttons.addWidget(self.stop_button)
        row.addLayout(buttons)
        chat_layout.addLayout(row)
        self.level = QProgressBar()
        self.level.setRange(0, 100)
        self.level.setTextVisible(False)
        self.level.setFixedHeight(10)
        self.level.hide()
        self.recorder.level.connect(lambda v: self.level.setValue(int(v * 100)))
        self.recorder.failed.connect(self._on_mic_failed)
        chat_layout.addWidget(self.level)

        split = QSplitter()
        split.addWidget(side)
        split.addWidget(chat)
        split.setSizes([260, 840])
        self.setCentralWidget(split)
        self.progress = QProgressBar()
        self.progress.setRange(0, 0)
        self.progress.setMaximumWidth(160)
        self.status_text = QLabel()
        self.statusBar().addWidget(self.status_text, 1)
        self.statusBar().addPermanentWidget(self.progress)
        paste = QAction(self)
        paste.setShortcut(QKeySequence.Paste)
        self.find_action = QAction(self)
        self.find_action.setShortcut(QKeySequence.Find)
        self.find_action.triggered.connect(self.search.setFocus)
        self.addAction(self.find_action)

    def retranslate(self) -> None:
        """Every visible string, in the current language."""
        self.setWindowTitle(self.tr("Omni Assistant"))
        self.new_button.setText(self.tr("New conversation"))
        self.search.setPlaceholderText(self.tr("Search conversations"))
        self.template_label.setText(self.tr("Template:"))
        self.export_button.setText(self.tr("Export"))
        self.settings_button.setText(self.tr("Settings"))
        self.attach_button.setText(self.tr("Attach"))
        self.talk_button.setText(self.tr("Hold to talk (F8)"))
        self.send_button.setText(self.tr("Send"))
        self.stop_button.setText(self.tr("Stop"))
        self.input.setPlaceholderText(self.tr("Ask anything. Enter sends, Shift+Enter adds a line. Paste or drop "
                                              "images, audio and documents."))
        self.empty.setText(self.tr("Type a question, drop an image or a document, or hold F8 and speak."))
        labels = {"summarize": self.tr("Summarize"), "explain": self.tr("Explain this code"),
                  "table": self.tr("Describe this table"), "extract": self.tr("Extract the text")}
        for key, button in self.quick.items():
            button.setText(labels[key])
        self._fill_templates()
        self._show_title()
        if not self.ready:
            self.status_text.setText(self.tr("Loading models in the background…"))

    # ---- conversations ----------------------------------------------------------------------------------
    def refresh_list(self) -> None:
        """Reload the conversation list (filtered by the search box)."""
        self.list.blockSignals(True)
        self.list.clear()
        for info in self.history.conversations(self.search.text().strip()):
            item = QListWidgetItem(info.title)
            item.setData(Qt.UserRole, info.id)
            self.list.addItem(item)
            if info.id == self.conversation:
                self.list.setCurrentItem(item)
        self.list.blockSignals(False)

    def new_conversation(self) -> None:
        """Start an empty conversation (created in the store with the first message)."""
        if self.busy:
            return
        self.conversation = None
        self.edit_from = None
        self.list.clearSelection()
        self._show_messages([])
        self._show_title()
        self.input.setFocus()

    def open_conversation(self, conversation_id: int) -> None:
        """Show a stored conversation."""
        if self.busy:
            return
        self.conversation = conversation_id
        self.edit_from = None
        self._show_messages(self.history.messages(conversation_id))
        self._show_title()
        self.refresh_list()  # keeps the list's selection on the open conversation

    def _on_pick(self, item, _previous=None) -> None:
        if item is not None and item.data(Qt.UserRole) != self.conversation:
            self.open_conversation(item.data(Qt.UserRole))

    def _list_menu(self, pos) -> None:
        item = self.list.itemAt(pos)
        if item is None:
            return
        cid = item.data(Qt.UserRole)
        menu = QMenu(self)
        menu.addAction(self.tr("Rename"), lambda: self.rename_conversation(cid))
        menu.addAction(self.tr("Export to Markdown"), lambda: self.export_conversation(cid))
        menu.addAction(self.tr("Delete"), lambda: self.delete_conversation(cid))
        menu.exec(self.list.mapToGlobal(pos))

    def rename_conversation(self, conversation_id: int, title: str | None = None) -> None:
        """Rename (asks for the title unless given)."""
        if title is None:
            title, ok = QInputDialog.getText(self, self.tr("Rename"), self.tr("Title:"),
                                             text=self.history.info(conversation_id).title)
            if not ok:
                return
        if title.strip():
            self.history.rename(conversation_id, title)
            self.refresh_list()
            self._show_title()

    def delete_conversation(self, conversation_id: int, confirm: bool = True) -> None:
        """Delete after confirmation."""
        if self.busy and conversation_id == self.conversation:
            return
        if confirm and QMessageBox.question(self, self.tr("Delete"), self.tr("Delete this conversation?")) \
                != QMessageBox.Yes:
            return
        self.history.delete(conversation_id)
        if conversation_id == self.conversation:
            self.new_conversation()
        self.refresh_list()

    def export_conversation(self, conversation_id: int | None = None, path: Path | None = None) -> Path | None:
        """Write the conversation as Markdown (asks where unless given)."""
        cid = conversation_id or self.conversation
        if cid is None:
            return None
        if path is None:
            name, _ = QFileDialog.getSaveFileName(self, self.tr("Export"), str(Path.home() / "conversation.md"),
                                                  "Markdown (*.md)")
            if not name:
                return None
            path = Path(name)
        path.write_text(self.history.export_markdown(cid), encoding="utf-8")
        self.status_text.setText(self.tr("Exported to %1").replace("%1", str(path)))
        return path

    def _fill_templates(self) -> None:
        self.template_box.blockSignals(True)
        self.template_box.clear()
        self.template_box.addItem(self.tr("None"), "")
        for t in self.settings.templates:
            shots = {"zero-shot": self.tr("zero-shot"), "one-shot": self.tr("one-shot")}.get(t.shots,
                                                                                              self.tr("few-shot"))
            self.template_box.addItem(f"{t.name} ({shots})", t.name)
        self.template_box.blockSignals(False)  # the selection is set by _show_title

    def _on_template(self, index: int) -> None:
        name = self.template_box.itemData(index)
        if self.conversation is not None:
            self.history.set_template(self.conversation, name)

    def _show_title(self) -> None:
        info = self.history.info(self.conversation) if self.conversation else None
        self.title.setText(info.title if info else self.tr("New conversation"))
        current = info.template if info else self.settings.template
        self.template_box.setCurrentIndex(max(0, self.template_box.findData(current)))

    # ---- the message thread -------------------------------------------------------------------------------
    def _clear_messages(self) -> None:
        for widget in self.message_widgets():
            self._remove_widget(widget)

    def _remove_widget(self, widget: MessageWidget) -> None:
        self.messages_layout.removeWidget(widget)
        widget.hide()  # now: deleteLater only runs once control is back in the event loop
        widget.setParent(None)
        widget.deleteLater()

    def _show_messages(self, messages: list[StoredMessage]) -> None:
        self._clear_messages()
        self.empty.setVisible(not messages)
        for m in messages:
            self._add_widget(m)
        self._refresh_actions()

    def _refresh_actions(self) -> None:
        """Edit only on the last question, Regenerate only on the answer after it (no re-rendering)."""
        widgets = self.message_widgets()
        last_user = max((i for i, w in enumerate(widgets) if w.role == "user"), default=-1)
        last_answer = max((i for i, w in enumerate(widgets) if w.role == "assistant"), default=-1)
        for i, w in enumerate(widgets):
            w.edit_button.setVisible(i == last_user)
            w.regenerate_button.setVisible(i == last_answer and i > last_user)

    def _add_widget(self, m: StoredMessage) -> MessageWidget:
        w = MessageWidget(m.role, m.text, m.status, m.attachments, dark=self.settings.theme == "dark")
        w.set_header(self._header(m.role, m.status))
        w.message_id = m.id
        for chip in w.chips:
            chip.play.connect(self.play_audio)
        if m.meta.get("transcript"):
            w.set_heard(self.tr("Heard: %1").replace("%1", m.meta["transcript"]))
        if m.role == "assistant":
            w.meta.setText(self._stats(m.meta))
            copy = QPushButton(self.tr("Copy"))
            copy.clicked.connect(lambda _=False, w=w: QApplication.clipboard().setText(w.text))
            w.add_action(copy)
        w.regenerate_button = QPushButton(self.tr("Regenerate"))
        w.regenerate_button.setObjectName("regenerate")
        w.regenerate_button.clicked.connect(self.regenerate)
        w.edit_button = QPushButton(self.tr("Edit"))
        w.edit_button.setObjectName("edit")
        w.edit_button.clicked.connect(self.edit_last)
        for button in (w.regenerate_button, w.edit_button):
            button.hide()  # _refresh_actions shows the one that applies
            w.add_action(button)
        w.copy_code.connect(lambda _: self.status_text.setText(self.tr("Code copied")))
        self.messages_layout.insertWidget(self.messages_layout.count() - 1, w)
        self.empty.hide()
        return w

    def _header(self, role: str, status: str) -> str:
        who = self.tr("You") if role == "user" else self.tr("Assistant")
        note = {"interrupted": self.tr("interrupted"), "stopped": self.tr("stopped"), "error": self.tr("error"),
                "streaming": "…"}.get(status, "")
        return f"{who} · {note}" if note else who

    def _stats(self, meta: dict) -> str:
        if "ttft_ms" not in meta:
            return ""
        text = self.tr("%1 · first token %2 ms · %3 tokens/s").replace("%1", meta.get("model", "")).replace(
            "%2", f"{meta['ttft_ms']:.0f}").replace("%3", f"{meta.get('tokens_per_s', 0):.1f}")
        if meta.get("sources"):
            text += "\n" + self.tr("Sources: %1").replace("%1", "; ".join(meta["sources"]))
        return text

    def _stick_to_bottom(self, _low, high) -> None:
        self.scroll.verticalScrollBar().setValue(high)

    def message_widgets(self) -> list[MessageWidget]:
        """The messages on screen, oldest first."""
        return [self.messages_layout.itemAt(i).widget() for i in range(1, self.messages_layout.count() - 1)
                if isinstance(self.messages_layout.itemAt(i).widget(), MessageWidget)]

    # ---- attachments ------------------------------------------------------------------------------------
    def add_files(self, paths: list[Path]) -> None:
        """Attach files (kind by suffix); folders and missing files are refused with a message."""
        for p in map(Path, paths):
            if not p.is_file():
                self.status_text.setText(self.tr("Not a file: %1").replace("%1", str(p)))
                continue
            limit = self.settings.max_file_mb * 1024 * 1024
            if p.stat().st_size > limit:
                self.status_text.setText(self.tr("%1 is larger than the %2 MB limit").replace("%1", p.name)
                                         .replace("%2", str(self.settings.max_file_mb)))
                continue
            self.attachments.add(kind_of(p), p)

    def add_pasted_image(self, image: QImage) -> Path | None:
        """Keep a pasted image in the history store (deleted with its conversation, or when removed) and attach it."""
        if image.isNull():
            return None
        png = QByteArray()
        buffer = QBuffer(png)
        buffer.open(QIODevice.WriteOnly)
        image.save(buffer, "PNG")
        path = self.history.capture(bytes(png.data()), "pasted", ".png")
        self.attachments.add("image", path)
        return path

    def pick_files(self) -> None:
        """The Attach button."""
        names, _ = QFileDialog.getOpenFileNames(self, self.tr("Attach"), str(Path.home()))
        self.add_files([Path(n) for n in names])

    def dragEnterEvent(self, event) -> None:
        if event.mimeData().hasUrls() or event.mimeData().hasImage():
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:
        mime = event.mimeData()
        if mime.hasUrls():
            self.add_files([Path(u.toLocalFile()) for u in mime.urls() if u.isLocalFile()])
        elif mime.hasImage():
            self.add_pasted_image(QImage(mime.imageData()))
        event.acceptProposedAction()

    def play_audio(self, path: Path) -> None:
        """Play a recording or audio attachment."""
        from PySide6.QtMultimedia import QAudioOutput, QMediaPlayer

        if self.player is None:
            self.player = QMediaPlayer(self)
            self.player.setAudioOutput(QAudioOutput(self.player))
        self.player.setSource(QUrl.fromLocalFile(str(path)))
        self.player.play()

    def _offer_actions(self) -> None:
        """Quick actions that fit the attached files."""
        from assistant.documents import kind_for

        kinds = {kind_for(c.path) for c in self.attachments.chips if c.kind != "audio"}
        wanted = {"summarize": bool(kinds - {"image"}), "explain": "code" in kinds,
                  "table": bool(kinds & {"table", "xlsx"}), "extract": bool(kinds & {"pdf", "docx", "image"})}
        for key, button in self.quick.items():
            button.setVisible(wanted[key])

    def quick_action(self, key: str) -> bool:
        """Ask the quick action's question about the attached files. Extract reads images as documents (OCR)."""
        if key == "extract":
            for chip in self.attachments.chips:
                if chip.kind == "image":
                    chip.kind = "file"  # read its printed text, and still show it to the vision tower
        self.input.setPlainText(QUICK_ACTIONS[key])
        return self.send()

    # ---- voice --------------------------------------------------------------------------------------------
    def start_recording(self) -> None:
        """Push-to-talk pressed."""
        if self.recorder.recording or self.busy:
            return
        if self.recorder.start(self.settings.microphone):
            self.talk_button.setProperty("recording", True)
            self.talk_button.style().polish(self.talk_button)
            self.level.show()
            self.status_text.setText(self.tr("Listening… release to send"))

    def stop_recording(self, send: bool = True) -> Path | None:
        """Push-to-talk released: keep the recording as an audio attachment and send it."""
        if not self.recorder.recording:
            return None
        wav = self.recorder.stop()
        self.talk_button.setProperty("recording", False)
        self.talk_button.style().polish(self.talk_button)
        self.level.hide()
        if wav is None:
            self.status_text.setText(self.tr("Nothing was recorded"))
            return None
        path = self.history.capture(wav, "question", ".wav")  # the store owns it: no copy outlives the question
        self.attachments.add("audio", path)
        if send:
            self.send()
        return path

    def _on_mic_failed(self, message: str) -> None:
        self.status_text.setText(message)
        self.talk_button.setToolTip(message)

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:
        if event.type() in (QEvent.KeyPress, QEvent.KeyRelease) and event.key() == TALK_KEY \
                and not event.isAutoRepeat() and self.isActiveWindow():
            (self.start_recording if event.type() == QEvent.KeyPress else self.stop_recording)()
            return True
        return super().eventFilter(obj, event)

    # ---- asking -------------------------------------------------------------------------------------------
    @property
    def busy(self) -> bool:
        """Whether an answer is streaming."""
        return self.cancel is not None

    def send(self) -> bool:
        """Send the input text and attachments as a question; False if there is nothing to send or no engine."""
        text = self.input.toPlainText().strip()
        if self.busy or (not text and not self.attachments.chips):
            return False
        if not self.ready:
            self.status_text.setText(self.tr("The models are still loading; your message is kept."))
            return False
        items = self.attachments.take()
        self.input.clear()
        if self.conversation is None:
            title = text.splitlines()[0][:48] if text else {"image": self.tr("Image question"),
                                                             "audio": self.tr("Voice question")}.get(
                items[0][0], self.tr("Document question"))
            self.conversation = self.history.create(title, self.template_box.currentData() or "")
            self.refresh_list()
            self._show_title()
        replacing, self.edit_from = self.edit_from, None
        self.question_id = self.history.add_message(self.conversation, "user", text, attachments=items,
                                                    replace_from=replacing)  # one step: its files survive
        stored = self.history.messages(self.conversation)
        if replacing is not None:
            self._show_messages(stored[:-1])  # the edited turn and after are gone
        self.question_widget = self._add_widget(stored[-1])
        self._start_answer()
        return True

    def _start_answer(self) -> None:
        stored = self.history.messages(self.conversation)
        conversation = [m.to_message() for m in stored if m.status != "error" or m.role == "user"]
        template = self.settings.find_template(self.history.info(self.conversation).template) \
            or PromptTemplate("")
        conversation = template.apply(conversation, self.settings.system_prompt)
        self.answer_id = self.history.add_message(self.conversation, "assistant", "", status="streaming")
        self.answer = self._add_widget(StoredMessage(self.answer_id, "assistant", "", "streaming"))
        self._refresh_actions()
        self.masker = StreamMasker() if self.settings.pii_guard else None
        self.cancel = threading.Event()
        self.saved_at = time.monotonic()
        self.request += 1
        self.send_button.hide()
        self.stop_button.show()
        options = SamplingOptions(temperature=self.settings.temperature, max_new_tokens=self.settings.max_tokens)
        self.request_respond.emit(self.request, conversation, options, self.settings.voice_mode, self.cancel)

    def stop(self) -> None:
        """Stop the streaming answer (it is kept, marked stopped)."""
        if self.cancel is not None:
            self.cancel.set()

    def regenerate(self) -> None:
        """Answer the last question again."""
        if self.busy or self.conversation is None:
            return
        stored = self.history.messages(self.conversation)
        if stored and stored[-1].role == "assistant":
            self.history.delete_messages_from(self.conversation, stored[-1].id)
            self._remove_widget(self.message_widgets()[-1])  # only the old answer goes; nothing is re-rendered
            self.question_widget = self.message_widgets()[-1] if self.message_widgets() else None
            self._start_answer()

    def edit_last(self) -> None:
        """Put the last question back in the input box; sending replaces it and everything after it."""
        if self.busy or self.conversation is None:
            return
        stored = self.history.messages(self.conversation)
        last = next((m for m in reversed(stored) if m.role == "user"), None)
        if last is None:
            return
        self.edit_from = last.id
        self.input.setPlainText(last.text)
        for _, path in self.attachments.take():
            self.history.discard(path)
        for a in last.attachments:
            self.attachments.add(a.kind, a.path)
        self.input.setFocus()
        self.status_text.setText(self.tr("Editing the last question; send to replace it"))

    # ---- worker signals -------------------------------------------------------------------------------------
    def _on_loading(self, stage: str) -> None:
        self.progress.show()
        self.status_text.setText(self.tr("Loading: %1").replace("%1", stage))

    def _on_ready(self, models: dict, seconds: float) -> None:
        self.ready, self.models = True, models
        self.progress.hide()
        note = self.tr("Ready: %1 (loaded in %2 s)").replace("%1", models.get("llm", "")).replace(
            "%2", f"{seconds:.1f}")
        if self.recover_note:
            note += " · " + self.tr("%1 interrupted answer(s) from the last session were kept").replace(
                "%1", str(self.recover_note))
        self.status_text.setText(note)
        if self.settings.server_enabled:
            self.request_serve.emit(self.settings)

    def _on_serving(self, url: str) -> None:
        self.api_url = url
        self.status_text.setText(self.tr("API serving at %1").replace("%1", url) if url else self.tr("API stopped"))

    def _on_load_failed(self, message: str) -> None:
        self.progress.hide()
        self.status_text.setText(self.tr("Could not load the models: %1").replace("%1", message))

    def _on_transcript(self, request: int, text: str) -> None:
        if request != self.request or self.question_widget is None:
            return
        self.question_widget.set_heard(self.tr("Heard: %1").replace("%1", text))
        stored = next(m for m in self.history.messages(self.conversation) if m.id == self.question_id)
        self.history.update_message(self.question_id, meta={**stored.meta, "transcript": text})

    def _on_token(self, request: int, delta: str) -> None:
        if request != self.request or self.answer is None:
            return
        self.answer.append(self.masker.feed(delta) if self.masker else delta)
        if time.monotonic() - self.saved_at >= SAVE_EVERY_S:
            self.history.update_message(self.answer_id, text=self.answer.text)
            self.saved_at = time.monotonic()

    def _finish(self, status: str, meta: dict, error: str = "") -> None:
        if self.masker is not None:
            self.answer.append(self.masker.flush())
        if error:
            self.answer.append(("\n\n" if self.answer.text else "") + f"*{error}*")
        self.answer.render()
        self.history.update_message(self.answer_id, text=self.answer.text, status=status, meta=meta)
        self.answer.set_header(self._header("assistant", status))
        self.answer.meta.setText(self._stats(meta))
        self.cancel = self.answer = self.masker = None
        self.stop_button.hide()
        self.send_button.show()
        self._refresh_actions()  # the finished answer only gains its buttons: nothing is re-rendered
        self.refresh_list()

    def _on_finished(self, request: int, done: Done) -> None:
        if request != self.request or self.answer is None:
            return
        t = done.timings
        meta = {"model": done.models.get("llm", ""), "ttft_ms": t.ttft_ms, "tokens_per_s": t.tokens_per_s,
                "tokens": t.tokens, "finish_reason": done.finish_reason, "sources": list(done.sources)}
        self._finish("stopped" if done.finish_reason == "cancelled" else "done", meta)
        self.status_text.setText(self._stats(meta))

    def _on_failed(self, request: int, message: str) -> None:
        if request != self.request or self.answer is None:
            return
        self._finish("error", {"error": message}, message)
        self.status_text.setText(message)

    # ---- settings -------------------------------------------------------------------------------------------
    def open_settings(self) -> None:
        """The settings dialog; applies and saves on OK."""
        from ui.settings_dialog import SettingsDialog

        dialog = SettingsDialog(self.settings, self)
        if dialog.exec():
            self.apply_settings(dialog.result_settings())

    def apply_settings(self, new: Settings) -> None:
        """Use new settings: theme and language now, models reloaded in the background if they changed."""
        from ui.i18n import install_language

        reload = any(getattr(new, k) != getattr(self.settings, k)
                     for k in ("llm", "whisper", "vision", "device", "quantize", "remote_url", "remote_model",
                               "remote_key"))
        reserve = any(getattr(new, k) != getattr(self.settings, k)
                      for k in ("server_enabled", "server_port", "server_key"))
        language_changed = new.language != self.settings.language
        self.settings = new
        new.save(self.settings_path)
        self.colours = apply_theme(QApplication.instance(), new.theme)
        if language_changed:
            install_language(QApplication.instance(), new.language)
        self.retranslate()
        if self.conversation is not None and not self.busy:
            self._show_messages(self.history.messages(self.conversation))
        if reload and not self.busy:
            self.load_models()  # serving restarts once the new models are ready
        elif reserve:
            self.request_serve.emit(new)

    def load_models(self) -> None:
        """Start (re)loading the models on the worker thread."""
        self.ready = False
        self.progress.show()
        self.request_load.emit(self.settings)

    def closeEvent(self, event) -> None:
        self.stop()
        self.worker.close()
        self.request += 1  # events of the stopped answer still queued for this window are for nobody now
        if self.recorder.recording:
            self.recorder.stop()
        for _, path in self.attachments.take():  # unsent recordings and pasted images go with the window
            self.history.discard(path)
        QApplication.instance().removeEventFilter(self)
        self.thread.quit()
        self.thread.wait(10_000)
        if self.answer is not None:  # closed mid-answer: keep what was there
            self.history.update_message(self.answer_id, text=self.answer.text, status="interrupted")
        super().closeEvent(event)
