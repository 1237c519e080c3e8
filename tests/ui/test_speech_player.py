"""The read-aloud player (ui.speech_player): sentences in order without a gap, stop() and hold() silent at once, a
sentence at another rate waiting for the last to play out; on a fake sink, and on the real one through PulseAudio's
virtual headphones (what they play is read on their monitor)."""

import time
import wave

import numpy as np
import pytest

import ui.speech_player as sp


def write_wav(path, seconds=0.5, rate=22050, width=2, tone=True):
    t = np.arange(int(seconds * rate)) / rate
    wave_ = 0.5 * np.sin(2 * np.pi * 440 * t) if tone else np.zeros_like(t)
    pcm = {1: ((wave_ * 127) + 128).astype(np.uint8), 2: (wave_ * 32767).astype("<i2"),
           4: (wave_ * 2 ** 31 * 0.99).astype("<i4")}[width]
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1), w.setsampwidth(width), w.setframerate(rate)
        w.writeframes(pcm.tobytes())
    return path


class FakeSink:
    """Takes CHUNK bytes a call (none while suspended) and plays them at once: processedUSecs is what was written."""

    CHUNK = 4410

    def __init__(self, rate, channels, log):
        self.rate, self.channels, self.log = rate, channels, log
        self.data = bytearray()
        self.suspended = False
        self.failure = None  # a QAudio.Error to report

    def error(self):
        from PySide6.QtMultimedia import QAudio

        return self.failure or QAudio.Error.NoError

    def suspend(self):
        self.suspended = True

    def resume(self):
        self.suspended = False

    def start(self):
        self.log.append(("start", self.rate))
        self.data, self.suspended = bytearray(), False
        return self

    def write(self, chunk):
        self.data += chunk
        return len(chunk)

    def bytesFree(self):
        return 0 if self.suspended else self.CHUNK

    def processedUSecs(self):
        return int(len(self.data) * 1e6 / (2 * self.rate * self.channels))

    def reset(self):
        self.log.append(("reset", self.rate))

    def stop(self):
        self.log.append(("stop", self.rate))


@pytest.fixture
def fake_sinks(monkeypatch):
    log, sinks = [], []

    def open_sink(rate, channels):
        sinks.append(FakeSink(rate, channels, log))
        return sinks[-1]
    monkeypatch.setattr(sp, "open_sink", open_sink)
    return sinks, log


def player_with_signals(qtbot):
    player = sp.SpeechPlayer()
    events = []
    player.started.connect(lambda: events.append("started"))
    player.finished.connect(lambda: events.append("finished"))
    player.failed.connect(lambda m: events.append(m))
    return player, events


def start_playing(qtbot, player, sinks, tmp_path, seconds, clips=2):
    """Queue clips 1.wav, 2.wav, ... of `seconds` each and wait until the first reaches the (one) sink."""
    for i in range(1, clips + 1):
        player.play(write_wav(tmp_path / f"{i}.wav", seconds))
    qtbot.waitUntil(lambda: len(sinks) == 1 and len(sinks[0].data) > 0, timeout=5000)


def test_sentences_play_in_order_without_a_gap(qtbot, fake_sinks, tmp_path):
    sinks, _ = fake_sinks
    player, events = player_with_signals(qtbot)
    first, second = write_wav(tmp_path / "1.wav", 0.3), write_wav(tmp_path / "2.wav", 0.2, tone=False)
    player.play(first)
    player.play(second)
    assert player.playing
    qtbot.waitUntil(lambda: "finished" in events, timeout=5000)
    assert events == ["started", "started", "finished"] and not player.playing
    assert len(sinks) == 1 and bytes(sinks[0].data) == sp.read_pcm(first)[1] + sp.read_pcm(second)[1]


def test_finished_waits_for_the_sound_server_to_play_what_it_holds(qtbot, fake_sinks, tmp_path):
    sinks, _ = fake_sinks
    player, events = player_with_signals(qtbot)
    player.play(write_wav(tmp_path / "1.wav", 0.1))
    qtbot.waitUntil(lambda: len(sinks) == 1 and len(sinks[0].data) == len(sp.read_pcm(tmp_path / "1.wav")[1]),
                    timeout=5000)
    written = time.monotonic()
    qtbot.waitUntil(lambda: "finished" in events, timeout=5000)
    assert time.monotonic() - written >= sp.BUFFER_S


def test_stop_drops_what_the_sink_holds_and_the_queue(qtbot, fake_sinks, tmp_path):
    sinks, log = fake_sinks
    player, events = player_with_signals(qtbot)
    start_playing(qtbot, player, sinks, tmp_path, 2.0)
    player.stop()
    assert log[-2:] == [("reset", 22050), ("start", 22050)]  # dropped, and ready again at once
    assert not player.playing and not player.queue
    qtbot.wait(100)
    assert events == ["started"] and len(sinks[0].data) == 0  # nothing more was written, nothing else started
    player.play(tmp_path / "2.wav")  # it plays again
    qtbot.waitUntil(lambda: "finished" in events, timeout=10_000)
    assert len(sinks) == 1


