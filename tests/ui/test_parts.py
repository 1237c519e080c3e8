"""Markdown rendering and the recorder's audio conversion."""

import io
import wave

import numpy as np
from PySide6.QtMultimedia import QAudioFormat

from ui.markdown import render
from ui.recorder import _decode, to_wav


def test_markdown_escapes_html_and_highlights_code():
    html, blocks = render("**bold** <script>alert(1)</script>\n\n```python\nx = 1\n```\n\n| a | b |\n|---|---|\n| 1 | 2 |")
    assert "<strong>bold</strong>" in html and "<script>" not in html and "&lt;script&gt;" in html
    assert blocks == ["x = 1\n"] and 'href="copy:0"' in html and "<table>" in html and "python" in html


def test_unknown_language_and_unfenced_code_still_render():
    html, blocks = render("```nosuchlang\nfoo\n```\n\n    indented code\n")
    assert blocks == ["foo\n", "indented code\n"] and "copy:1" in html


def _fmt(rate, channels, kind):
    f = QAudioFormat()
    f.setSampleRate(rate)
    f.setChannelCount(channels)
    f.setSampleFormat(kind)
    return f


def test_recordings_become_16k_mono_wav():
    stereo48 = (np.stack([np.full(48000, 0.5), np.full(48000, -0.5)], 1) * 32767).astype("<i2")
    x = _decode(stereo48.tobytes(), _fmt(48000, 2, QAudioFormat.Int16))
    assert len(x) == 16000 and abs(float(x.mean())) < 1e-3
    floats = np.full(16000, 0.25, "<f4")
    assert np.allclose(_decode(floats.tobytes(), _fmt(16000, 1, QAudioFormat.Float)), 0.25)
    with wave.open(io.BytesIO(to_wav(np.full(8000, 2.0)))) as w:
        assert (w.getframerate(), w.getnchannels(), w.getsampwidth(), w.getnframes()) == (16000, 1, 2, 8000)
        assert np.frombuffer(w.readframes(8000), "<i2").max() == 32767  # clipped, not wrapped


def test_emitting_a_signal_keeps_every_reference():
    """PySide6 6.12.0's Signal.emit() dropped a reference to True on each call: a voice chat (its microphone emits
    20 times a second) crashed the app within minutes ("deallocating True or False"). The pinned PySide6 must not."""
    import sys

    from PySide6.QtCore import QObject, Signal

    class Source(QObject):
        level = Signal(float)

    class Sink(QObject):
        def on(self, value):
            pass

    source, sink = Source(), Sink()
    source.level.connect(sink.on)
    before = sys.getrefcount(True)
    for _ in range(200):
        source.level.emit(0.5)
    assert abs(sys.getrefcount(True) - before) < 50  # the bug loses exactly 200
