"""The window's building blocks: message bubbles, attachment chips and the input box."""

from __future__ import annotations

import math
import wave
from pathlib import Path

from PySide6.QtCore import QSize, Qt, QTimer, QUrl, Signal
from PySide6.QtGui import QGuiApplication, QIcon, QImage, QImageReader, QKeyEvent, QPainter, QPalette, QPixmap
from PySide6.QtWidgets import (QDialog, QFrame, QHBoxLayout, QLabel, QPlainTextEdit, QPushButton, QSizePolicy, QStyle,
                               QTextBrowser, QToolButton, QVBoxLayout, QWidget)

from assistant.documents import AUDIO_SUFFIXES, IMAGE_SUFFIXES
from ui.markdown import render


def kind_of(path: Path) -> str:
    """image, audio or file, by suffix (the readers' own tables, so a chip and its reader agree)."""
    suffix = path.suffix.lower()
    return "image" if suffix in IMAGE_SUFFIXES else "audio" if suffix in AUDIO_SUFFIXES else "file"


def audio_seconds(path: Path) -> float | None:
    """Duration of a WAV file (others: None, without spawning ffmpeg on the GUI thread)."""
    try:
        with wave.open(str(path)) as w:
            return w.getnframes() / w.getframerate()
    except (OSError, wave.Error, EOFError, ZeroDivisionError):
        return None


class ElidedLabel(QLabel):
    """One line that ends in "…" when it does not fit, instead of widening the window; the whole text is its
    tooltip, and text() still returns it whole."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setSizePolicy(QSizePolicy.Ignored, QSizePolicy.Preferred)
        self.setMinimumWidth(40)

    def setText(self, text: str) -> None:
        super().setText(text)
        self.setToolTip(text)

    def paintEvent(self, event) -> None:
        painter = QPainter(self)
        rect = self.contentsRect()
        shown = self.fontMetrics().elidedText(self.text(), Qt.ElideRight, rect.width())
        painter.drawText(rect, int(self.alignment() | Qt.AlignVCenter), shown)


class AutoText(QTextBrowser):
    """A read-only rich text view as tall as its content (no inner scroll bar)."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setOpenLinks(False)
        self.setFrameShape(QFrame.NoFrame)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarAlwaysOff)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarAlwaysOff)
        self.setSizePolicy(QSizePolicy.Expanding, QSizePolicy.Fixed)
        self.document().documentLayout().documentSizeChanged.connect(self._fit)

    def _fit(self, *_):
        self.setFixedHeight(math.ceil(self.document().size().height()) + 4)

    def resizeEvent(self, event):
        super().resizeEvent(event)
        self.document().setTextWidth(self.viewport().width())
        self._fit()


