"""Voice activity detection for the hands-free voice conversation: Silero VAD (PyPI silero-vad, MIT, which ships its
ONNX model) scores each 32 ms frame of 16 kHz audio, and `Listener` turns the scores into utterances.

The model runs through onnxruntime directly, frame by frame with its recurrent state, so listening costs well under
a millisecond per frame on one core and needs neither torch nor the package's audio helpers.
"""

from __future__ import annotations

import importlib.util
import re
from collections import deque
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from assistant.media import SAMPLE_RATE

FRAME = 512  # samples the model scores at a time at 16 kHz (32 ms)
_CONTEXT = 64  # samples of the previous frame the model sees before each frame


def model_path() -> Path:
    """The Silero VAD ONNX file inside the installed package (found without importing it: its __init__ loads torch)."""
    spec = importlib.util.find_spec("silero_vad")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("voice detection needs silero-vad (pip install silero-vad==6.2.3)")
    return Path(next(iter(spec.submodule_search_locations))) / "data" / "silero_vad.onnx"


class SileroVad:
    """Speech probability (0..1) of each FRAME-sample frame, in order: the model keeps a state between frames."""

    def __init__(self):
        import onnxruntime

        opts = onnxruntime.SessionOptions()
        opts.inter_op_num_threads = opts.intra_op_num_threads = 1  # tiny model: threads cost more than they save
        self.session = onnxruntime.InferenceSession(str(model_path()), sess_options=opts,
                                                    providers=["CPUExecutionProvider"])
        self.rate = np.array(SAMPLE_RATE, dtype=np.int64)
        self.reset()

    def reset(self) -> None:
        """Forget the audio heard so far."""
        self.state = np.zeros((2, 1, 128), np.float32)
        self.context = np.zeros(_CONTEXT, np.float32)

    def __call__(self, frame: np.ndarray) -> float:
        x = np.concatenate([self.context, frame.astype(np.float32)])[None]  # (1, CONTEXT + FRAME)
        out, self.state = self.session.run(None, {"input": x, "state": self.state, "sr": self.rate})
        self.context = x[0, -_CONTEXT:]
        return float(out[0, 0])


@dataclass(frozen=True)
class VadOptions:
    """When a sound counts as speech and when an utterance is over. The defaults are Silero's own (threshold, and
    0.15 below it as the silence level) with a pause long enough for a breath between phrases."""

    threshold: float = 0.5  # a frame this likely to be speech starts (or continues) speech
    silence: float = 0.35  # a frame below this is silence; between the two, speech goes on
    min_speech_ms: int = 250  # shorter bursts (a cough, a click) are not an utterance
    end_silence_ms: int = 700  # a pause this long ends the utterance
    pause_ms: int = 192  # after this much silence the utterance so far is offered (Pause) for work done ahead; an
    # utterance keeps this much of its trailing silence, so a Pause's audio is the Utterance's if nothing more is said
    early_end_ms: int = 416  # a pause this long ends an utterance the listener was told sounds finished (hurry)
    pre_roll_ms: int = 300  # audio kept from before speech was detected, so the first syllable is not cut
    max_utterance_s: float = 30.0  # Whisper's window: a longer monologue is cut here and sent
    onsets: bool = False  # report where possible speech begins (Onset) and where it proved too short (FalseStart)


_FINISHED = re.compile(r"[.?!。？！]['\")]?$")  # Whisper punctuates what it hears


def sounds_finished(transcript: str) -> bool:
    """Whether a transcript of the words so far ends a question or a sentence (Whisper punctuates), so the pause
    after them may end the utterance sooner (Listener.hurry)."""
    return _FINISHED.search(transcript.strip()) is not None


# While the assistant speaks, its own voice may reach the microphone: only clear, sustained speech interrupts it.
# Its onset hushes the assistant at once (Onset); a burst too short to be speech lets it go on (FalseStart).
BARGE_IN = VadOptions(threshold=0.8, silence=0.5, min_speech_ms=400, onsets=True)


@dataclass(frozen=True)
class SpeechStarted:
    """Speech has gone on for min_speech_ms: someone is talking (the moment to stop speaking: barge-in)."""


@dataclass(frozen=True)
class Onset:
    """A frame that may begin speech (VadOptions.onsets): the moment to hush, before it is known to be speech."""


@dataclass(frozen=True)
class FalseStart:
    """What began at an Onset ended (end_silence_ms of silence) with less than min_speech_ms of speech: a click or a
    cough, not someone talking. (A short word and a pause, "Stop. What is...", is not one: the pause is shorter.)"""


@dataclass(frozen=True)
class Pause:
    """The speaker has been silent for pause_ms: the utterance so far (the audio its Utterance will have if the
    silence lasts), for work done ahead of the end of speech. Speech may still go on: nothing may act on it."""

    audio: np.ndarray
    number: int  # the listener's count of pauses: hurry(number) applies only while this one lasts


