"""Push-to-talk recording with QtMultimedia: 16 kHz mono 16-bit, a live level, WAV bytes on release."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtMultimedia import QAudioFormat, QAudioSource, QMediaDevices, QtAudio

from assistant.media import SAMPLE_RATE as RATE
from assistant.media import to_wav

__all__ = ["Recorder", "microphones", "to_wav", "RATE"]


def _decode(data: bytes, fmt: QAudioFormat) -> np.ndarray:
    """Raw PCM in the device's format -> float32 mono at RATE."""
    kind = fmt.sampleFormat()
    if kind == QAudioFormat.Int16:
        x = np.frombuffer(data, "<i2").astype(np.float32) / 32768
    elif kind == QAudioFormat.Int32:
        x = np.frombuffer(data, "<i4").astype(np.float32) / 2**31
    elif kind == QAudioFormat.Float:
        x = np.frombuffer(data, "<f4").astype(np.float32)
    else:  # UInt8
        x = (np.frombuffer(data, np.uint8).astype(np.float32) - 128) / 128
    channels = max(1, fmt.channelCount())
    x = x[: len(x) // channels * channels].reshape(-1, channels).mean(1)
    if fmt.sampleRate() != RATE and len(x):
        n = int(len(x) * RATE / fmt.sampleRate())
        x = np.interp(np.linspace(0, len(x) - 1, n), np.arange(len(x)), x).astype(np.float32)
    return x


def microphones() -> list[tuple[str, str]]:
    """(id, description) of every audio input."""
    return [(bytes(d.id()).decode(errors="replace"), d.description()) for d in QMediaDevices.audioInputs()]


class Recorder(QObject):
    """start() while the talk key is held, stop() on release. Emits level (0..1) and the audio itself (float32 at
    RATE, as it arrives) while recording; start(keep=False) listens without keeping a recording."""

    level = Signal(float)
    audio = Signal(object)  # np.ndarray
    failed = Signal(str)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.source: QAudioSource | None = None
        self.io = None
        self.chunks: list[bytes] = []
        self.keep = True
        self.format = QAudioFormat()
        # Poll rather than wait for readyRead: not every QtMultimedia backend emits it for pull-mode sources.
        self.poll = QTimer(self, interval=50)
        self.poll.timeout.connect(self._read)

    @property
    def recording(self) -> bool:
        """Whether the microphone is open."""
        return self.source is not None

    def start(self, device_id: str = "", keep: bool = True) -> bool:
        """Open the chosen microphone (or the default); False (and `failed`) if there is none or it fails."""
        inputs = QMediaDevices.audioInputs()
        if not inputs:
            self.failed.emit(self.tr("No microphone was found. Connect one, or attach an audio file instead."))
            return False
        device = next((d for d in inputs if bytes(d.id()).decode(errors="replace") == device_id),
                      QMediaDevices.defaultAudioInput() if not QMediaDevices.defaultAudioInput().isNull()
                      else inputs[0])
        fmt = QAudioFormat()
        fmt.setSampleRate(RATE)
        fmt.setChannelCount(1)
        fmt.setSampleFormat(QAudioFormat.Int16)
        self.format = fmt if device.isFormatSupported(fmt) else device.preferredFormat()
        self.source = QAudioSource(device, self.format, self)
        self.source.setBufferSize(self.format.bytesForDuration(2_000_000))  # 2 s: a busy event loop loses nothing
        self.chunks, self.keep = [], keep
        self.io = self.source.start()
        if self.io is None or self.source.error() != QtAudio.Error.NoError:
            self.source = None
            self.failed.emit(self.tr("The microphone '%1' could not be opened (access denied or busy).")
                             .replace("%1", device.description()))
            return False
        self.poll.start()
        return True

    def _read(self) -> None:
        if self.io is None:
            return
        data = bytes(self.io.readAll())
        if data:
            if self.keep:
                self.chunks.append(data)
            x = _decode(data, self.format)
            if len(x):
                self.level.emit(min(1.0, float(np.sqrt(np.mean(x**2))) * 6))
                self.audio.emit(x)

    def stop(self) -> bytes | None:
        """Close the microphone; the recording as 16 kHz mono WAV bytes (None if nothing was recorded)."""
        if self.source is None:
            return None
        self.poll.stop()
        self._read()
        self.source.stop()
        self.source.deleteLater()
        self.source = self.io = None
        self.level.emit(0.0)
        samples = _decode(b"".join(self.chunks), self.format)
        self.chunks = []
        return to_wav(samples) if len(samples) >= RATE // 10 else None
