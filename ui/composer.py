"""Where a question is put together: the input box, attachments (files, pastes, recordings), quick actions,
Send/Stop and push-to-talk."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QBuffer, QByteArray, QIODevice, Signal
from PySide6.QtGui import QImage, QTextCursor
from PySide6.QtWidgets import QFileDialog, QHBoxLayout, QProgressBar, QPushButton, QVBoxLayout, QWidget

from assistant.session import ChatSession
from ui.hold import HoldButton
from ui.recorder import Recorder
from ui.widgets import AttachmentBar, InputBox, kind_of

QUICK_ACTIONS = {  # sent in English: the bundled LLM follows English instructions best
    "summarize": "Summarize the attached file in a few sentences.",
    "explain": "Explain what this code does, step by step.",
    "table": "Describe this table: its columns, size and notable values.",
    "extract": "Extract the text from the attached file.",
}


class Composer(QWidget):
    """The bottom of the chat. It asks the window to send (submit) or stop; the session's settings give the file
    limit and the microphone, its history keeps recordings and pasted images until they are sent."""

    submit = Signal()
    stop = Signal()
    play = Signal(object)  # an audio attachment's path
    notice = Signal(str)  # a line for the status bar
    folder_chosen = Signal(str)  # the folder the Attach dialog picked files from, to open there next time

    def __init__(self, session: ChatSession, parent=None):
        super().__init__(parent)
        self.session = session
        self.recorder = Recorder(self)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.attachments = AttachmentBar()
        self.attachments.play.connect(self.play)
        self.attachments.changed.connect(self._offer_actions)
        self.attachments.discarded.connect(session.history.discard)  # a removed recording leaves no file behind
        layout.addWidget(self.attachments)
        actions_row = QHBoxLayout()
        self.quick: dict[str, QPushButton] = {}
        for key in QUICK_ACTIONS:
            button = QPushButton()
            button.setObjectName(f"quick-{key}")
            button.clicked.connect(lambda _=False, key=key: self.quick_action(key))
            button.hide()
            self.quick[key] = button
            actions_row.addWidget(button)
        actions_row.addStretch()
        layout.addLayout(actions_row)
        row = QHBoxLayout()
        self.attach_button = QPushButton()
        self.attach_button.clicked.connect(self.pick_files)
        self.talk_button = HoldButton()  # any mouse release ends the hold, wherever the pointer went
        self.talk_button.setObjectName("talk")
        self.talk_button.held.connect(self.start_recording)
        self.talk_button.let_go.connect(self.stop_recording)
        self.input = InputBox()
        self.input.setFixedHeight(72)
        self.input.submit.connect(self.submit)
        self.input.image_pasted.connect(self.add_pasted_image)
        self.input.files_pasted.connect(self.add_files)
        self.send_button = QPushButton()
        self.send_button.setObjectName("send")
        self.send_button.clicked.connect(self.submit)
        self.stop_button = QPushButton()
        self.stop_button.clicked.connect(self.stop)
        self.stop_button.hide()
        self.converse_button = QPushButton()  # the hands-free voice conversation, on until pressed again
        self.converse_button.setObjectName("converse")
        self.converse_button.setCheckable(True)
        tools = QVBoxLayout()
        tools.addWidget(self.attach_button)
        tools.addWidget(self.talk_button)
        row.addLayout(tools)
        row.addWidget(self.input, 1)
        buttons = QVBoxLayout()
        buttons.addWidget(self.send_button)
        buttons.addWidget(self.stop_button)
        buttons.addWidget(self.converse_button)
        row.addLayout(buttons)
        layout.addLayout(row)
        self.level = QProgressBar()
        self.level.setRange(0, 100)
        self.level.setTextVisible(False)
        self.level.setFixedHeight(10)
        keep = self.level.sizePolicy()
        keep.setRetainSizeWhenHidden(True)  # its space is kept: showing it must not move the button being held
        self.level.setSizePolicy(keep)
        self.level.hide()
        self.recorder.level.connect(lambda v: self.level.setValue(int(v * 100)))
        self.recorder.failed.connect(self._on_mic_failed)
        layout.addWidget(self.level)

    def retranslate(self) -> None:
        """Every visible string, in the current language."""
        self.attach_button.setText(self.tr("Attach"))
        self.talk_button.setText(self.tr("Hold to talk (F8)"))
        self.send_button.setText(self.tr("Send"))
        self.stop_button.setText(self.tr("Stop"))
        self.converse_button.setText(self.tr("Voice chat (F9)"))
        self.converse_button.setToolTip(self.tr("Talk with the assistant hands-free: it listens, answers aloud and "
                                                "listens again; talk over it to interrupt. Press again to end."))
        buttons = (self.send_button, self.stop_button, self.converse_button)
        width = max(b.sizeHint().width() for b in buttons)
        for button in buttons:  # swapping Send and Stop must not move the input
            button.setFixedWidth(width)
        self.input.setPlaceholderText(self.tr("Ask anything. Enter sends, Shift+Enter adds a line. Paste or drop "
                                              "images, audio and documents."))
        labels = {"summarize": self.tr("Summarize"), "explain": self.tr("Explain this code"),
                  "table": self.tr("Describe this table"), "extract": self.tr("Extract the text")}
        for key, button in self.quick.items():
            button.setText(labels[key])

    def set_busy(self, busy: bool) -> None:
        """Stop instead of Send while an answer streams."""
        self.send_button.setVisible(not busy)
        self.stop_button.setVisible(busy)

    def discard(self) -> None:
        """Drop the unsent attachments; recordings and pasted images among them are deleted."""
        for _, path in self.attachments.take():
            self.session.history.discard(path)

    # ---- attachments ------------------------------------------------------------------------------------
    def add_files(self, paths: list[Path]) -> None:
        """Attach files (kind by suffix); folders and missing files are refused with a message."""
        limit_mb = self.session.settings.engine.max_file_mb
        for p in map(Path, paths):
            if not p.is_file():
                self.notice.emit(self.tr("Not a file: %1").replace("%1", str(p)))
                continue
            if p.stat().st_size > limit_mb * 1024 * 1024:
                self.notice.emit(self.tr("%1 is larger than the %2 MB limit").replace("%1", p.name)
                                 .replace("%2", str(limit_mb)))
                continue
            chip = self.attachments.add(kind_of(p), p)
            if chip.kind == "file":
                self._check(chip)

    def _check(self, chip) -> None:
        """A document whose content contradicts its name is marked now, named as the user named it, and left out
        of the question (the rest of it is still sent)."""
        from assistant.documents import kind_for, mislabelled

        kind = kind_for(chip.path)
        with open(chip.path, "rb") as f:
            head = f.read(16)
        if mislabelled(kind, head):
            what = kind.upper() if kind in ("pdf", "docx", "xlsx") else self.tr("text")
            chip.mark_bad(self.tr("%1 is not a %2 file; it will not be sent").replace("%1", chip.path.name)
                          .replace("%2", what))
            self.notice.emit(chip.toolTip())
            self._offer_actions()  # no quick action for a file that will not be sent

    def add_pasted_image(self, image: QImage) -> Path | None:
        """Keep a pasted image in the history store (deleted with its conversation, or when removed) and attach it."""
        if image.isNull():
            return None
        png = QByteArray()
        buffer = QBuffer(png)
        buffer.open(QIODevice.WriteOnly)
        image.save(buffer, "PNG")
        path = self.session.history.capture(bytes(png.data()), "pasted", ".png")
        self.attachments.add("image", path)
        return path

    def pick_files(self) -> None:
        """The Attach button."""
        from assistant.documents import attachable

        groups = attachable()
        every = " ".join(f"*{s}" for kind in groups.values() for s in sorted(kind))
        labels = {"images": self.tr("Images"), "audio": self.tr("Audio"), "documents": self.tr("Documents")}
        readable, anything = self.tr("Everything the assistant reads"), self.tr("All files")
        filters = [f"{readable} ({every})",
                   *(f"{labels[k]} ({' '.join(f'*{s}' for s in sorted(v))})" for k, v in groups.items()),
                   f"{anything} (*)"]
        folder = self.session.settings.attach_folder
        start = folder if folder and Path(folder).is_dir() else str(Path.home())
        names, _ = QFileDialog.getOpenFileNames(self, self.tr("Attach"), start, ";;".join(filters))
        if names:
            self.folder_chosen.emit(str(Path(names[0]).parent))
        self.add_files([Path(n) for n in names])
        self.input.setFocus()  # not back on Attach, where the next space would open the dialog again

    def _offer_actions(self) -> None:
        """Quick actions that fit the attached files."""
        from assistant.documents import kind_for

        kinds = {kind_for(c.path) for c in self.attachments.chips if c.kind != "audio" and not c.bad}
        wanted = {"summarize": bool(kinds - {"image"}), "explain": "code" in kinds,
                  "table": bool(kinds & {"table", "xlsx"}), "extract": bool(kinds & {"pdf", "docx", "image"})}
        for key, button in self.quick.items():
            button.setVisible(wanted[key])

    def quick_action(self, key: str) -> None:
        """Put the quick action's question in the input box, to add to and send. Extract reads images as documents."""
        if key == "extract":
            for chip in self.attachments.chips:
                if chip.kind == "image":
                    chip.kind = "file"  # read its printed text, and still show it to the vision tower
        typed = self.input.toPlainText().strip()
        for question in QUICK_ACTIONS.values():  # another quick action's question is replaced, what was added kept
            typed = typed.removeprefix(question).strip()
        self.input.setPlainText(f"{QUICK_ACTIONS[key]} {typed}")
        self.input.moveCursor(QTextCursor.End)
        self.input.setFocus()  # the user may add to the question; Enter sends it
        self.notice.emit(self.tr("Add to the question if you like, then press Enter"))

    # ---- voice --------------------------------------------------------------------------------------------
    def start_recording(self) -> None:
        """Push-to-talk pressed (not during a voice chat: it has the microphone)."""
        if self.recorder.recording or self.session.busy or self.converse_button.isChecked():
            return
        if self.recorder.start(self.session.settings.microphone):
            self.talk_button.setProperty("recording", True)
            self.talk_button.style().polish(self.talk_button)
            self.level.show()
            self.notice.emit(self.tr("Listening… release to send"))

    def stop_recording(self, send: bool = True) -> Path | None:
        """Push-to-talk released: keep the recording as an audio attachment and send it."""
        if not self.recorder.recording:
            return None
        wav = self.recorder.stop()
        self.talk_button.setProperty("recording", False)
        self.talk_button.style().polish(self.talk_button)
        self.level.hide()
        if wav is None:
            self.notice.emit(self.tr("Nothing was recorded"))
            return None
        path = self.session.history.capture(wav, "question", ".wav")  # the store owns it: no copy outlives it
        self.attachments.add("audio", path)
        if send:
            self.submit.emit()
        return path

    def _on_mic_failed(self, message: str) -> None:
        self.notice.emit(message)
        self.talk_button.setToolTip(message)