@dataclass(frozen=True)
class Resumed:
    """Speech went on after a Pause: what was worked on ahead of it is out of date."""


@dataclass(frozen=True)
class Utterance:
    """One finished utterance: its 16 kHz samples (with pause_ms of its trailing silence), and how many seconds of
    silence followed the last speech before it was declared over (the end-of-speech moment is that long before the
    event)."""

    audio: np.ndarray
    trailing_s: float


Heard = Onset | FalseStart | SpeechStarted | Pause | Resumed | Utterance  # what a Listener reports


class Listener:
    """feed() 16 kHz float32 audio as it arrives; get the events it completes (Heard). `score` is any
    frame -> probability function (SileroVad by default; tests pass a scripted one)."""

    def __init__(self, options: VadOptions = VadOptions(), score=None):
        self.options = options
        self.score = score or SileroVad()
        self.pending = np.zeros(0, np.float32)  # samples short of a whole frame
        self.before: deque[np.ndarray] = deque()  # recent silent frames (the pre-roll)
        self.speech: list[np.ndarray] | None = None  # the utterance's frames, once speech began
        self.voiced = 0  # frames since speech began
        self.quiet = 0  # silent frames in a row since the last speech frame
        self.announced = False
        self.finished = False  # hurry(): the words so far sound finished, so this pause may end the utterance sooner
        self.pauses = 0  # Pause events so far (hurry names the one it answers)

    def reset(self) -> None:
        """Drop what was heard (a partial utterance included)."""
        self.pending = np.zeros(0, np.float32)
        self.before.clear()
        self.speech, self.voiced, self.quiet, self.announced, self.finished = None, 0, 0, False, False
        if hasattr(self.score, "reset"):
            self.score.reset()

    def hurry(self, pause: int | None = None) -> None:
        """The words heard up to the current pause (or up to Pause number `pause`, if it is still the current one)
        sound finished (a question, a sentence): the pause ends the utterance after early_end_ms, not
        end_silence_ms. Speech resuming takes it back."""
        current = self.speech is not None and self.quiet >= self._frames(self.options.pause_ms)
        if current and pause in (None, self.pauses):
            self.finished = True

    def feed(self, samples: np.ndarray) -> list[Heard]:
        """More audio; the events it completes, in order."""
        self.pending = np.concatenate([self.pending, np.asarray(samples, np.float32)])
        events = []
        while len(self.pending) >= FRAME:
            frame, self.pending = self.pending[:FRAME], self.pending[FRAME:]
            event = self._frame(frame, self.score(frame))
            if event is not None:
                events.append(event)
        return events

    def _frames(self, ms: float) -> int:
        return max(1, round(ms * SAMPLE_RATE / 1000 / FRAME))

    def _frame(self, frame: np.ndarray, p: float) -> Heard | None:
        o = self.options
        if self.speech is None:
            if p < o.threshold:
                self.before.append(frame)
                while len(self.before) > self._frames(o.pre_roll_ms):
                    self.before.popleft()
                return None
            self.speech, self.voiced, self.quiet, self.announced = [*self.before, frame], 1, 0, False
            self.before.clear()
            return Onset() if o.onsets else None
        self.speech.append(frame)
        self.voiced += 1
        tail = self._frames(o.pause_ms)
        paused = self.quiet >= tail
        self.quiet = self.quiet + 1 if p < o.silence else (0 if p >= o.threshold else self.quiet)
        self.finished = self.finished and self.quiet > 0
        spoken = self.voiced - self.quiet  # frames from the start of speech to its last speech frame
        if paused and self.quiet == 0:
            return Resumed()
        end = self._frames(o.early_end_ms if self.finished else o.end_silence_ms)
        if self.quiet >= end or self.voiced >= self._frames(o.max_utterance_s * 1000):
            kept = len(self.speech) - max(0, self.quiet - tail)  # the trailing silence beyond pause_ms goes
            audio, trailing = np.concatenate(self.speech[:kept]), self.quiet * FRAME / SAMPLE_RATE
            self.speech, self.voiced, self.quiet, self.finished = None, 0, 0, False
            if spoken < self._frames(o.min_speech_ms):
                return FalseStart() if o.onsets else None  # a click or a cough: not an utterance
            return Utterance(audio, trailing)
        if self.quiet == tail and spoken >= self._frames(o.min_speech_ms):
            self.pauses += 1
            return Pause(np.concatenate(self.speech), self.pauses)
        if not self.announced and self.quiet == 0 and spoken >= self._frames(o.min_speech_ms):
            self.announced = True
            return SpeechStarted()
        return None
