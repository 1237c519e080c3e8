"""CTC prefix beam search and LLM rescoring (models.adapters.ctc_decode)."""

import itertools

import numpy as np
import pytest

from models.adapters.ctc_decode import Hearing, Lexicon, hear, hear_spelled, nbest, rescore, spelled_nbest


def _collapse(path: tuple[int, ...], blank: int) -> tuple[int, ...]:
    out = []
    for i, c in enumerate(path):
        if c != blank and (i == 0 or path[i - 1] != c):
            out.append(c)
    return tuple(out)


def test_beam_scores_are_each_transcripts_probability_over_every_alignment():
    """With room for every prefix, the beam's score of a token sequence is the log of the summed probability of all
    frame paths that collapse to it (brute force over 3 classes x 5 frames)."""
    rng = np.random.default_rng(0)
    log_probs = np.log(rng.dirichlet(np.ones(3), size=5))  # tokens 0, 1; blank 2
    exact: dict[tuple[int, ...], float] = {}
    for path in itertools.product(range(3), repeat=5):
        key = _collapse(path, 2)
        exact[key] = exact.get(key, 0.0) + float(np.exp(sum(log_probs[t, c] for t, c in enumerate(path))))
    got = dict(nbest(log_probs, beam=100, per_frame=2))
    assert set(got) == set(exact)
    for key, p in exact.items():
        assert got[key] == pytest.approx(np.log(p), abs=1e-9), key
    narrow = nbest(log_probs, beam=3, per_frame=2)  # pruning drops paths: never more than the exact probability
    assert len(narrow) == 3 and all(score <= np.log(exact[key]) + 1e-9 for key, score in narrow)
    assert [s for _, s in narrow] == sorted((s for _, s in narrow), reverse=True)


def test_a_repeated_token_needs_a_blank_between():
    """"aa" is two tokens only with a blank between them; held over frames it is one."""
    a, blank = 0, 2
    held = np.log(np.full((3, 3), 1e-6))
    held[:, a] = 0.0
    assert nbest(held, beam=4, per_frame=1)[0][0] == (a,)
    split = held.copy()
    split[1] = np.log(1e-6)
    split[1, blank] = 0.0
    assert nbest(split, beam=4, per_frame=1)[0][0] == (a, a)


class FakeScorer:
    """An LLM that likes one text: its log-likelihood is 0 for `liked`, -10 for anything else."""

    def __init__(self, liked: str):
        self.liked, self.scored = liked, []

    def prompt_ids(self, messages, media_lengths):
        return [100, 101] + [0] * media_lengths[0] + [102, 103], [-1, -1] + [0] * media_lengths[0] + [-1, -1]

    def tokenize(self, text, special):
        return [ord(c) for c in text]

    def log_likelihoods(self, sequences, start):
        self.scored += [(s, start) for s in sequences]
        return [0.0 if "".join(map(chr, s[start:-1])) == self.liked else -10.0 for s in sequences]


def test_the_llm_overrules_a_close_acoustic_call_but_not_a_clear_one():
    hearing = Hearing(lm_weight=0.5, word_bonus=0.0)
    close = [("the capitol of japan", -1.0), ("the capital of japan", -1.5)]
    scorer = FakeScorer("the capital of japan")
    assert rescore(close, scorer, hearing) == "the capital of japan"
    # each text is scored as the user's message: after the template's opening, with the end of the turn (102)
    assert scorer.scored[0][1] == 2 and all(s[:2] == [100, 101] and s[-1] == 102 for s, _ in scorer.scored)
    clear = [("the capitol of japan", -1.0), ("the capital of japan", -9.0)]
    assert rescore(clear, FakeScorer("the capital of japan"), hearing) == "the capitol of japan"
    assert rescore(close, FakeScorer("the capital of japan"), Hearing(lm_weight=0.0, word_bonus=0.0)) == \
        "the capitol of japan"


def test_spellings_of_one_text_add_up_and_empty_ones_drop():
    """Two token spellings of "a cat" (-2 each) together outweigh "a cap" (-1.5); whitespace-only hears nothing."""
    candidates = [("a cat", -2.0), (" a  cat", -2.0), ("a cap", -1.5), ("  ", 0.0)]
    assert rescore(candidates, FakeScorer("none"), Hearing(lm_weight=0.0, word_bonus=0.0)) == "a cat"
    assert rescore([(" ", 0.0)], FakeScorer("none")) == ""


