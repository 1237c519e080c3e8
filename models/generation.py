"""The one streaming generation path: KV cache, sampling, stop strings, cancellation."""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass, field
from typing import Callable, Iterator

import torch
from transformers import DynamicCache, PreTrainedModel


@dataclass(frozen=True)
class SamplingOptions:
    """Runtime decoding options; change with dataclasses.replace. temperature 0 means greedy."""

    temperature: float = 0.7
    top_p: float = 0.9
    max_new_tokens: int = 256
    repetition_penalty: float = 1.1
    seed: int | None = None
    stop: tuple[str, ...] = ()

    def __post_init__(self):
        # NaN passes every comparison, so finiteness is checked first; a seed must fit torch's 64-bit generator.
        floats = (self.temperature, self.top_p, self.repetition_penalty)
        if not all(math.isfinite(x) for x in floats) or self.temperature < 0 or not 0 < self.top_p <= 1 \
                or self.max_new_tokens < 1 or self.repetition_penalty <= 0:
            raise ValueError(f"invalid sampling options: temperature {self.temperature} (>= 0), top_p {self.top_p} "
                             f"(0-1], max_new_tokens {self.max_new_tokens} (>= 1), "
                             f"repetition_penalty {self.repetition_penalty} (> 0)")
        if self.seed is not None and not 0 <= self.seed < 2**64:
            raise ValueError(f"seed must be between 0 and 2**64 - 1, not {self.seed}")


def sample_next(logits: torch.Tensor, opts: SamplingOptions, seen: torch.Tensor, gen: torch.Generator | None) -> int:
    """Pick the next token from (V,) logits: repetition penalty over `seen` ids, temperature, nucleus sampling."""
    logits = logits.float()
    if opts.repetition_penalty != 1.0 and seen.numel():
        picked = logits[seen]
        logits[seen] = torch.where(picked > 0, picked / opts.repetition_penalty, picked * opts.repetition_penalty)
    if opts.temperature == 0:
        return int(logits.argmax())
    probs = torch.softmax(logits / opts.temperature, dim=-1)
    if opts.top_p < 1.0:
        sorted_p, order = probs.sort(descending=True)
        keep = sorted_p.cumsum(0) - sorted_p < opts.top_p  # always keeps the most likely token
        probs = torch.zeros_like(probs).scatter_(0, order[keep], sorted_p[keep])
    return int(torch.multinomial(probs.cpu(), 1, generator=gen))


@dataclass
class TokenStream:
    """Iterate to get text deltas; afterwards .tokens, .finish_reason and .cache describe what happened.

    The model is fed `embeds` (1, L, H) on top of `cache` (which may already hold a shared prefix), then
    decodes one token at a time. The last sampled token is never fed, so cache length = prefix + L + len(tokens) - 1.
    """

    model: PreTrainedModel
    embeds: torch.Tensor
    cache: DynamicCache
    opts: SamplingOptions
    eos_ids: set[int]
    decode: Callable[[list[int]], str]
    seen: list[int] = field(default_factory=list)  # prompt token ids for the repetition penalty
    cancel: threading.Event | None = None
    tokens: list[int] = field(default_factory=list)
    finish_reason: str | None = None  # "stop" | "length" | "cancelled"

    @torch.inference_mode()
    def __iter__(self) -> Iterator[str]:
        gen = None
        if self.opts.seed is not None:
            gen = torch.Generator().manual_seed(self.opts.seed)
        device = self.embeds.device
        seen = torch.tensor(self.seen, dtype=torch.long, device=device)
        # Only the last position is sampled: skip the lm_head over the rest of the prompt (~20% of prefill).
        out = self.model(inputs_embeds=self.embeds, past_key_values=self.cache, use_cache=True, logits_to_keep=1)
        emitted = ""
        while True:
            if self.cancel is not None and self.cancel.is_set():
                self.finish_reason = "cancelled"
                return
            token = sample_next(out.logits[0, -1], self.opts, seen, gen)
            if token in self.eos_ids:
                self.finish_reason = "stop"
                break
            self.tokens.append(token)
            seen = torch.cat([seen, torch.tensor([token], device=device)])
            text = self.decode(self.tokens)
            cut = _first_stop(text, self.opts.stop)
            if cut is not None:
                text, self.finish_reason = text[:cut], "stop"
            elif len(self.tokens) >= self.opts.max_new_tokens:
                self.finish_reason = "length"
            safe = len(text) if self.finish_reason else _safe_length(text, self.opts.stop)
            if safe > len(emitted):
                yield text[len(emitted) : safe]
                emitted = text[:safe]
            if self.finish_reason:
                return
            step = torch.tensor([[token]], device=device)
            out = self.model(input_ids=step, past_key_values=self.cache, use_cache=True)
        text = self.decode(self.tokens)
        if len(text) > len(emitted):
            yield text[len(emitted) :]


def _first_stop(text: str, stops: tuple[str, ...]) -> int | None:
    hits = [i for s in stops if (i := text.find(s)) >= 0]
    return min(hits) if hits else None


def _safe_length(text: str, stops: tuple[str, ...]) -> int:
    """How much of text can be shown: hold back an incomplete UTF-8 char and any tail that may begin a stop string."""
    n = len(text.rstrip("\ufffd"))
    for s in stops:
        for k in range(min(len(s) - 1, n), 0, -1):
            if text[:n].endswith(s[:k]):
                n = min(n, len(text[:n]) - k)
                break
    return n
