"""The hands-free voice chat's rules, apart from the window: listen (ui.hands_free), hand each utterance to the window
to ask, speak the answer (the window reads it aloud), listen again; talking over the answer stops it (barge-in).

Work starts before the user is known to have finished: at a short pause the utterance so far goes to the window to
rehearse (transcribe it, prefill the prompt and decode the answer's first tokens, which the engine keeps; nothing is
stored, shown or spoken), so when the pause lasts the answer starts from them at once; and when the rehearsal heard
a finished question or sentence, the pause that ends the utterance is shorter."""

from __future__ import annotations

import time

from PySide6.QtCore import QObject, Signal

from assistant.vad import sounds_finished
from ui.hands_free import HandsFree


class VoiceChat(QObject):
    """The window starts and stops it and tells it what the assistant is doing (answering, speaking, a sentence
    starting); it asks the window to send what it heard (`ask`, WAV bytes) and to stop the answer and its speech when
    talked over (`interrupt`; `hush` silences the speech from the first sound that may be talking, and lets it go
    on if that was no more than a click or a cough), and says what it is doing (`status`). first_audio keeps, per
    spoken question, the seconds from the end of its speech to the first spoken audio of its answer."""

    ask = Signal(bytes)
    rehearse = Signal(bytes, int)  # the utterance so far, at a pause (its number, for heard_ahead)
    resumed = Signal()  # speech went on after that pause: its rehearsal is out of date
    interrupt = Signal()
    hush = Signal(bool)  # talking may have begun over the answer's speech: silence it (True), or go on (False)
    status = Signal(str)
    level = Signal(float)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.ears: HandsFree | None = None  # made on the first start
        self.on = False
        self.barge_in = True
        self.answering = False  # an answer streams
        self.speaking = False  # the assistant is speaking
        self.waiting: bytes | None = None  # heard while a stopped answer winds down: asked when it has
        self.end_of_speech = 0.0  # time.monotonic() when the question being answered stopped being spoken
        self.first_audio: list[float] = []

    def start(self, microphone: str, barge_in: bool) -> bool:
        """Open the microphone and listen; False (and a status) if it cannot be opened."""
        if self.ears is None:
            self.ears = HandsFree(self)
            self.ears.speech_started.connect(self._on_speech_started)
            self.ears.onset.connect(lambda: self.speaking and self.hush.emit(True))
            self.ears.false_start.connect(lambda: self.speaking and self.hush.emit(False))
            self.ears.heard.connect(self._on_heard)
            self.ears.pausing.connect(self._on_pausing)
            self.ears.resumed.connect(self.resumed)
            self.ears.level.connect(self.level)
            self.ears.failed.connect(self.status)
        self.barge_in = barge_in
        self.on = self.ears.start(microphone)
        if self.on:
            self._set_mode()
            self.status.emit(self.tr("Voice chat: listening… (talk; F9 ends it)"))
        return self.on

    def stop(self) -> None:
        """Stop listening; what was heard and not yet asked is dropped."""
        if self.on:
            self.on, self.waiting = False, None
            self.ears.stop()
            self.hush.emit(False)  # a hushed answer goes on being read
            self.status.emit(self.tr("Voice chat ended"))

    def close(self) -> None:
        """The window closes: release the microphone and the voice-detection model."""
        self.stop()
        if self.ears is not None:
            self.ears.close()

    def set_speaking(self, speaking: bool) -> None:
        """The assistant started or stopped speaking. While it speaks, only clear speech counts (its own voice may
        reach the microphone), or, with barge-in off (loudspeakers), nothing."""
        self.speaking = speaking
        self._set_mode()
        if self.on and not speaking and not self.answering:
            self.status.emit(self.tr("Voice chat: listening…"))

    def sentence_started(self) -> None:
        """A spoken sentence of the answer starts playing."""
        if not self.on:
            return
        if self.end_of_speech:  # the first audio of a spoken question's answer
            self.first_audio.append(time.monotonic() - self.end_of_speech)
            self.end_of_speech = 0.0
        self.status.emit(self.tr("Voice chat: speaking… (talk to interrupt)") if self.barge_in
                         else self.tr("Voice chat: speaking…"))

    def answered(self) -> None:
        """The answer ended (done, stopped or failed): ask what was heard while it wound down."""
        self.answering = False
        if self.waiting is not None and self.on:
            wav, self.waiting = self.waiting, None
            self.ask.emit(wav)

    def heard_ahead(self, text: str, pause: int) -> None:
        """A rehearsal's transcript of the words up to a pause: if they sound finished and the pause still lasts,
        it ends the utterance sooner."""
        if self.on and self.ears is not None and sounds_finished(text):
            self.ears.hurry(pause)

    def _on_pausing(self, wav: bytes, pause: int) -> None:
        if self.on and not self.answering and not self.speaking:  # else the engine is busy, or this is barge-in
            self.rehearse.emit(wav, pause)

    def _set_mode(self) -> None:
        if self.ears is not None:
            self.ears.set_mode("listening" if not self.speaking else "strict" if self.barge_in else "deaf")

    def _on_speech_started(self) -> None:
        if self.answering or self.speaking:  # talked over: the answer and its speech stop
            self.interrupt.emit()
        self.status.emit(self.tr("Voice chat: hearing you…"))

    def _on_heard(self, wav: bytes, ended: float) -> None:
        if not self.on:
            return
        self.end_of_speech = ended
        if self.answering:  # the stopped answer is still winding down on the engine's thread: this one follows it
            self.waiting = wav
        else:
            self.ask.emit(wav)

