"""Evaluation helpers: word error rate, answer judging, real recordings."""

from pathlib import Path

import pytest

from models.evaluate import _mentions, _real_recordings, word_error_rate


def test_word_error_rate():
    assert word_error_rate("What is the capital of France?", "what is the capital of france") == 0
    assert word_error_rate("a b c d", "a x c d") == 0.25  # one substitution
    assert word_error_rate("a b c d", "a c d") == 0.25  # one deletion
    assert word_error_rate("a b", "a b c d") == 1.0  # two insertions over two words
    assert word_error_rate("", "") == 0


def test_mentions_reads_digits_as_words():
    assert _mentions("There are 7 days in a week.", "seven")
    assert not _mentions("Parisian style", "paris")


@pytest.mark.skipif(not Path("/usr/share/sounds/alsa/Front_Center.wav").exists(), reason="alsa-utils not installed")
def test_real_recordings_are_named_from_their_files():
    clips = dict(_real_recordings())
    assert "Front Center" in clips and len(clips) >= 8
    assert 0.5 < len(clips["Front Center"]) / 16000 < 3
