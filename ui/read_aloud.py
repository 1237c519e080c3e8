"""Read answers aloud: sentences are synthesized in order on a thread of their own, and each plays (ui.speech_player)
as soon as it is made, so speech starts with the first sentence while the answer still streams."""

from __future__ import annotations

import queue
import shutil
import tempfile
import threading
from pathlib import Path

from PySide6.QtCore import QObject, Signal

from assistant.media import UserInputError
from assistant.speech_out import Sentences, Speaker
from ui.speech_player import SpeechPlayer


class ReadAloud(QObject):
    """feed() a streaming answer and finish() it, or read() a whole one; `ready` gives each sentence's WAV file in
    order as it goes to the player, `failed` one line; the player's `started` and `finished` say when a sentence
    starts to sound and when the last has. stop() silences it and drops what is not spoken yet. The files go with
    the object."""

    ready = Signal(str)
    failed = Signal(str)
    _made = Signal(int, str)  # (generation, WAV file), from the synthesis thread

    def __init__(self, parent=None):
        super().__init__(parent)
        self.player = SpeechPlayer(self)
        self.player.failed.connect(self.failed)
        self._made.connect(self._play)  # queued to this object's thread
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
        self.player.close()
        self.jobs.put(None)
        self.thread.join(timeout=10)
        self.speaker = None
        shutil.rmtree(self.folder, ignore_errors=True)

    @property
    def speaking(self) -> bool:
        """A sentence is playing or waiting to (one being synthesized is not counted)."""
        return self.player.playing

    def warm(self) -> None:
        """Load the voice on the synthesis thread and open the sound output now (a voice chat starts: its first
        answer is not kept waiting)."""
        self.jobs.put("warm")
        self.player.warm()

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
        """Silence: what plays stops, what is queued or not yet synthesized is dropped."""
        self.generation += 1
        self.sentences = Sentences()
        self.player.stop()

    def _play(self, generation: int, path: str) -> None:
        if generation == self.generation:  # not stopped since it was made
            self.ready.emit(path)
            self.player.play(Path(path))

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
                self._made.emit(generation, str(out))

    def _warm(self) -> None:
        try:
            self.speaker.warm()
        except (UserInputError, OSError, RuntimeError) as e:
            self.failed.emit(str(e))
