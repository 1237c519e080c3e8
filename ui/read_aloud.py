"""Read an answer aloud: the synthesis runs on a thread of its own, the WAV it makes is played by the window."""

from __future__ import annotations

import shutil
import tempfile
import threading
from pathlib import Path

from PySide6.QtCore import QObject, Signal

from assistant.media import UserInputError
from assistant.speech_out import Speaker


class ReadAloud(QObject):
    """read(text) emits `ready` with a WAV file of it, or `failed` with one line; the files go with the object."""

    ready = Signal(str)
    failed = Signal(str)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.speaker = Speaker()
        self.folder = Path(tempfile.mkdtemp(prefix="omni-read-"))
        self.count = 0
        self.destroyed.connect(lambda: shutil.rmtree(self.folder, ignore_errors=True))

    def read(self, text: str) -> None:
        """Synthesize in the background (the first use loads the voice, about a second)."""
        self.count += 1
        out = self.folder / f"answer-{self.count}.wav"

        def work() -> None:
            try:
                out.write_bytes(self.speaker.to_wav(text))
            except (UserInputError, OSError, RuntimeError) as e:
                self.failed.emit(str(e))
                return
            self.ready.emit(str(out))  # queued to the window's thread

        threading.Thread(target=work, name="read-aloud", daemon=True).start()
