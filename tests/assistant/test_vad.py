"""Voice activity detection: the utterance logic on scripted scores, and Silero's model on real speech and noise."""

import numpy as np
import pytest

from assistant.media import SAMPLE_RATE, load_audio
from assistant.vad import (BARGE_IN, FRAME, FalseStart, Listener, Onset, Pause, Resumed, SpeechStarted, Utterance,
                           VadOptions)
from models.training.data.real_speech import ALSA


class Scripted:
    """Scores frames from a list of probabilities (then silence)."""

    def __init__(self, probs):
        self.probs = list(probs)

    def __call__(self, frame):
        return self.probs.pop(0) if self.probs else 0.0


def frames(n):
    return np.full(n * FRAME, 0.01, np.float32)


def feed_all(listener, n_frames, chunk=800):
    """Feed n frames of audio in odd-sized chunks, as a microphone delivers them."""
    audio, events = frames(n_frames), []
    for i in range(0, len(audio), chunk):
        events += listener.feed(audio[i : i + chunk])
    return events


def test_an_utterance_starts_after_min_speech_and_ends_after_the_pause():
    o = VadOptions(min_speech_ms=250, end_silence_ms=700, pre_roll_ms=300)
    speech = 30  # frames (~1 s)
    listener = Listener(o, Scripted([0.0] * 20 + [0.9] * speech + [0.1] * 40))
    events = feed_all(listener, 20 + speech + 40)
    assert [type(e) for e in events] == [SpeechStarted, Pause, Utterance]
    pause, utterance = events[1:]
    pre, kept, quiet = round(300 / 32), round(192 / 32), round(700 / 32)
    assert len(utterance.audio) == (pre + speech + kept) * FRAME  # the pre-roll keeps the first syllable
    assert np.array_equal(pause.audio, utterance.audio)  # what was worked on ahead is what is asked
    assert utterance.trailing_s == pytest.approx(quiet * FRAME / SAMPLE_RATE)


def test_an_utterance_that_sounds_finished_ends_at_a_shorter_pause_unless_speech_resumes():
    listener = Listener(VadOptions(), Scripted([0.9] * 30 + [0.1] * 8 + [0.9] * 20 + [0.1] * 30))
    events = feed_all(listener, 30 + 6)
    assert isinstance(events[-1], Pause)
    listener.hurry()  # e.g. the words so far end with a question mark
    events = feed_all(listener, 2 + 20 + 14)  # speech resumed: the hurry is taken back, 14 quiet frames are not 22
    assert [type(e) for e in events] == [Resumed, Pause]
    assert isinstance(feed_all(listener, 8)[-1], Utterance)  # 22 frames: the usual 700 ms
    listener = Listener(VadOptions(), Scripted([0.9] * 30 + [0.1] * 30))
    feed_all(listener, 36)
    listener.hurry()
    [utterance] = [e for e in feed_all(listener, 7) if isinstance(e, Utterance)]  # 13 quiet frames: 416 ms
    assert utterance.trailing_s == pytest.approx(13 * FRAME / SAMPLE_RATE)


def test_a_click_is_not_an_utterance_and_a_breath_does_not_split_one():
    o = VadOptions(min_speech_ms=250, end_silence_ms=700)
    click = [0.9] * 3 + [0.0] * 40  # 96 ms
    phrase = [0.9] * 20 + [0.0] * 10 + [0.9] * 20 + [0.0] * 40  # a 320 ms breath inside
    events = feed_all(Listener(o, Scripted(click + phrase)), len(click) + len(phrase))
    assert [type(e) for e in events] == [SpeechStarted, Pause, Resumed, Pause, Utterance]  # the breath: resumed


def test_uncertain_frames_neither_start_nor_end_speech():
    o = VadOptions(threshold=0.5, silence=0.35, end_silence_ms=320)
    events = feed_all(Listener(o, Scripted([0.4] * 30)), 30)
    assert events == []
    probs = [0.9] * 10 + [0.4] * 30 + [0.1] * 10  # 0.4 continues speech; only true silence ends it
    events = feed_all(Listener(o, Scripted(probs)), len(probs))
    assert isinstance(events[-1], Utterance)
    assert len(events[-1].audio) >= 40 * FRAME


def test_a_monologue_is_cut_at_the_limit_and_reset_drops_a_partial_one():
    o = VadOptions(max_utterance_s=1.0)
    listener = Listener(o, Scripted([0.9] * 100))
    utterances = [e for e in feed_all(listener, 40) if isinstance(e, Utterance)]
    assert len(utterances) == 1 and len(utterances[0].audio) <= (1.0 + 0.3 + 0.05) * SAMPLE_RATE  # + pre-roll
    listener = Listener(VadOptions(), Scripted([0.9] * 20))
    assert feed_all(listener, 20)
    listener.reset()
    assert feed_all(listener, 40) == []


def test_barge_in_needs_clearer_longer_speech():
    probs = [0.7] * 20 + [0.0] * 40  # speech for a normal turn, not enough to talk over the assistant
    assert any(isinstance(e, Utterance) for e in feed_all(Listener(VadOptions(), Scripted(probs)), 60))
    assert feed_all(Listener(BARGE_IN, Scripted(probs)), 60) == []


def test_over_the_assistant_the_onset_of_a_sound_is_reported_and_a_cough_is_told_apart():
    cough = [0.9] * 5 + [0.0] * 30  # 160 ms: short of BARGE_IN's 400 ms of speech
    talk = [0.9] * 20 + [0.0] * 30
    events = feed_all(Listener(BARGE_IN, Scripted(cough + talk)), len(cough) + len(talk))
    assert [type(e) for e in events] == [Onset, FalseStart, Onset, SpeechStarted, Pause, Utterance]
    assert not any(isinstance(e, (Onset, FalseStart)) for e in feed_all(Listener(VadOptions(), Scripted(cough)), 35))


@pytest.mark.skipif(not (ALSA / "Front_Center.wav").exists(), reason="alsa-utils not installed")
def test_silero_finds_a_real_voice_and_ignores_noise():
    voice = load_audio(ALSA / "Front_Center.wav")  # a person saying "front center"
    silence = np.zeros(SAMPLE_RATE, np.float32)
    listener = Listener()
    events = listener.feed(np.concatenate([silence, voice, silence, silence]))
    utterances = [e for e in events if isinstance(e, Utterance)]
    assert len(utterances) == 1 and SpeechStarted() in events
    assert 0.5 * len(voice) < len(utterances[0].audio) < len(voice) + 1.5 * SAMPLE_RATE
    rng = np.random.default_rng(0)
    noise = (0.05 * rng.standard_normal(4 * SAMPLE_RATE)).astype(np.float32)
    hum = 0.2 * np.sin(2 * np.pi * 50 * np.arange(4 * SAMPLE_RATE) / SAMPLE_RATE).astype(np.float32)
    assert Listener().feed(noise) == [] and Listener().feed(hum) == []