def test_a_word_bonus_offsets_the_cost_of_each_word():
    """Without a bonus the shorter, likelier-per-frame transcript wins; a bonus per word keeps the dropped word."""
    candidates = [("give me a word", -3.0), ("give me a word that", -4.0)]
    assert rescore(candidates, FakeScorer("none"), Hearing(lm_weight=0.0, word_bonus=0.0)) == "give me a word"
    assert rescore(candidates, FakeScorer("none"), Hearing(lm_weight=0.0, word_bonus=2.0)) == "give me a word that"


def test_hear_detokenizes_the_beam_and_works_without_a_scorer():
    """Frames that spell tokens 1, 2 (blank between) are heard as their text, with or without an LLM."""
    log_probs = np.log(np.full((3, 4), 1e-4))
    for t, c in enumerate([1, 3, 2]):
        log_probs[t, c] = 0.0
    pieces = {0: "x", 1: "hello", 2: " world"}
    detok = lambda ids: "".join(pieces[i] for i in ids)  # noqa: E731
    assert hear(log_probs, detok, None) == "hello world"
    assert hear(log_probs, detok, FakeScorer("hello world")) == "hello world"


FLAT = Lexicon({}, {}, 0.0)  # every word equally likely: the beam by CTC alone


def _normalized(path: tuple[int, ...], alphabet: str) -> str:
    return " ".join("".join(alphabet[c] for c in _collapse(path, len(alphabet))).split())


def test_the_spelling_beam_scores_each_text_over_every_alignment_spaces_normalized():
    """With room for every prefix and a flat lexicon, the spelling beam's score of a text is the log of the summed
    probability of every frame path whose characters, collapsed, spell it with single spaces and none at either end
    (brute force over a space, 2 letters and the blank x 5 frames)."""
    alphabet = " ab"
    rng = np.random.default_rng(1)
    log_probs = np.log(rng.dirichlet(np.ones(4), size=5))
    exact: dict[str, float] = {}
    for path in itertools.product(range(4), repeat=5):
        text = _normalized(path, alphabet)
        exact[text] = exact.get(text, 0.0) + float(np.exp(sum(log_probs[t, c] for t, c in enumerate(path))))
    got: dict[str, float] = {}
    for text, score in spelled_nbest(log_probs, alphabet, FLAT, beam=10_000, per_frame=3, weight=1.0):
        got[text] = float(np.logaddexp(got.get(text, -np.inf), score))  # "a b" and "a b " end alike
    assert set(got) == set(exact)
    for text, p in exact.items():
        assert got[text] == pytest.approx(np.log(p), abs=1e-9), text


def _spelling(text: str, alphabet: str, sure: float = 0.0, other: float = -30.0) -> np.ndarray:
    """Frames that spell `text`, a blank after each character."""
    frames = []
    for ch in text:
        for c in (alphabet.index(ch), len(alphabet)):
            row = np.full(len(alphabet) + 1, other)
            row[c] = sure
            frames.append(row)
    return np.array(frames)


def test_the_lexicon_turns_a_near_miss_into_the_word():
    """The frames favour "hongary" a little over "hungary"; the lexicon knows only the latter, so the beam picks it,
    and without the lexicon's weight it does not."""
    alphabet = " abcdefghijklmnopqrstuvwxyz'"
    log_probs = _spelling("hongary", alphabet)
    at = 2 * "hongary".index("o")
    log_probs[at, alphabet.index("o")], log_probs[at, alphabet.index("u")] = np.log(0.6), np.log(0.4)
    lexicon = Lexicon.from_zipf({"hungary": 3.9, "the": 7.7})
    assert spelled_nbest(log_probs, alphabet, lexicon, weight=0.5)[0][0] == "hungary"
    assert spelled_nbest(log_probs, alphabet, lexicon, weight=0.0)[0][0] == "hongary"
    assert lexicon.partial("hun") == lexicon.word("hungary") and lexicon.partial("hon") == lexicon.unknown
    assert lexicon.word("hongary") == lexicon.unknown < lexicon.word("hungary") < lexicon.word("the") < 0


def test_hear_spelled_without_a_scorer_and_with_one():
    """Frames that favour "zq xv" a little over "zq xw" (neither in the lexicon) are heard as "zq xv" by the beam
    alone; an LLM that prefers "zq xw" moves the choice."""
    alphabet = " abcdefghijklmnopqrstuvwxyz'"
    log_probs = _spelling("zq xv", alphabet, other=-20.0)
    log_probs[-2, alphabet.index("v")], log_probs[-2, alphabet.index("w")] = np.log(0.6), np.log(0.4)
    assert hear_spelled(log_probs, alphabet, None) == "zq xv"
    assert hear_spelled(log_probs, alphabet, FakeScorer("zq xw")) == "zq xw"
