"""The torch runtime's token stream: a transformers model fed prompt embeddings over a KV cache (see
models.decoders.sampling for the loop, sampling and stop rules it shares with the llama.cpp runtime). On a GPU the cache
is static and each decode step replays a CUDA graph (models.decoders.static_decode); on a CPU it is a DynamicCache."""

from __future__ import annotations

import threading
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Iterator

import numpy as np
import torch
from transformers import Cache, DynamicCache, PreTrainedModel

from models.decoders.chat import shared_prefix
from models.decoders.llm import LLM
from models.decoders.sampling import Decoding, SamplingOptions
from models.decoders.static_decode import StaticKV, static_supported


@dataclass
class TokenStream(Decoding):
    """Decoding through a transformers model: `embeds` (1, L, H) go on top of `cache` (which may already hold a
    shared prefix), then one token at a time. Afterwards cache length = prefix + L + len(tokens) - 1."""

    model: PreTrainedModel = field(kw_only=True)
    embeds: torch.Tensor = field(kw_only=True)
    cache: Cache = field(kw_only=True)

    def _prefill(self) -> np.ndarray:
        # Only the last position is sampled: skip the lm_head over the rest of the prompt (~20% of prefill).
        out = self.model(inputs_embeds=self.embeds, past_key_values=self.cache, use_cache=True, logits_to_keep=1)
        return out.logits[0, -1].float().cpu().numpy()

    def _step(self, token: int) -> np.ndarray:
        step = torch.tensor([[token]], device=self.embeds.device)
        return self.model(input_ids=step, past_key_values=self.cache, use_cache=True).logits[0, -1].float().cpu().numpy()

    def held(self) -> int:
        """Positions the cache holds."""
        return self.cache.get_seq_length()

    @torch.inference_mode()
    def __iter__(self) -> Iterator[str]:
        yield from super().__iter__()


@dataclass
class StaticStream(Decoding):
    """Decoding over a StaticKV: `embeds` (1, L, H) go after the positions it holds, then one token at a time (a CUDA
    graph replay per token when it captured one). Logits come to the host for the shared numpy sampling."""

    kv: StaticKV = field(kw_only=True)
    embeds: torch.Tensor = field(kw_only=True)

    def _prefill(self) -> np.ndarray:
        return self.kv.prefill(self.embeds).cpu().numpy()

    def _step(self, token: int) -> np.ndarray:
        return self.kv.step(token).cpu().numpy()

    def held(self) -> int:
        """Positions the cache holds."""
        return self.kv.length

    @torch.inference_mode()
    def __iter__(self) -> Iterator[str]:
        yield from super().__iter__()


@dataclass
class _Owned(Decoding):
    """A stream that, when done, tells its TorchLLM which positions its cache now holds."""

    owner: "TorchLLM" = field(kw_only=True)
    keys: list = field(kw_only=True)
    reused: int = field(kw_only=True)

    def __iter__(self) -> Iterator[str]:
        try:
            yield from super().__iter__()
        finally:
            self.owner._keys = (self.keys + self.tokens)[: self.held()]


@dataclass
class TorchStream(_Owned, TokenStream):
    """The dynamic-cache stream TorchLLM returns on a CPU."""


@dataclass
class StaticTorchStream(_Owned, StaticStream):
    """The static-cache stream TorchLLM returns on a GPU."""


class TorchLLM:
    """The torch runtime behind the same generate() as models.decoders.llama_cpp_runtime.LlamaCppLLM: a transformers LLM
    with one KV cache reused across turns. Used for training, GPUs, and hub or local transformers models."""

    def __init__(self, llm: LLM, static: bool | None = None, graphs: bool | None = None):
        """static: decode over a fixed-size cache (default: on a GPU, when every layer attends to all positions);
        graphs: replay each decode step as a CUDA graph (default: on a GPU; ignored on a CPU)."""
        self.llm = llm
        self.name, self.eos_ids = llm.name, llm.eos_ids
        self.hidden_size = llm.hidden_size
        self.context_length = llm.model.config.max_position_embeddings
        self.prompt_ids = llm.prompt_ids
        self._keys: list = []
        self._cache = DynamicCache()
        gpu = llm.placement.device.type == "cuda"
        static = (gpu and static_supported(llm.model)) if static is None else static
        self._static = StaticKV(llm.model, self.context_length, gpu if graphs is None else graphs) if static else None

    @property
    def cached_keys(self) -> list:
        """What the KV cache holds, one key per position (a token id, or a media hash and offset)."""
        return self._keys

    def reset(self) -> None:
        """Forget the KV cache (the next answer starts cold)."""
        self._keys, self._cache = [], DynamicCache()
        if self._static is not None:
            self._static.crop(0)

    @contextmanager
    def aside(self) -> Iterator[None]:
        """Generate something else and come back to the conversation's cache as it was (a static cache, shared by
        every turn, is refilled instead)."""
        if self._static is not None:
            yield
            return
        keys, cache = self._keys, self._cache
        self._keys, self._cache = [], DynamicCache()
        try:
            yield
        finally:
            self._keys, self._cache = keys, cache

    def vocab(self) -> torch.Tensor:
        """(V, H) input embeddings (a CTC speech adapter scores against them)."""
        return self.llm.model.get_input_embeddings().weight

    def tokenize(self, text: str, special: bool) -> list[int]:
        """Token ids of text; special=False keeps control-token strings ("<|im_end|>") plain text."""
        return self.llm.chat_tokenizer.encode_template(text) if special else self.llm.text_ids(text)

    def detokenize(self, tokens: list[int]) -> str:
        """Text of tokens, control tokens left out."""
        return self.llm.tokenizer.decode(tokens, skip_special_tokens=True)

    def log_likelihoods(self, sequences: list[list[int]], start: int) -> list[float]:
        """Each sequence's summed log-probability of its tokens from `start` on
        (models.decoders.llm.LLM.log_likelihoods; the KV cache is left as it was)."""
        return self.llm.log_likelihoods(sequences, start)

    def generate(self, ids: list[int], media_index: list[int], keys: list, media: torch.Tensor | None,
                 options: SamplingOptions, cancel: threading.Event | None = None) -> _Owned:
        """A stream that answers the prompt, reusing the cached prefix that `keys` (one per position) share.

        media: (M, H) soft tokens of every media position in prompt order, or None.
        """
        reused = shared_prefix(self._keys, keys)
        self._keys = keys[:reused]
        skip = sum(1 for b in media_index[:reused] if b >= 0)
        mask = [[b >= 0 for b in media_index[reused:]]]
        embeds = self.llm.embed([ids[reused:]], mask, None if media is None else media[skip:])  # (1, L, H)
        seen = [i for i, b in zip(ids, media_index) if b < 0]
        args = (options, self.eos_ids, self.detokenize, seen, cancel)
        if self._static is not None:
            # Cropping a static cache only moves its write position back: the mask hides everything past it.
            self._static.crop(reused)
            self._static.reserve(len(ids) + options.max_new_tokens)
            return StaticTorchStream(*args, kv=self._static, embeds=embeds, owner=self, keys=keys, reused=reused)
        if reused == 0:
            self._cache = DynamicCache()
        else:
            self._cache.crop(reused)
        return TorchStream(*args, model=self.llm.model, embeds=embeds, cache=self._cache, owner=self, keys=keys,
                           reused=reused)
