"""Decoding rules every runtime shares, without torch: sampling options, picking the next token from logits, stop
strings, and the one token loop (cancellation, end of turn, length) that the torch and llama.cpp runtimes drive."""

from __future__ import annotations

import math
import threading
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Callable, Iterator

import numpy as np


@dataclass(frozen=True)
class SamplingOptions:
    """Runtime decoding options; change with dataclasses.replace. temperature 0 means greedy."""

    temperature: float = 0.7
    top_p: float = 0.9
    # Long enough that ordinary answers (a 10-line function, a table answer, a recipe) end on their own, as chat
    # apps' do; a longer one stops here and Continue goes on. 256 cut them (issue 25).
    max_new_tokens: int = 1024
    repetition_penalty: float = 1.1
    seed: int | None = None
    stop: tuple[str, ...] = ()
    # A rehearsal (the voice chat's, at a pause): it ends at the first piece speech would start with (the engine's
    # rule), its tokens are kept, and the next request for the same prompt with the same sampling starts from them
    # (Engine: answer ahead) instead of decoding them again.
    ahead: bool = False

    def __post_init__(self):
        # NaN passes every comparison, so finiteness is checked first; a seed must fit a 64-bit generator.
        floats = (self.temperature, self.top_p, self.repetition_penalty)
        if not all(math.isfinite(x) for x in floats) or self.temperature < 0 or not 0 < self.top_p <= 1 \
                or self.max_new_tokens < 1 or self.repetition_penalty <= 0:
            raise ValueError(f"invalid sampling options: temperature {self.temperature} (>= 0), top_p {self.top_p} "
                             f"(0-1], max_new_tokens {self.max_new_tokens} (>= 1), "
                             f"repetition_penalty {self.repetition_penalty} (> 0)")
        if self.seed is not None and not 0 <= self.seed < 2**64:
            raise ValueError(f"seed must be between 0 and 2**64 - 1, not {self.seed}")


_NUCLEUS_CANDIDATES = 2048  # top-p almost always ends inside the best 2k tokens; a full sort of 152k costs ~10 ms


def sample_next(logits: np.ndarray, opts: SamplingOptions, seen: np.ndarray, rng: np.random.Generator | None) -> int:
    """Pick the next token from (V,) logits: repetition penalty over `seen` ids, temperature, nucleus sampling."""
    logits = np.array(logits, dtype=np.float32)  # a copy: the runtime's buffer is not ours to change
    if opts.repetition_penalty != 1.0 and seen.size:
        ids = np.unique(seen)
        picked = logits[ids]
        logits[ids] = np.where(picked > 0, picked / opts.repetition_penalty, picked * opts.repetition_penalty)
    if opts.temperature == 0:
        return int(logits.argmax())
    z = logits / opts.temperature
    probs = np.exp(z - z.max())
    probs /= probs.sum()
    rng = rng if rng is not None else np.random.default_rng()
    if opts.top_p >= 1.0:
        return int(rng.choice(probs.size, p=probs))
    order = np.argsort(-probs, kind="stable")
    if probs.size > _NUCLEUS_CANDIDATES:
        best = np.argpartition(-probs, _NUCLEUS_CANDIDATES)[:_NUCLEUS_CANDIDATES]
        best = best[np.argsort(-probs[best], kind="stable")]
        if probs[best].sum() >= opts.top_p:  # the nucleus lies inside the candidates
            order = best
    sorted_p = probs[order]
    keep = np.cumsum(sorted_p) - sorted_p < opts.top_p  # always keeps the most likely token
    kept = sorted_p[keep]
    return int(order[keep][rng.choice(kept.size, p=kept / kept.sum())])


# Set (to True) by a caller that steps the runtime's batches itself (the engine queue, which answers several requests
# at once): a runtime that batches then hands back Pending instead of decoding on its own, and the stream yields it.
STEPPED: ContextVar[bool] = ContextVar("stepped", default=False)


