"""The open conversation's messages: one MessageWidget each, oldest first, in a scroll area that follows the end."""

from __future__ import annotations

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import QApplication, QLabel, QPushButton, QScrollArea, QVBoxLayout, QWidget

from assistant.documents import PICTURE_TEXT
from assistant.history import StoredMessage
from ui.widgets import MessageWidget


READABLE_WIDTH = 900  # px: the message column stops growing here

class MessageView(QScrollArea):
    """Renders stored messages; Copy on answers, Edit on the last question, Regenerate on the answer after it."""

    regenerate = Signal()
    continue_answer = Signal()
    read_aloud = Signal(str)  # an answer's text
    version_requested = Signal(int)  # which version of the last answer to show
    edit = Signal(int)  # the id of the question to edit
    play = Signal(object)  # an audio attachment's path
    notice = Signal(str)  # a line for the status bar

    def __init__(self, muted_colour: str, parent=None):
        super().__init__(parent)
        self.dark = False
        self.actions_enabled = True
        self.setWidgetResizable(True)
        self.setFrameShape(QScrollArea.NoFrame)
        inner = QWidget()
        inner.setMaximumWidth(READABLE_WIDTH)  # a readable line on a wide screen, centred
        self.column = QVBoxLayout(inner)
        self.column.addStretch()
        self.setWidget(inner)
        self.setAlignment(Qt.AlignHCenter)
        self.verticalScrollBar().rangeChanged.connect(lambda _low, high: self.verticalScrollBar().setValue(high))
        self.empty = QLabel()
        self.empty.setAlignment(Qt.AlignCenter)
        self.empty.setWordWrap(True)
        self.empty.setMinimumHeight(360)
        self.empty.setStyleSheet(f"color: {muted_colour}; font-size: 15px")
        self.column.insertWidget(0, self.empty)

    def retranslate(self) -> None:
        """The hint shown in an empty conversation."""
        self.empty.setText(self.tr("Type a question, drop an image or a document, hold F8 and speak, or press F9 to "
                                   "talk hands-free."))

    def widgets(self) -> list[MessageWidget]:
        """The messages on screen, oldest first."""
        items = (self.column.itemAt(i).widget() for i in range(1, self.column.count() - 1))
        return [w for w in items if isinstance(w, MessageWidget)]

    def find(self, message_id: int) -> MessageWidget | None:
        """The widget showing that message."""
        return next((w for w in self.widgets() if w.message_id == message_id), None)

    def show_messages(self, messages: list[StoredMessage]) -> None:
        """Show these messages instead of the ones on screen."""
        for widget in self.widgets():
            self.remove(widget)
        self.empty.setVisible(not messages)
        for m in messages:
            self.add(m)
        self.refresh_actions()

    def remove(self, widget: MessageWidget) -> None:
        """Take one message off the screen."""
        self.column.removeWidget(widget)
        widget.hide()  # now: deleteLater only runs once control is back in the event loop
        widget.setParent(None)
        widget.deleteLater()

    def add(self, m: StoredMessage) -> MessageWidget:
        """Show a message at the end."""
        w = MessageWidget(m.role, m.text, m.attachments, dark=self.dark)
        w.set_header(self.header(m.role, m.status))
        w.message_id = m.id
        w.streaming = m.status == "streaming"  # its Copy, Read aloud and Regenerate wait for a finished answer
        w.copy_button = w.read_button = None
        for chip in w.chips:
            chip.play.connect(self.play)
        if m.meta.get("transcript"):
            self.set_heard(w, m.meta["transcript"])
        if m.role == "assistant":
            w.meta.setText(self.stats(m.meta))
            copy = QPushButton(self.tr("Copy"))
            copy.setObjectName("copy")
            copy.setMinimumWidth(copy.fontMetrics().horizontalAdvance(self.tr("Copied")) + 24)  # nothing shifts
            copy.clicked.connect(lambda _=False, w=w, button=copy: self._copy(w, button))
            w.add_action(copy)
            w.copy_button = copy
            read = QPushButton(self.tr("Read aloud"))
            read.setObjectName("read")
            read.clicked.connect(lambda _=False, w=w: self.read_aloud.emit(w.text))
            w.add_action(read)
            w.read_button = read
        w.regenerate_button = QPushButton(self.tr("Regenerate"))
        w.regenerate_button.setObjectName("regenerate")
        w.regenerate_button.clicked.connect(self.regenerate)
        w.edit_button = QPushButton(self.tr("Edit"))
        w.edit_button.setObjectName("edit")
        w.edit_button.clicked.connect(lambda _=False, w=w: self.edit.emit(w.message_id))
        w.continue_button = QPushButton(self.tr("Continue"))
        w.continue_button.setObjectName("continue")
        w.continue_button.clicked.connect(self.continue_answer)
        w.cut = m.meta.get("finish_reason") == "length" and m.status == "done"
        w.older, w.newer, w.version_label = QPushButton("‹"), QPushButton("›"), QLabel()
        w.older.setObjectName("older")
        w.newer.setObjectName("newer")
        w.older.setToolTip(self.tr("Previous version"))
        w.newer.setToolTip(self.tr("Next version"))
        w.older.clicked.connect(lambda _=False, w=w: self.version_requested.emit(w.version - 1))
        w.newer.clicked.connect(lambda _=False, w=w: self.version_requested.emit(w.version + 1))
        self._set_versions(w, m.meta)
        for button in (w.older, w.newer):
            button.setMaximumWidth(28)
        w.add_action(w.older)
        w.actions.addWidget(w.version_label)
        w.add_action(w.newer)
        for button in (w.continue_button, w.regenerate_button, w.edit_button):
            button.hide()  # refresh_actions shows the one that applies
            button.setEnabled(self.actions_enabled)
            w.add_action(button)
        w.copy_code.connect(lambda _: self.notice.emit(self.tr("Code copied")))
        self.column.insertWidget(self.column.count() - 1, w)
        if m.role == "assistant":
            self._mark_text_read(w, m.meta)
        self.empty.hide()
        return w

    def _copy(self, w: MessageWidget, button: QPushButton) -> None:
        """Copy an answer; the button says "Copied" for a moment and the status bar says so."""
        QApplication.clipboard().setText(w.text)
        button.setText(self.tr("Copied"))
        QTimer.singleShot(1500, button, lambda: button.setText(self.tr("Copy")))
        self.notice.emit(self.tr("Answer copied to the clipboard"))

    def refresh_actions(self) -> None:
        """Edit on every question, Regenerate only on the answer after the last (no re-rendering)."""
        widgets = self.widgets()
        last_user = max((i for i, w in enumerate(widgets) if w.role == "user"), default=-1)
        last_answer = max((i for i, w in enumerate(widgets) if w.role == "assistant"), default=-1)
        for i, w in enumerate(widgets):
            w.edit_button.setVisible(w.role == "user")  # any question: an earlier one forks the conversation
            w.regenerate_button.setVisible(i == last_answer and i > last_user and not w.streaming)
            w.continue_button.setVisible(i == last_answer and i > last_user and w.cut and not w.streaming)
            for button in (w.copy_button, w.read_button):
                if button is not None:
                    button.setVisible(not w.streaming)
            for part in (w.older, w.version_label, w.newer):  # versions: on the last answer, when it has several
                part.setVisible(i == last_answer and i > last_user and w.versions > 1)
            w.older.setEnabled(self.actions_enabled and w.version > 0)
            w.newer.setEnabled(self.actions_enabled and w.version < w.versions - 1)

    def set_actions_enabled(self, enabled: bool) -> None:
        """Edit and Regenerate, disabled while an answer streams."""
        self.actions_enabled = enabled
        for w in self.widgets():
            for button in (w.edit_button, w.regenerate_button, w.continue_button):
                button.setEnabled(enabled)
        self.refresh_actions()  # the version arrows also depend on where the answer is

    def set_heard(self, widget: MessageWidget, transcript: str) -> None:
        """Show what was heard in a spoken question."""
        widget.set_heard(self.tr("Heard: %1").replace("%1", transcript))

    def finish(self, message_id: int, status: str, meta: dict) -> None:
        """A streamed answer is complete: render it whole, with its status and statistics, and offer its buttons."""
        widget = self.find(message_id)
        widget.streaming = False
        widget.render()
        widget.set_header(self.header("assistant", status))
        widget.meta.setText(self.stats(meta))
        self._mark_text_read(widget, meta)
        widget.cut = meta.get("finish_reason") == "length" and status == "done"
        self._set_versions(widget, meta)
        self.refresh_actions()

    def _mark_text_read(self, answer: MessageWidget, meta: dict) -> None:
        """Mark the question's pictures whose text the answer's sources cite ("shot.png, text in the image")."""
        widgets = self.widgets()
        question = next((w for w in reversed(widgets[: widgets.index(answer)]) if w.role == "user"), None)
        read = set(meta.get("sources", ()))
        for chip in question.chips if question is not None else ():
            if f"{chip.name}, {PICTURE_TEXT}" in read:
                chip.mark_text_read()

    def _set_versions(self, w: MessageWidget, meta: dict) -> None:
        """An answer's ‹ i/n › (regenerated answers keep their earlier versions)."""
        w.versions, w.version = len(meta.get("versions", [])), meta.get("version", 0)
        w.version_label.setText(f"{w.version + 1}/{w.versions}")

    def header(self, role: str, status: str) -> str:
        """Who wrote a message, and the status of an unfinished answer."""
        who = self.tr("You") if role == "user" else self.tr("Assistant")
        note = {"interrupted": self.tr("interrupted"), "stopped": self.tr("stopped"), "error": self.tr("error"),
                "streaming": "…"}.get(status, "")
        return f"{who} · {note}" if note else who

    def stats(self, meta: dict) -> str:
        """An answer's model, speed and sources."""
        if "ttft_ms" not in meta:
            return ""
        text = self.tr("%1 · first token %2 ms · %3 tokens/s").replace("%1", meta.get("model", "")).replace(
            "%2", f"{meta['ttft_ms']:.0f}").replace("%3", f"{meta.get('tokens_per_s', 0):.1f}")
        if meta.get("finish_reason") == "length":
            text += " · " + self.tr("cut at the length limit")
        if meta.get("sources"):
            text += "\n" + self.tr("Sources: %1").replace("%1", "; ".join(meta["sources"]))
        if meta.get("left_out"):  # the reasons are the engine's, in English; the file names are the user's
            text += "\n" + self.tr("Could not be read, so left out: %1").replace("%1", "; ".join(meta["left_out"]))
        return text
