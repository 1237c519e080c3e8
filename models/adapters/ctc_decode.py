"""What a CTC speech adapter heard, decided with a language model: prefix beam search over the adapter's per-frame
scores, then the LLM the adapter was trained for rescores the distinct transcripts (shallow fusion on an n-best list).

Greedy CTC takes each frame's best token on its own, so a word it is unsure of comes out as whatever pieces scored
highest ("the capitol of Japn"). The beam keeps the spellings the frames allow; the LLM, which shares the adapter's
vocabulary, knows which of them is English. Both runtimes score text the same way (`log_likelihoods`), so the
assistant (llama.cpp) and the evaluation (torch) hear the same thing.

A spelling adapter (CTC over characters) can write words it never heard, and near-misses ("hongary"): its beam
(spelled_nbest) weighs each word by a lexicon of English words as it is spelled, then the LLM rescores as above.
"""

from __future__ import annotations

import dataclasses
import functools
import gzip
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Protocol

import numpy as np

from models.decoders.chat import Media

NEG_INF = -math.inf


@dataclass(frozen=True)
class Hearing:
    """How a transcript is chosen: beam width, candidate tokens per frame, and the weights of the LLM's log-likelihood
    and of a bonus per word (which offsets the LLM's preference for fewer words). Tuned on training-distribution
    clips, never on the held-out sets: see docs/EVALUATION.md."""

    beam: int = 16
    per_frame: int = 6
    lm_weight: float = 0.75
    word_bonus: float = 4.0
    lexicon_weight: float = 0.0  # a spelling adapter's beam: the weight of the words' lexicon log-probabilities


HEARING = Hearing()  # an adapter over the LLM's tokens (models.adapters.projector.CTCProjector)
SPELLING = Hearing(16, 6, 0.75, 2.0, 0.45)  # a spelling adapter (SpellingProjector): see docs/EVALUATION.md


class Scorer(Protocol):
    """What rescoring needs from an LLM runtime (models.decoders.generation.TorchLLM,
    models.decoders.llama_cpp_runtime.LlamaCppLLM)."""

    def prompt_ids(self, messages: list[dict], media_lengths: list[int]) -> tuple[list[int], list[int]]: ...

    def tokenize(self, text: str, special: bool) -> list[int]: ...

    def log_likelihoods(self, sequences: list[list[int]], start: int) -> list[float]: ...


def _logaddexp(a: float, b: float) -> float:
    """log(e^a + e^b) of two Python floats (numpy's scalar version is several times slower in the beam's loop)."""
    if a == NEG_INF or b == NEG_INF:
        return max(a, b)
    return max(a, b) + math.log1p(math.exp(-abs(a - b)))


def nbest(log_probs: np.ndarray, beam: int = HEARING.beam, per_frame: int = HEARING.per_frame
          ) -> list[tuple[tuple[int, ...], float]]:
    """CTC prefix beam search over (T, V + 1) per-frame log-probabilities (blank last): up to `beam` token sequences
    with their CTC log-probabilities (summed over every alignment), best first. Each frame extends a prefix only with
    its `per_frame` likeliest tokens."""
    blank = log_probs.shape[1] - 1
    per_frame = min(per_frame, blank)
    beams: dict[tuple[int, ...], tuple[float, float]] = {(): (0.0, NEG_INF)}  # prefix -> (ends in blank, in a token)
    for frame in log_probs:
        candidates = [(int(c), float(frame[c])) for c in np.argpartition(frame[:blank], -per_frame)[-per_frame:]]
        stay = float(frame[blank])
        grown: dict[tuple[int, ...], list[float]] = {}

        def add(prefix, blank_end, token_end):
            slot = grown.setdefault(prefix, [NEG_INF, NEG_INF])
            slot[0], slot[1] = _logaddexp(slot[0], blank_end), _logaddexp(slot[1], token_end)

        for prefix, (b, t) in beams.items():
            total = _logaddexp(b, t)
            add(prefix, total + stay, NEG_INF)
            if prefix:  # the last token held over this frame
                add(prefix, NEG_INF, t + float(frame[prefix[-1]]))
            for c, score in candidates:
                # a repeat of the last token is a new token only after a blank
                add(prefix + (c,), NEG_INF, (b if prefix and prefix[-1] == c else total) + score)
        ranked = sorted(((p, s) for p, s in grown.items() if max(s) > NEG_INF),  # drop what no path reaches
                        key=lambda kv: -_logaddexp(*kv[1]))[:beam]
        beams = {p: (s[0], s[1]) for p, s in ranked}
    return [(p, _logaddexp(*s)) for p, s in beams.items()]