def test_hold_keeps_the_place_and_the_queue(qtbot, fake_sinks, tmp_path):
    sinks, _ = fake_sinks
    player, events = player_with_signals(qtbot)
    start_playing(qtbot, player, sinks, tmp_path, 0.5)
    player.hold(True)
    assert sinks[0].suspended
    held_at = len(sinks[0].data)
    qtbot.wait(300)
    assert len(sinks[0].data) == held_at and player.playing and events == ["started"]  # nothing fed, nothing ended
    player.hold(False)
    qtbot.waitUntil(lambda: "finished" in events, timeout=5000)
    assert bytes(sinks[0].data) == sp.read_pcm(tmp_path / "1.wav")[1] + sp.read_pcm(tmp_path / "2.wav")[1]
    player.play(tmp_path / "1.wav")
    player.hold(True)
    player.stop()  # a stop ends the hold too
    assert not player.held and not sinks[0].suspended


def test_a_sentence_at_another_rate_waits_for_the_last_to_play_out(qtbot, fake_sinks, tmp_path):
    sinks, log = fake_sinks
    player, events = player_with_signals(qtbot)
    player.play(write_wav(tmp_path / "1.wav", 0.2, rate=22050))
    player.play(write_wav(tmp_path / "2.wav", 0.2, rate=16000))
    qtbot.waitUntil(lambda: "finished" in events, timeout=5000)
    assert [s.rate for s in sinks] == [22050, 16000] and events == ["started", "started", "finished"]
    assert log.index(("stop", 22050)) < log.index(("start", 16000))


def test_warm_opens_the_sink_before_the_first_sentence(qtbot, fake_sinks, tmp_path):
    sinks, _ = fake_sinks
    player, events = player_with_signals(qtbot)
    player.warm()
    assert len(sinks) == 1 and sinks[0].data and not any(sinks[0].data)  # a moment of silence
    player.play(write_wav(tmp_path / "1.wav", 0.1, rate=sp.WARM_FORMAT[0]))
    qtbot.waitUntil(lambda: "finished" in events, timeout=5000)
    assert len(sinks) == 1  # the warm one played it


def test_bad_files_and_no_sound_output_are_one_line_each(qtbot, fake_sinks, monkeypatch, tmp_path):
    player, events = player_with_signals(qtbot)
    (tmp_path / "bad.wav").write_bytes(b"RIFF\0\0\0\0WAVEjunk")
    player.play(tmp_path / "bad.wav")
    assert len(events) == 1 and events[0].startswith("bad.wav: ") and "\n" not in events[0]
    assert not player.playing
    monkeypatch.setattr(sp, "open_sink", lambda rate, channels: None)
    events.clear()
    player.play(write_wav(tmp_path / "1.wav", 0.1))
    qtbot.waitUntil(lambda: "finished" in events, timeout=5000)
    assert events == ["No sound output device", "finished"] and not player.playing


def test_a_stream_the_sound_server_drops_ends_the_speech_with_one_line(qtbot, fake_sinks, tmp_path):
    from PySide6.QtMultimedia import QAudio

    sinks, log = fake_sinks
    player, events = player_with_signals(qtbot)
    start_playing(qtbot, player, sinks, tmp_path, 2.0, clips=1)
    sinks[0].failure = QAudio.Error.UnderrunError  # it ran dry for a moment: no failure
    qtbot.wait(100)
    assert player.playing
    sinks[0].failure = QAudio.Error.IOError
    qtbot.waitUntil(lambda: "finished" in events, timeout=5000)
    assert events == ["started", "The sound output failed", "finished"] and not player.playing
    assert player.sink is None and ("stop", 22050) in log  # the next sentence opens a new one
    player.play(tmp_path / "1.wav")
    qtbot.waitUntil(lambda: len(sinks) == 2, timeout=5000)


@pytest.mark.parametrize("width", [1, 4])
def test_8_and_32_bit_audio_is_played_as_16_bit(tmp_path, width):
    (rate, channels), pcm = sp.read_pcm(write_wav(tmp_path / "a.wav", 0.1, width=width))
    ref = np.frombuffer(sp.read_pcm(write_wav(tmp_path / "b.wav", 0.1))[1], "<i2").astype(float)
    assert (rate, channels) == (22050, 1)
    assert np.abs(np.frombuffer(pcm, "<i2") - ref).max() <= 2 * 256  # within two of 8-bit audio's steps


def test_the_real_sink_plays_holds_and_stops_at_once(qtbot, microphone, tmp_path):
    from tools.virtual_mic import HEADPHONES, Monitor

    if microphone is None:
        pytest.skip("PulseAudio is not installed")
    with Monitor(HEADPHONES) as heard:
        player, events = player_with_signals(qtbot)
        player.warm()
        started = time.monotonic()
        player.play(write_wav(tmp_path / "long.wav", 3.0))
        qtbot.waitUntil(lambda: heard.first_loud(started) is not None, timeout=10_000)
        player.hold(True)
        held = time.monotonic()
        qtbot.wait(700)
        assert heard.first_loud(held + 0.3) is None  # silent while held
        player.hold(False)
        qtbot.waitUntil(lambda: heard.first_loud(held + 0.7) is not None, timeout=5000)  # and on again
        player.hold(True)
        player.stop()
        stopped = time.monotonic()
        qtbot.wait(1000)
        assert heard.first_loud(stopped + 0.3) is None  # a 3 s tone, silent after stop (a media player's went on)
        player.play(write_wav(tmp_path / "short.wav", 0.3))  # held, then stopped: it plays the next
        qtbot.waitUntil(lambda: "finished" in events, timeout=10_000)
        assert heard.first_loud(stopped + 0.3) is not None
        player.close()
