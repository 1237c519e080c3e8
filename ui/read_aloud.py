"""Read answers aloud: sentences are synthesized in order on a thread of their own, and each WAV is handed to the
window as soon as it is made, so speech starts with the first sentence while the answer still streams."""

from __future__ import annotations

import queue
import shutil
import tempfile
import threading
from pathlib import Path

from PySide6.QtCore import QObject, Signal

from assistant.media import UserInputError
from assistant.speech_out import Sentences, Speaker


class ReadAloud(QObject):
    """feed() a streaming answer and finish() it, or read() a whole one; `ready` gives each sentence's WAV file in
    order, `failed` one line. stop() drops what is not spoken yet. The files go with the object."""

    ready = Signal(str)
    failed = Signal(str)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.speaker = Speaker()
        self.folder = Path(tempfile.mkdtemp(prefix="omni-read-"))
        self.sentences = Sentences()
        self.generation = 0  # bumped by stop(): sentences queued before it are dropped
        self.count = 0
        self.jobs: queue.Queue = queue.Queue()
        self.thread = threading.Thread(target=self._work, name="read-aloud", daemon=True)
        self.thread.start()
        jobs, folder = self.jobs, self.folder
        self.destroyed.connect(lambda: (jobs.put(None), shutil.rmtree(folder, ignore_errors=True)))

    def close(self) -> None:
        """End the synthesis thread (after the sentence it is on) and release the voice: the window is closing.
        A voice left to the interpreter's exit can be freed after onnxruntime's own teardown, which crashes."""
        self.stop()
        self.jobs.put(None)
        self.thread.join(timeout=10)
        self.speaker = None
        shutil.rmtree(self.folder, ignore_errors=True)

    def warm(self) -> None:
        """Load the voice on the synthesis thread now (a voice chat starts: its first answer is not kept waiting)."""
        self.jobs.put("warm")

    def read(self, text: str) -> None:
        """Speak a whole answer (what was being read stops)."""
        self.stop()
        self.feed(text)
        self.finish()

    def feed(self, delta: str) -> None:
        """More of a streaming answer: each sentence it completes is queued."""
        for sentence in self.sentences.feed(delta):
            self._queue(sentence)

    def finish(self) -> None:
        """The answer is complete: its last sentence is queued."""
        for sentence in self.sentences.flush():
            self._queue(sentence)

    def stop(self) -> None:
        """Drop everything not yet synthesized."""
        self.generation += 1
        self.sentences = Sentences()

    def _queue(self, sentence: str) -> None:
        self.count += 1
        self.jobs.put((self.generation, sentence, self.folder / f"sentence-{self.count}.wav"))

    def _work(self) -> None:
        while (job := self.jobs.get()) is not None:
            if job == "warm":
                self._warm()
                continue
            generation, sentence, out = job
            if generation != self.generation:
                continue
            try:
                data = self.speaker.to_wav(sentence)
                if len(data) <= 44:  # nothing to say (a sentence of Markdown marks only)
                    continue
                out.write_bytes(data)
            except (UserInputError, OSError, RuntimeError) as e:
                self.failed.emit(str(e))
                continue
            if generation == self.generation:
                self.ready.emit(str(out))  # queued to the window's thread

    def _warm(self) -> None:
        try:
            self.speaker.warm()
        except (UserInputError, OSError, RuntimeError) as e:
            self.failed.emit(str(e))