# Set while the engine queue runs the desktop window's job: a batching runtime reads that stream's prompt on its own,
# ahead of the other streams' next step (its answer's tokens then decode with theirs).
URGENT: ContextVar[bool] = ContextVar("urgent", default=False)


@contextmanager
def unstepped() -> Iterator[None]:
    """Decode at once inside this block, even on a thread that steps batches (a side generation drained on the spot,
    like the table-query writer's: nobody would step its Pending)."""
    token = STEPPED.set(False)
    try:
        yield
    finally:
        STEPPED.reset(token)


@dataclass(eq=False)
class Pending:
    """Positions handed to a batching runtime, decoded with other streams' at its next step: until then, the stream
    yields this object (not text) to the caller that steps the runtime (`runtime.step()`)."""

    runtime: object  # has step(): decode one batch of what every stream has handed it
    logits: np.ndarray | None = None  # (V,) of the last position, once decoded
    error: Exception | None = None

    @property
    def done(self) -> bool:
        return self.logits is not None or self.error is not None


@dataclass
class Decoding:
    """Iterate to get text deltas; afterwards .tokens and .finish_reason describe what happened.

    A runtime subclasses this with _prefill() (feed the prompt, return the last position's (V,) logits) and
    _step(token) (feed one sampled token, return the next logits). The last sampled token is never fed. A batching
    runtime may return Pending instead of logits: the stream yields it until the runtime's step has decoded it.
    """

    opts: SamplingOptions
    eos_ids: set[int]
    decode: Callable[[list[int]], str]
    seen: list[int]  # prompt token ids for the repetition penalty
    cancel: threading.Event | None
    tokens: list[int] = field(default_factory=list, init=False)
    finish_reason: str | None = field(default=None, init=False)  # "stop" | "length" | "cancelled"

    def _prefill(self) -> np.ndarray:
        raise NotImplementedError

    def _step(self, token: int) -> np.ndarray:
        raise NotImplementedError

    def __iter__(self) -> Iterator[str | Pending]:
        rng = np.random.default_rng(self.opts.seed) if self.opts.seed is not None else None
        seen = list(self.seen)
        logits = yield from _ready(self._prefill())
        emitted = ""
        while True:
            if self.cancel is not None and self.cancel.is_set():
                self.finish_reason = "cancelled"
                return
            token = sample_next(logits, self.opts, np.asarray(seen, dtype=np.int64), rng)
            if token in self.eos_ids:
                self.finish_reason = "stop"
                break
            self.tokens.append(token)
            seen.append(token)
            text = self.decode(self.tokens)
            cut = first_stop(text, self.opts.stop)
            if cut is not None:
                text, self.finish_reason = text[:cut], "stop"
            elif len(self.tokens) >= self.opts.max_new_tokens:
                self.finish_reason = "length"
            safe = len(text) if self.finish_reason else safe_length(text, self.opts.stop)
            if safe > len(emitted):
                yield text[len(emitted) : safe]
                emitted = text[:safe]
            if self.finish_reason:
                return
            logits = yield from _ready(self._step(token))
        text = self.decode(self.tokens)
        if len(text) > len(emitted):
            yield text[len(emitted) :]


def _ready(result: np.ndarray | Pending) -> Iterator[Pending]:
    """The logits of a step: at once, or, from a batching runtime, once its step has decoded them (Pending is
    yielded until then)."""
    if not isinstance(result, Pending):
        return result
    while not result.done:
        yield result
    if result.error is not None:
        raise result.error
    return result.logits


def first_stop(text: str, stops: tuple[str, ...]) -> int | None:
    """Where the first stop string begins in text, or None."""
    hits = [i for s in stops if (i := text.find(s)) >= 0]
    return min(hits) if hits else None


def safe_length(text: str, stops: tuple[str, ...]) -> int:
    """How much of text can be shown: hold back an incomplete UTF-8 char and any tail that may begin a stop string."""
    n = len(text.rstrip("\ufffd"))
    for s in stops:
        for k in range(min(len(s) - 1, n), 0, -1):
            if text[:n].endswith(s[:k]):
                n = min(n, len(text[:n]) - k)
                break
    return n
