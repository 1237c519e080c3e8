"""The voice conversation's ears: the microphone stays open and voice activity detection (assistant.vad) finds
where each utterance starts and ends, so no key is held."""

from __future__ import annotations

import time

from PySide6.QtCore import QObject, Signal

from assistant.media import to_wav
from assistant.vad import BARGE_IN, FalseStart, Listener, Onset, Pause, Resumed, SpeechStarted, Utterance, VadOptions
from ui.recorder import Recorder


class HandsFree(QObject):
    """start() listens until stop(). `speech_started` when someone starts talking (the cue to stop speaking),
    `heard` with each finished utterance (WAV bytes, and the time.monotonic() at which its speech ended);
    `pausing` with the utterance so far at a short pause (WAV bytes, the pause's number for hurry): the WAV the
    utterance will have if the pause lasts, for work done ahead; `resumed` when speech goes on after it. In "strict"
    mode, `onset` where possible speech begins and `false_start` where it proved a click or a cough."""

    onset = Signal()
    false_start = Signal()
    speech_started = Signal()
    pausing = Signal(bytes, int)
    resumed = Signal()
    heard = Signal(bytes, float)
    level = Signal(float)
    failed = Signal(str)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.recorder = Recorder(self)
        self.recorder.audio.connect(self._on_audio)
        self.recorder.level.connect(self.level)
        self.recorder.failed.connect(self.failed)
        self.listener: Listener | None = None  # made on the first start (loads the model, ~50 ms)
        self.mode = "listening"

    @property
    def listening(self) -> bool:
        """Whether the microphone is open."""
        return self.recorder.recording

    def start(self, device_id: str = "") -> bool:
        """Open the microphone and listen; False (and `failed`) if it cannot be opened."""
        if self.listening:
            return True
        if self.listener is None:
            try:
                self.listener = Listener()
            except (RuntimeError, OSError, ImportError) as e:  # silero-vad or onnxruntime missing or broken
                self.failed.emit(self.tr("Voice detection is not available: %1").replace("%1", str(e)))
                return False
        self.listener.reset()
        self.set_mode(self.mode)
        return self.recorder.start(device_id, keep=False)

    def stop(self) -> None:
        """Close the microphone; a half-heard utterance is dropped."""
        self.recorder.stop()
        if self.listener is not None:
            self.listener.reset()

    def close(self) -> None:
        """Stop listening and release the voice-detection model (the window is closing)."""
        self.stop()
        self.listener = None

    def set_mode(self, mode: str) -> None:
        """"listening"; "strict" while the assistant speaks (its own voice may reach the microphone, so only
        clear, sustained speech counts); "deaf" to hear nothing (what was half-heard is dropped)."""
        self.mode = mode
        if self.listener is not None:
            self.listener.options = BARGE_IN if mode == "strict" else VadOptions()
            if mode == "deaf":
                self.listener.reset()

    def hurry(self, pause: int) -> None:
        """The words heard up to that pause sound finished: if it still lasts, it ends the utterance sooner."""
        if self.listener is not None:
            self.listener.hurry(pause)

    def _on_audio(self, samples) -> None:
        if self.listener is None or self.mode == "deaf":
            return
        for event in self.listener.feed(samples):
            if isinstance(event, Onset):
                self.onset.emit()
            elif isinstance(event, FalseStart):
                self.false_start.emit()
            elif isinstance(event, SpeechStarted):
                self.speech_started.emit()
            elif isinstance(event, Pause):
                self.pausing.emit(to_wav(event.audio), event.number)
            elif isinstance(event, Resumed):
                self.resumed.emit()
            elif isinstance(event, Utterance):
                self.heard.emit(to_wav(event.audio), time.monotonic() - event.trailing_s)