class Chip(QFrame):
    """An attachment before sending (removable) or inside a message: thumbnail, name, audio duration, play."""

    removed = Signal(object)
    play = Signal(object)

    def __init__(self, kind: str, path: Path, name: str = "", removable: bool = True, parent=None):
        super().__init__(parent)
        self.setObjectName("chip")
        self.kind, self.path = kind, Path(path)
        self.bad = False  # see mark_bad
        row = QHBoxLayout(self)
        row.setContentsMargins(6, 4, 6, 4)
        icon = QLabel()
        if kind == "image":
            reader = QImageReader(str(path))
            reader.setScaledSize(QSize(40, 40))
            image = reader.read()
            if image.isNull():
                icon.setPixmap(self._glyph(QStyle.SP_FileIcon))
            else:  # the thumbnail opens the picture
                icon = QToolButton()
                icon.setObjectName("thumbnail")
                icon.setIcon(QPixmap.fromImage(image))
                icon.setIconSize(QSize(40, 40))
                icon.setAutoRaise(True)
                icon.setToolTip(self.tr("Open the picture"))
                icon.clicked.connect(lambda: ImageViewer(self.path, name or self.path.name, self.window()).open())
        else:  # the style's own icons: emoji need a font that may not be installed
            standard = QStyle.SP_MediaVolume if kind == "audio" else QStyle.SP_FileIcon
            icon.setPixmap(self._glyph(standard))
        row.addWidget(icon)
        label = self.name = name or self.path.name
        self.row = row
        if kind == "audio":
            seconds = audio_seconds(self.path)
            if seconds is not None:
                label += f"  {int(seconds) // 60}:{int(seconds) % 60:02d}"
            button = QToolButton()
            button.setIcon(QIcon(self._glyph(QStyle.SP_MediaPlay, 16)))
            button.setObjectName("play")
            button.clicked.connect(lambda: self.play.emit(self.path))
            row.addWidget(button)
        self.label = QLabel(label)
        row.addWidget(self.label)
        if removable:
            close = QToolButton()
            close.setIcon(QIcon(self._glyph(QStyle.SP_TitleBarCloseButton, 16)))
            close.setObjectName("remove")
            close.setFocusPolicy(Qt.StrongFocus)  # reachable with Tab, removed with Space
            close.clicked.connect(lambda: self.removed.emit(self))
            row.addWidget(close)


    def _glyph(self, standard: QStyle.StandardPixmap, size: int = 24) -> QPixmap:
        """The style's icon drawn in the theme's text colour: the stock glyphs are dark, and vanish on a dark theme."""
        pixmap = self.style().standardIcon(standard).pixmap(size, size)
        painter = QPainter(pixmap)
        painter.setCompositionMode(QPainter.CompositionMode_SourceIn)  # keep the shape, take the colour
        painter.fillRect(pixmap.rect(), self.palette().color(QPalette.WindowText))
        painter.end()
        return pixmap

    def mark_text_read(self) -> None:
        """Show that the text in this picture was read and given to the model with it (once)."""
        if self.findChild(QLabel, "text_read") is not None:
            return
        mark = QLabel(self.tr("text read"))
        mark.setObjectName("text_read")
        mark.setToolTip(self.tr("The text in this picture was read and given to the model with it"))
        self.row.insertWidget(self.row.indexOf(self.label) + 1, mark)

    def mark_bad(self, problem: str) -> None:
        """Show that this attachment cannot be read, and why (the chip's tooltip); it is not sent."""
        self.bad = True
        self.setProperty("bad", True)
        self.setToolTip(problem)
        self.style().polish(self)


class ImageViewer(QDialog):
    """An attached picture at the largest size that fits the screen; Esc or a click closes it."""

    def __init__(self, path: Path, title: str, parent=None):
        super().__init__(parent)
        self.setWindowTitle(title)
        self.setAttribute(Qt.WA_DeleteOnClose)
        layout = QVBoxLayout(self)
        self.picture = QLabel()
        self.picture.setAlignment(Qt.AlignCenter)
        reader = QImageReader(str(path))
        reader.setAutoTransform(True)
        image = reader.read()
        screen = (parent.screen() if parent is not None else QGuiApplication.primaryScreen()).availableSize()
        bound = QSize(int(screen.width() * 0.9), int(screen.height() * 0.85))
        if image.isNull():
            self.picture.setText(self.tr("The picture could not be read."))
        else:
            pixmap = QPixmap.fromImage(image)
            if pixmap.width() > bound.width() or pixmap.height() > bound.height():
                pixmap = pixmap.scaled(bound, Qt.KeepAspectRatio, Qt.SmoothTransformation)
            self.picture.setPixmap(pixmap)
        layout.addWidget(self.picture)

    def mousePressEvent(self, event) -> None:
        self.close()


