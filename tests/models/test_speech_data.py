"""Synthetic speech data: distinct sentences, disjoint held-out splits, real synthesis with augmentation."""

import shutil

import numpy as np
import pytest

from models.data.speech_data import Utterance, sentences, split, synthesize, utterances, voices


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


@pytest.mark.skipif(not (shutil.which("espeak-ng") and shutil.which("flite") and shutil.which("sox")),
                    reason="espeak-ng, flite and sox come with the README's set-up")
@pytest.mark.parametrize("voice", ["espeak:en-gb+f3", "flite:slt"])
def test_synthesis_gives_16khz_speech_with_noise(voice):
    clean = synthesize(Utterance("What is the capital of France?", voice, 1.0, 50, float("inf"), 0.0))
    noisy = synthesize(Utterance("What is the capital of France?", voice, 1.0, 50, 10.0, 0.0))
    fast = synthesize(Utterance("What is the capital of France?", voice, 1.25, 50, float("inf"), 0.0))
    assert clean.dtype == np.float32 and 0.8 < len(clean) / 16000 < 5
    assert len(fast) < 0.9 * len(clean)
    assert np.abs(noisy - clean).mean() > 1e-3