def rescore(candidates: list[tuple[str, float]], scorer: Scorer | None, hearing: Hearing = HEARING) -> str:
    """The transcript among (text, CTC log-probability) candidates that maximises CTC + lm_weight * the LLM's
    log-likelihood of it as a user's message + word_bonus * its words. Spellings of the same text are merged first
    (their probabilities add), and the LLM scores its own tokenization of each text, ending with the end of turn.
    Without a scorer, the likeliest candidate by CTC alone."""
    if scorer is None:
        hearing = dataclasses.replace(hearing, lm_weight=0.0, word_bonus=0.0)
    merged: dict[str, float] = {}
    for text, score in candidates:
        text = " ".join(text.split())
        if text:
            merged[text] = float(np.logaddexp(merged.get(text, NEG_INF), score))
    if not merged:
        return ""
    if len(merged) == 1 or hearing.lm_weight == 0:
        return max(merged, key=lambda t: merged[t] + hearing.word_bonus * len(t.split()))
    ids, index = scorer.prompt_ids([{"role": "user", "content": [Media(0)]}], [1])
    at = index.index(0)
    prefix, end = ids[:at], ids[at + 1 : at + 2]  # the template before the content; the end of the user's turn
    texts = list(merged)
    lm = scorer.log_likelihoods([prefix + scorer.tokenize(t, False) + end for t in texts], len(prefix))
    return max(zip(texts, lm), key=lambda x: merged[x[0]] + hearing.lm_weight * x[1]
               + hearing.word_bonus * len(x[0].split()))[0]


def hear(log_probs: np.ndarray, detokenize: Callable[[list[int]], str], scorer: Scorer | None,
         hearing: Hearing = HEARING) -> str:
    """The transcript of one recording from its (T, V + 1) CTC log-probabilities; without a scorer, the best of the
    beam by CTC alone."""
    candidates = [(detokenize(list(ids)), score) for ids, score in nbest(log_probs, hearing.beam, hearing.per_frame)]
    return rescore(candidates, scorer, hearing)


def hear_spelled(log_probs: np.ndarray, alphabet: str, scorer: Scorer | None, hearing: Hearing = SPELLING) -> str:
    """The transcript of one recording from a spelling adapter's (T, len(alphabet) + 1) CTC log-probabilities: the
    lexicon-fused beam (spelled_nbest), rescored by the LLM; without a scorer, the beam's best."""
    candidates = spelled_nbest(log_probs, alphabet, lexicon(), hearing.beam, hearing.per_frame, hearing.lexicon_weight)
    return rescore(candidates, scorer, hearing)


LEXICON = Path(__file__).resolve().parent / "lexicon_en.txt.gz"  # tools.lexicon writes it
UNKNOWN_ZIPF = 1.0  # a word outside the lexicon counts as this rare (Zipf 1: once in 100 million words)


@functools.cache
def lexicon() -> Lexicon:
    """The shipped lexicon, loaded once."""
    return Lexicon.load()


