"""16-bit mono WAV bytes to and from float samples: the one definition the assistant and the speech data share."""

from __future__ import annotations

import io
import wave

import numpy as np

SAMPLE_RATE = 16000  # Whisper's rate, and so every clip's the assistant and the adapters handle


def to_wav(samples: np.ndarray, rate: int = SAMPLE_RATE) -> bytes:
    """16-bit mono WAV bytes of float samples in [-1, 1] (clipped, never wrapped)."""
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes((np.clip(samples, -1, 1) * 32767).astype("<i2").tobytes())
    return buf.getvalue()


def read_wav(data: bytes) -> np.ndarray:
    """Float32 samples of 16-bit WAV bytes (its first channel's interleaving as is: the callers write mono)."""
    with wave.open(io.BytesIO(data)) as w:
        pcm = np.frombuffer(w.readframes(w.getnframes()), np.int16)
    return pcm.astype(np.float32) / 32768.0
