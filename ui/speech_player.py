"""Speak the read-aloud sentences through the app's own audio sink, fed a little at a time.

Stopping a QMediaPlayer lets what it already handed the sound server play out (about 0.6 s: a barge-in took 0.8 s);
the sink's reset() drops it, so stop() is silent at once (1-2 ms on the sound server's monitor), and hold() corks the
stream (silent within 10 ms) and keeps its place, for a sound that may be someone talking over it. The sink stays open
between sentences and answers: the first sound stream of a process takes about 1.8 s to start playing, so warm()
opens one before the first answer is ready (a voice chat starts), and later ones start within 20-40 ms."""

from __future__ import annotations

import time
import wave
from collections import deque
from pathlib import Path

import numpy as np
from PySide6.QtCore import QObject, QTimer, Signal

BUFFER_S = 0.25  # what the sink holds ahead: the GUI thread that tops it up may be busy this long without a gap
FEED_MS = 20  # how often it is topped up
WARM_FORMAT = (22050, 1)  # piper's: the voice read-aloud uses unless the settings pick another


class SpeechPlayer(QObject):
    """play() queues a WAV file (PCM, as the voices make); sentences play in order without a gap. `started` when a
    sentence's first sound goes to the sink, `finished` when the last queued one has played out, `failed` one line.
    stop() silences it at once and drops the queue; hold() silences it at once and keeps its place."""

    started = Signal()
    finished = Signal()
    failed = Signal(str)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.queue: deque[tuple[tuple[int, int], bytes]] = deque()  # ((rate, channels), 16-bit PCM) waiting
        self.pcm = b""  # the sentence being fed, from `fed` on
        self.fed = 0
        self.format: tuple[int, int] | None = None  # the open sink's (rate, channels)
        self.sink = None
        self.device = None  # the QIODevice the sink plays from
        self.written = 0  # bytes written since the sink (re)started
        self.drained_at = 0.0  # time.monotonic() when all written was handed to the sound server
        self.held = False
        self.timer = QTimer(self, interval=FEED_MS)
        self.timer.timeout.connect(self._feed)

    @property
    def playing(self) -> bool:
        """A sentence is playing or waiting to."""
        return self.timer.isActive()

    def warm(self) -> None:
        """Open the sink now (see the module's docstring), with a moment of silence."""
        if self.sink is None and self._open(WARM_FORMAT):
            self.device.write(bytes(int(0.02 * WARM_FORMAT[0]) * 2 * WARM_FORMAT[1]))

    def play(self, path: Path) -> None:
        try:
            self.queue.append(read_pcm(path))
        except (OSError, wave.Error, EOFError, ValueError) as e:
            self.failed.emit(f"{Path(path).name}: {e}")
            return
        if not self.timer.isActive():
            self.timer.start()
            self._feed()

    def hold(self, on: bool) -> None:
        """Silence the speech where it is (the sound server's stream is corked), or go on from there."""
        if on == self.held or self.sink is None:
            return
        self.held = on
        if on:
            self.sink.suspend()
        else:
            self.sink.resume()

    def stop(self) -> None:
        self.held = False
        self.queue.clear()
        self.pcm, self.fed = b"", 0
        self.timer.stop()
        if self.sink is not None:
            self.sink.reset()  # what the sink and the sound server hold is dropped, not played out
            self._restart()

    def close(self) -> None:
        self.stop()
        if self.sink is not None:
            self.sink.stop()
            self.sink = self.device = None

    def _feed(self) -> None:
        if self._broken():
            self.failed.emit(self.tr("The sound output failed"))
            self.close()
            self.finished.emit()
            return
        if self.fed >= len(self.pcm):
            if self.queue and self.queue[0][0] == self.format:
                self._next()
            elif self._played_out():  # (a sentence at another rate waits for it: its sink replaces this one)
                if self.queue:
                    self._next()
                else:
                    self.timer.stop()
                    self.finished.emit()
            return
        free = self.sink.bytesFree()
        if free > 0:
            n = self.device.write(self.pcm[self.fed:self.fed + free])
            self.fed += max(n, 0)
            self.written += max(n, 0)

    def _next(self) -> None:
        audio_format, self.pcm = self.queue.popleft()
        self.fed, self.drained_at = 0, 0.0
        if self._open(audio_format):
            self.started.emit()
            self._feed()
        else:
            self.stop()
            self.finished.emit()

    def _broken(self) -> bool:
        """The sound server refused or lost the stream (an underrun, the sink running dry, is no failure)."""
        from PySide6.QtMultimedia import QAudio

        failures = (QAudio.Error.OpenError, QAudio.Error.IOError, QAudio.Error.FatalError)
        return self.sink is not None and self.sink.error() in failures

    def _played_out(self) -> bool:
        """All written has been handed to the sound server, and the server's last BUFFER_S of it has played."""
        if self.sink is None:
            return True
        if self.held:
            return False
        rate, channels = self.format
        if self.sink.processedUSecs() < self.written * 1e6 / (2 * rate * channels) - 1e3:
            return False
        self.drained_at = self.drained_at or time.monotonic()
        return time.monotonic() - self.drained_at >= BUFFER_S

    def _open(self, audio_format: tuple[int, int]) -> bool:
        """The sink for this rate and channel count, opened if it is not: False (and `failed`) without one."""
        if self.sink is not None and self.format == audio_format:
            return True
        if self.sink is not None:
            self.sink.stop()
        self.format, self.sink = audio_format, open_sink(*audio_format)
        if self.sink is None:
            self.failed.emit(self.tr("No sound output device"))
            return False
        self._restart()
        return True

    def _restart(self) -> None:
        self.device, self.written = self.sink.start(), 0


def read_pcm(path: Path) -> tuple[tuple[int, int], bytes]:
    """((rate, channels), 16-bit PCM) of a WAV file; a WAV of another sample width is converted to 16 bits."""
    with wave.open(str(path)) as w:
        rate, channels, width = w.getframerate(), w.getnchannels(), w.getsampwidth()
        data = w.readframes(w.getnframes())
    if width == 1:
        data = ((np.frombuffer(data, np.uint8).astype(np.int16) - 128) << 8).tobytes()
    elif width == 4:
        data = (np.frombuffer(data, "<i4") >> 16).astype("<i2").tobytes()
    elif width != 2:
        raise ValueError(f"{8 * width}-bit audio is not supported")
    return (rate, channels), data


def open_sink(rate: int, channels: int):
    """A QAudioSink on the default output for 16-bit PCM at this rate, with a BUFFER_S buffer; None without one."""
    from PySide6.QtMultimedia import QAudioFormat, QAudioSink, QMediaDevices

    device = QMediaDevices.defaultAudioOutput()
    if device.isNull():
        return None
    fmt = QAudioFormat()
    fmt.setSampleRate(rate)
    fmt.setChannelCount(channels)
    fmt.setSampleFormat(QAudioFormat.SampleFormat.Int16)
    sink = QAudioSink(device, fmt)
    sink.setBufferSize(int(BUFFER_S * rate) * channels * 2)
    return sink