@dataclass(frozen=True)
class Lexicon:
    """Natural-log unigram probabilities of English words, and for every beginning of a word the best log-probability
    of a word it can become (the beam's look-ahead). A word outside the lexicon is not forbidden, only rare."""

    words: dict[str, float]
    ahead: dict[str, float]
    unknown: float

    @classmethod
    def from_zipf(cls, zipf: dict[str, float]) -> Lexicon:
        words = {w: (z - 9.0) * math.log(10) for w, z in zipf.items()}  # Zipf: log10 of uses per billion words
        ahead: dict[str, float] = {}
        for w, lp in words.items():
            for i in range(1, len(w) + 1):
                if ahead.get(w[:i], NEG_INF) < lp:
                    ahead[w[:i]] = lp
        return cls(words, ahead, (UNKNOWN_ZIPF - 9.0) * math.log(10))

    @classmethod
    def load(cls, path: Path = LEXICON) -> Lexicon:
        with gzip.open(path, "rt", encoding="utf-8") as f:
            return cls.from_zipf({w: int(z) / 100 for w, z in (line.rstrip("\n").split("\t") for line in f)})

    def word(self, w: str) -> float:
        return self.words.get(w, self.unknown)

    def partial(self, w: str) -> float:
        """The look-ahead for a word being spelled: the likeliest word it begins, or unknown."""
        return self.ahead.get(w, self.unknown) if w else 0.0


def spelled_nbest(log_probs: np.ndarray, alphabet: str, lexicon: Lexicon, beam: int = 16, per_frame: int = 6,
                  weight: float = 0.5) -> list[tuple[str, float]]:
    """CTC prefix beam search over (T, len(alphabet) + 1) per-frame log-probabilities of characters (blank last,
    alphabet[0] the space) with the lexicon fused in: prefixes are ranked by CTC + weight x (the log-probability of
    their finished words + the look-ahead of the word being spelled). Returns up to `beam` texts with that score
    (their last word finished), best first."""
    blank = log_probs.shape[1] - 1
    per_frame = min(per_frame, blank)
    space = alphabet.index(" ")
    unit = {ch: i for i, ch in enumerate(alphabet)}
    # prefix -> (ends in blank, ends in a character, finished words' log-probability)
    beams: dict[str, tuple[float, float, float]] = {"": (0.0, NEG_INF, 0.0)}
    for frame in log_probs:
        candidates = [(int(c), float(frame[c])) for c in np.argpartition(frame[:blank], -per_frame)[-per_frame:]]
        stay = float(frame[blank])
        grown: dict[str, list[float]] = {}

        def add(prefix, blank_end, char_end, words):
            slot = grown.setdefault(prefix, [NEG_INF, NEG_INF, words])
            slot[0], slot[1] = _logaddexp(slot[0], blank_end), _logaddexp(slot[1], char_end)

        for prefix, (b, t, words) in beams.items():
            total = _logaddexp(b, t)
            add(prefix, total + stay, NEG_INF, words)
            if prefix:  # the last character held over this frame
                add(prefix, NEG_INF, t + float(frame[unit[prefix[-1]]]), words)
            for c, score in candidates:
                if c == space and (not prefix or prefix[-1] == " "):  # no leading or double space: as a blank
                    add(prefix, (b if prefix else total) + score, NEG_INF, words)  # (held over above: t)
                elif c == space:
                    add(prefix + " ", NEG_INF, total + score, words + lexicon.word(prefix.rsplit(" ", 1)[-1]))
                else:  # a repeat of the last character is a new one only after a blank
                    add(prefix + alphabet[c], NEG_INF, (b if prefix and prefix[-1] == alphabet[c] else total) + score,
                        words)

        def rank(kv):
            prefix, (b, t, words) = kv
            return _logaddexp(b, t) + weight * (words + lexicon.partial(prefix.rsplit(" ", 1)[-1]))

        ranked = sorted(((p, s) for p, s in grown.items() if max(s[:2]) > NEG_INF), key=rank, reverse=True)[:beam]
        beams = {p: (s[0], s[1], s[2]) for p, s in ranked}
    finished = []
    for prefix, (b, t, words) in beams.items():
        last = prefix.rsplit(" ", 1)[-1]
        finished.append((prefix.strip(), _logaddexp(b, t) + weight * (words + (lexicon.word(last) if last else 0.0))))
    return sorted(finished, key=lambda x: -x[1])
