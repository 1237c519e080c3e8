"""Evaluation helpers: word error rate, answer judging, real recordings."""

import numpy as np
import pytest

from models.training.data.real_speech import ALSA, KTUBERLING, WARZONE, alsa_clips, installed
from models.training.evaluate import _mentions, word_error_rate


def test_word_error_rate():
    assert word_error_rate("What is the capital of France?", "what is the capital of france") == 0
    assert word_error_rate("a b c d", "a x c d") == 0.25  # one substitution
    assert word_error_rate("a b c d", "a c d") == 0.25  # one deletion
    assert word_error_rate("a b", "a b c d") == 1.0  # two insertions over two words
    assert word_error_rate("", "") == 0


def test_mentions_reads_digits_as_words():
    assert _mentions("There are 7 days in a week.", "seven")
    assert not _mentions("Parisian style", "paris")


@pytest.mark.skipif(not (ALSA / "Front_Center.wav").exists(), reason="alsa-utils not installed")
def test_real_recordings_are_named_from_their_files():
    clips = dict(alsa_clips())
    assert "Front Center" in clips and len(clips) >= 8
    assert 0.5 < len(clips["Front Center"]) / 16000 < 3
    assert clips["Front Center"].dtype == np.float32 and np.array_equal(dict(alsa_clips())["Front Center"],
                                                                      clips["Front Center"])  # no dither


def test_only_installed_real_speech_sets_are_offered():
    sets = installed(["alsa", "warzone", "ktuberling"])
    assert ("warzone" in sets) == WARZONE.is_file() and ("ktuberling" in sets) == any(KTUBERLING.glob("*.ogg"))
    for name, clips in sets.items():  # every clip is said by a reference and is audio of a plausible length
        assert clips and all(text.strip() and 0.2 < len(audio) / 16000 < 30 for text, audio in clips), name


def test_a_ctc_adapter_is_answered_as_its_transcript_typed(tiny_llm_dir, monkeypatch):
    """Evaluation asks a CTC adapter's LLM what the assistant asks it: the heard text as the LLM's own tokens before
    the question, so the answer is the answer to that text typed."""
    import numpy as np
    import torch

    from models.adapters.projector import AdapterConfig, CTCProjector
    from models.decoders.llm import LLM
    from models.device import choose_placement
    from models.training.evaluate import _greedy, answer

    llm = LLM.load("tiny", tiny_llm_dir, choose_placement("cpu"))
    vocab = llm.model.get_input_embeddings().weight
    proj = CTCProjector(AdapterConfig("speech", "w", "tiny", 8, llm.hidden_size, 16, stack=1, ctc=True), vocab)
    said = llm.text_ids("red blue")
    assert 0 not in said  # both words are in the tiny vocabulary
    frames = np.full((3, vocab.shape[0] + 1), -1000.0, dtype=np.float32)
    for t, c in enumerate([said[0], vocab.shape[0], said[1]]):
        frames[t, c] = 0.0
    monkeypatch.setattr(CTCProjector, "log_probs", lambda self, features: frames)
    typed, _ = llm.prompt_ids([{"role": "user", "content": "red blue\nwhat is it"}], [])
    assert answer(llm, proj, torch.zeros(3, 8), "what is it", 6) == _greedy(llm, llm.embed([typed]), 6)


def test_llm_log_likelihoods_score_each_token_after_start(tiny_llm_dir):
    """The torch runtime's sequence scores are the sums of next-token log-probabilities from `start`, padding
    ignored: a batch of two lengths scores each as it scores alone."""
    import torch

    from models.decoders.llm import LLM
    from models.device import choose_placement

    llm = LLM.load("tiny", tiny_llm_dir, choose_placement("cpu"))
    a, b = llm.text_ids("red circle on blue"), llm.text_ids("blue")
    both = llm.log_likelihoods([a, [a[0]] + b], 1)
    with torch.inference_mode():
        logp = llm.model(input_ids=torch.tensor([a])).logits[0].log_softmax(-1)
    assert both[0] == pytest.approx(sum(logp[i - 1, a[i]].item() for i in range(1, len(a))), abs=1e-4)
    assert both[1] == pytest.approx(llm.log_likelihoods([[a[0]] + b], 1)[0], abs=1e-4)
