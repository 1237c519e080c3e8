"""Push-to-talk controls: a key and a button held down for as long as the user speaks.

A hold must give one recording. Two things break that with plain Qt signals: X11 keyboard auto-repeat sends
release+press pairs while a key is held (not always flagged isAutoRepeat, e.g. under Xvfb or xdotool), and
QPushButton's pressed/released toggle as the pointer leaves and re-enters the button, while a release outside it
emits nothing at all.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, Qt, QTimer, Signal
from PySide6.QtWidgets import QApplication, QPushButton, QWidget

REPEAT_GAP_MS = 50  # a press this soon after a release is the key repeating, not a new hold


class _Hold(QObject):
    """One hold: begin() once, end() once; a release waits REPEAT_GAP_MS for a press that would mean a repeat."""

    began = Signal()
    ended = Signal()

    def __init__(self, parent=None):
        super().__init__(parent)
        self.down = False
        self._confirm = QTimer(self, singleShot=True, interval=REPEAT_GAP_MS)
        self._confirm.timeout.connect(self.end)

    def press(self) -> None:
        """The key or button went down (again: a repeat cancels the pending release)."""
        if self._confirm.isActive():
            self._confirm.stop()
        elif not self.down:
            self.down = True
            self.began.emit()

    def release_soon(self) -> None:
        """The key came up; it is a real release unless it goes down again within REPEAT_GAP_MS."""
        if self.down:
            self._confirm.start()

    def end(self) -> None:
        """The hold is over, now."""
        self._confirm.stop()
        if self.down:
            self.down = False
            self.ended.emit()


class HoldKey(QObject):
    """An application event filter for a push-to-talk key, active while `window` is the active window.

    `pressed` once when the key goes down, `released` once when it comes up for good (or the window loses focus,
    which would send the release elsewhere).
    """

    pressed = Signal()
    released = Signal()

    def __init__(self, key: Qt.Key, window: QWidget):
        super().__init__(window)
        self.key, self.window = key, window
        self.hold = _Hold(self)
        self.hold.began.connect(self.pressed)
        self.hold.ended.connect(self.released)

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:
        kind = event.type()
        if kind in (QEvent.KeyPress, QEvent.KeyRelease) and event.key() == self.key and self.window.isActiveWindow():
            if kind == QEvent.KeyPress:
                self.hold.press()
            elif not event.isAutoRepeat():
                self.hold.release_soon()
            return True
        if kind == QEvent.WindowDeactivate and obj is self.window:
            self.hold.end()
        return False


class HoldButton(QPushButton):
    """A button held down (mouse, or Space when focused): `held` once, then `let_go` once on any mouse release,
    inside the button or not. Leaving the button while holding does not end the hold."""

    held = Signal()
    let_go = Signal()

    def __init__(self, parent=None):
        super().__init__(parent)
        self.hold = _Hold(self)
        self.hold.began.connect(self._began)
        self.hold.ended.connect(self._ended)

    def mousePressEvent(self, event) -> None:
        super().mousePressEvent(event)
        if event.button() == Qt.LeftButton:
            self.hold.press()

    def mouseReleaseEvent(self, event) -> None:
        super().mouseReleaseEvent(event)
        self.hold.end()

    def keyPressEvent(self, event) -> None:
        if event.key() == Qt.Key_Space:
            self.hold.press()  # repeats land here too: they only cancel a pending release
            return
        super().keyPressEvent(event)

    def keyReleaseEvent(self, event) -> None:
        if event.key() == Qt.Key_Space:
            if not event.isAutoRepeat():
                self.hold.release_soon()
            return
        super().keyReleaseEvent(event)

    def focusOutEvent(self, event) -> None:
        super().focusOutEvent(event)
        if self.hold.down and QApplication.mouseButtons() == Qt.NoButton:
            self.hold.end()  # a keyboard hold whose release will go to another widget

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:
        # Installed on the application while held: a release the button itself does not get still ends the hold.
        if event.type() == QEvent.MouseButtonRelease:
            self.hold.end()
        return False

    def _began(self) -> None:
        QApplication.instance().installEventFilter(self)
        self.held.emit()

    def _ended(self) -> None:
        QApplication.instance().removeEventFilter(self)
        self.setDown(False)
        self.let_go.emit()