class MessageWidget(QFrame):
    """One message: who, attachments, Markdown body (re-rendered at most every 60 ms while streaming), meta line."""

    copy_code = Signal(str)

    def __init__(self, role: str, text: str = "", attachments=(), dark: bool = False, parent=None):
        super().__init__(parent)
        self.setObjectName("message")
        self.setProperty("role", role)
        self.role, self.text, self.dark = role, text, dark
        self.blocks: list[str] = []
        self.streaming = False  # the answer is still being written
        layout = QVBoxLayout(self)
        layout.setContentsMargins(10, 6, 10, 6)
        self.header = QLabel()
        self.header.setObjectName("meta")
        layout.addWidget(self.header)
        self.chips: list[Chip] = []
        if attachments:
            row = QHBoxLayout()
            for a in attachments:
                chip = Chip(a.kind, a.path, a.name, removable=False)
                self.chips.append(chip)
                row.addWidget(chip)
            row.addStretch()
            layout.addLayout(row)
        self.heard = QLabel()
        self.heard.setObjectName("meta")
        self.heard.setWordWrap(True)
        self.heard.hide()
        layout.addWidget(self.heard)
        self.body = AutoText()
        self.body.anchorClicked.connect(self._anchor)
        layout.addWidget(self.body)
        self.actions = QHBoxLayout()
        self.meta = QLabel()
        self.meta.setObjectName("meta")
        self.meta.setWordWrap(True)  # model, speed and sources wrap beside the buttons instead of widening the bubble
        self.meta.setSizePolicy(QSizePolicy.Ignored, QSizePolicy.Preferred)
        self.actions.addWidget(self.meta, 1)
        self.actions.addStretch()
        layout.addLayout(self.actions)
        self._timer = QTimer(self, singleShot=True, interval=60)
        self._timer.timeout.connect(self.render)
        self.render()

    def add_action(self, button: QPushButton) -> None:
        """A button on the message's bottom row (copy, regenerate, edit)."""
        button.setFlat(True)
        button.setFocusPolicy(Qt.StrongFocus)  # reachable with Tab, pressed with Space
        self.actions.addWidget(button)

    def set_header(self, text: str) -> None:
        """The small line above the body (who, and the status of an unfinished answer)."""
        self.header.setText(text)

    def set_heard(self, text: str) -> None:
        """What was heard in a spoken question."""
        self.heard.setText(text)
        self.heard.setVisible(bool(text))

    def append(self, delta: str) -> None:
        """Add streamed text; the Markdown is re-rendered shortly (coalescing tokens)."""
        self.text += delta
        if not self._timer.isActive():
            self._timer.start()

    def render(self) -> None:
        """Render the Markdown body now."""
        html, self.blocks = render(self.text or " ", self.dark, self.tr("Copy"), self.streaming)
        bar = self.body.verticalScrollBar().value()
        self.body.setHtml(html)
        self.body.verticalScrollBar().setValue(bar)

    def _anchor(self, url: QUrl) -> None:
        if url.scheme() == "copy":
            code = self.blocks[int(url.path())]
            QGuiApplication.clipboard().setText(code)
            self.copy_code.emit(code)


class InputBox(QPlainTextEdit):
    """Enter sends, Shift+Enter starts a new line; pasted images and files become attachments."""

    submit = Signal()
    image_pasted = Signal(QImage)
    files_pasted = Signal(list)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setTabChangesFocus(True)  # Tab moves on, as in every chat app; a question rarely needs a tab character

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() in (Qt.Key_Return, Qt.Key_Enter) and not event.modifiers() & Qt.ShiftModifier:
            self.submit.emit()
            return
        super().keyPressEvent(event)

    def canInsertFromMimeData(self, source) -> bool:
        return source.hasImage() or source.hasUrls() or super().canInsertFromMimeData(source)

    def insertFromMimeData(self, source) -> None:
        if source.hasImage():
            self.image_pasted.emit(QImage(source.imageData()))
        elif source.hasUrls() and all(u.isLocalFile() for u in source.urls()):
            self.files_pasted.emit([Path(u.toLocalFile()) for u in source.urls()])
        else:
            super().insertFromMimeData(source)


class AttachmentBar(QWidget):
    """Chips of the attachments waiting to be sent."""

    changed = Signal()
    play = Signal(object)
    discarded = Signal(object)  # the path of a chip removed without sending (the composer deletes its captures)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.row = QHBoxLayout(self)
        self.row.setContentsMargins(0, 0, 0, 0)
        self.row.addStretch()
        self.chips: list[Chip] = []
        self.hide()

    def add(self, kind: str, path: Path, name: str = "") -> Chip:
        """Show a new chip (named `name`, e.g. a stored copy's original name, else by its file)."""
        chip = Chip(kind, path, name)
        chip.removed.connect(self.remove)
        chip.play.connect(self.play)
        self.chips.append(chip)
        self.row.insertWidget(self.row.count() - 1, chip)
        self.show()
        self.changed.emit()
        return chip

    def remove(self, chip: Chip) -> None:
        """Drop one attachment the user no longer wants."""
        self._drop(chip)
        self.discarded.emit(chip.path)

    def _drop(self, chip: Chip) -> None:
        self.chips.remove(chip)
        chip.hide()  # at once: deleteLater waits for the event loop
        chip.setParent(None)
        chip.deleteLater()
        self.setVisible(bool(self.chips))
        self.changed.emit()

    def take(self) -> list[tuple[str, Path]]:
        """The attachments to send as (kind, path), clearing the bar (chips marked bad are dropped)."""
        items = [(c.kind, c.path) for c in self.chips if not c.bad]
        for chip in list(self.chips):
            self._drop(chip)
        return items
