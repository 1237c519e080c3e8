"""Decoding user media with clear one-line errors: images through Pillow, audio through ffmpeg."""

from __future__ import annotations

import hashlib
import io
import os
import stat
import subprocess
import wave
from collections import OrderedDict
from pathlib import Path
from typing import Union

import numpy as np
from PIL import Image, UnidentifiedImageError

from models.encoders.wav import SAMPLE_RATE, to_wav  # noqa: F401 (to_wav: re-exported for the front ends)

MAX_IMAGE_PIXELS = 25_000_000  # decompression-bomb guard, checked before decoding: ~75 MB of RGB; a 24 MP photo fits
MAX_AUDIO_SECONDS = 600


class UserInputError(ValueError):
    """Input the user gave cannot be used; str() is a one-line message naming it."""


def _name(source: Union[Path, bytes]) -> str:
    return str(source) if isinstance(source, Path) else f"<{len(source)} bytes>"


def read_bytes(source: Union[Path, bytes]) -> bytes:
    """The raw bytes of a path or bytes source; missing, unreadable or empty input raises UserInputError."""
    if isinstance(source, bytes):
        data = source
    else:
        try:
            data = _read_regular_file(source)
        except FileNotFoundError:
            raise UserInputError(f"{source}: no such file") from None
        except OSError as e:
            raise UserInputError(f"{source}: cannot read ({e.strerror})") from None
    if not data:
        raise UserInputError(f"{_name(source)}: file is empty")
    return data


def _read_regular_file(path: Path) -> bytes:
    """A regular file's bytes. Anything else is refused before it is read: a FIFO or terminal would block forever
    and a device like /dev/zero never ends. O_NONBLOCK makes opening a FIFO return at once, and fstat judges the
    very file that was opened (no window for it to be swapped after a check)."""
    if stat.S_ISDIR(os.stat(path).st_mode):
        raise UserInputError(f"{path}: is a directory, not a file")
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    with os.fdopen(fd, "rb") as f:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise UserInputError(f"{path}: not a regular file (a pipe, socket or device); save it to a file first")
        return f.read()


def load_image(source: Union[Path, bytes]) -> Image.Image:
    """Decode an image fully (so truncation is caught now, not later) as RGB."""
    data = read_bytes(source)
    try:
        img = Image.open(io.BytesIO(data))  # reads the header only
        if img.width * img.height > MAX_IMAGE_PIXELS:
            raise Image.DecompressionBombError(f"{img.width}x{img.height}")
        img.load()
    except (UnidentifiedImageError, Image.DecompressionBombError) as e:
        reason = "image is too large" if isinstance(e, Image.DecompressionBombError) else "not an image Pillow can read"
        raise UserInputError(f"{_name(source)}: {reason}") from None
    except (OSError, SyntaxError, ValueError) as e:
        raise UserInputError(f"{_name(source)}: corrupt image ({e})") from None
    return img if img.mode == "RGB" else img.convert("RGB")  # convert() would copy an RGB image


def _pcm16_wav(data: bytes) -> np.ndarray | None:
    """Fast path for 16 kHz 16-bit PCM WAV (what the recorder writes): no ffmpeg process, ~100 ms saved."""
    if data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        return None
    try:
        with wave.open(io.BytesIO(data)) as w:
            if w.getframerate() != SAMPLE_RATE or w.getsampwidth() != 2 or w.getcomptype() != "NONE":
                return None
            channels = w.getnchannels()
            frames = w.readframes(min(w.getnframes(), MAX_AUDIO_SECONDS * SAMPLE_RATE))
    except (wave.Error, EOFError):
        return None  # let ffmpeg judge it and word the error
    pcm = np.frombuffer(frames[: len(frames) - len(frames) % (2 * channels)], np.int16).reshape(-1, channels)
    return pcm.mean(axis=1).astype(np.float32) / 32768.0


def load_audio(source: Union[Path, bytes]) -> np.ndarray:
    """Decode any audio ffmpeg reads to 16 kHz mono float32 in [-1, 1]."""
    data = read_bytes(source)
    audio = _pcm16_wav(data)
    if audio is not None:
        return _check_length(audio, source)
    cmd = ["ffmpeg", "-nostdin", "-v", "error", "-i", "pipe:0", "-t", str(MAX_AUDIO_SECONDS),
           "-f", "s16le", "-ac", "1", "-ar", str(SAMPLE_RATE), "pipe:1"]
    try:
        proc = subprocess.run(cmd, input=data, capture_output=True, timeout=120)
    except FileNotFoundError:
        raise UserInputError("ffmpeg is not installed; it is needed to read audio (apt-get install ffmpeg)") from None
    except subprocess.TimeoutExpired:
        raise UserInputError(f"{_name(source)}: decoding audio took too long") from None
    if proc.returncode != 0 or not proc.stdout:
        detail = proc.stderr.decode(errors="replace").strip().splitlines()
        why = detail[-1] if detail else "no audio stream"
        raise UserInputError(f"{_name(source)}: not a readable audio file ({why})")
    return _check_length(np.frombuffer(proc.stdout, np.int16).astype(np.float32) / 32768.0, source)


def _check_length(audio: np.ndarray, source: Union[Path, bytes]) -> np.ndarray:
    if len(audio) < SAMPLE_RATE // 10:
        raise UserInputError(f"{_name(source)}: audio is shorter than 0.1 s")
    return audio


def digest(data: bytes) -> str:
    """A content key for cached work on these bytes (the bytes themselves are not kept)."""
    return hashlib.sha1(data).hexdigest()


class LRU(OrderedDict):
    """At most `size` entries; the least recently read or written goes first."""

    def __init__(self, size: int):
        super().__init__()
        self.size = size

    def __getitem__(self, key):
        value = super().__getitem__(key)
        self.move_to_end(key)
        return value

    def get(self, key, default=None):
        """The value (now the most recently used), or default."""
        return self[key] if key in self else default

    def put(self, key, value):
        """Store value as the most recently used, forgetting the least recently used beyond `size`."""
        self[key] = value
        self.move_to_end(key)
        while len(self) > self.size:
            self.popitem(last=False)
