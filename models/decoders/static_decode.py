"""A fixed-size KV cache that the torch runtime crops by position and grows by copying, with the one-token decode step
optionally captured as a CUDA graph and replayed per token.

Why: with a DynamicCache every decode step concatenates new K/V tensors and launches a few hundred small kernels from
Python, so a small model on a GPU is bound by launch overhead (the 135M decoded at 53 tok/s on an H100 that way).
A static cache keeps every tensor address fixed, which is what lets one graph replay the whole step.
"""

from __future__ import annotations

import inspect
import logging

import torch
from transformers import PreTrainedModel, StaticCache

log = logging.getLogger(__name__)

MIN_CAPACITY = 1024  # positions; small conversations never regrow (and never recapture the graph)


def static_supported(model: PreTrainedModel) -> bool:
    """Whether every layer attends over all positions: a sliding-window layer's static cache is a ring buffer, which
    cannot be cropped back to a prefix by position."""
    config = model.config.get_text_config(decoder=True)
    types = getattr(config, "layer_types", None)
    if types is not None:
        return all(t == "full_attention" for t in types)
    return getattr(config, "sliding_window", None) is None and getattr(config, "attention_chunk_size", None) is None


def capacity_for(positions: int, limit: int) -> int:
    """Cache size for `positions`: the next power of two (at least MIN_CAPACITY) so a growing conversation regrows
    rarely, never past `limit` (the model's context; the engine refuses prompts longer than that)."""
    size = max(MIN_CAPACITY, 1 << max(positions - 1, 0).bit_length())
    return max(positions, min(size, limit))


class StaticKV:
    """One transformers StaticCache for one model, used one sequence at a time (not reentrant).

    `length` positions hold valid K/V; slots beyond it are zero. The attention mask comes from cache_position, so
    positions are always passed explicitly (never inferred from the cache, which would cost a GPU sync).
    """

    def __init__(self, model: PreTrainedModel, context_length: int, graphs: bool):
        self.model = model
        self.context_length = context_length
        self.device = model.get_input_embeddings().weight.device
        # A graph replays the write position it recorded unless that position is an input: capture only when the
        # forward takes cache_position (a transformers version that counts positions inside the cache would not).
        takes_position = "cache_position" in inspect.signature(model.forward).parameters
        self.graphs = graphs and self.device.type == "cuda" and takes_position
        self.cache: StaticCache | None = None
        self.capacity = 0
        self.length = 0
        self._graph: torch.cuda.CUDAGraph | None = None
        # The graph's inputs and output live at fixed addresses: each step writes into them, then replays.
        self._token = torch.zeros((1, 1), dtype=torch.long, device=self.device)
        self._position = torch.zeros((1,), dtype=torch.long, device=self.device)
        self._logits: torch.Tensor | None = None

    @torch.inference_mode()
    def crop(self, n: int) -> None:
        """Keep the first n positions (a shared prefix), as if only they had been fed."""
        n = min(n, self.length)
        if self.cache is not None and n < self.length:
            for layer in self.cache.layers:
                if layer.is_initialized:
                    layer.keys[:, :, n:].zero_()
                    layer.values[:, :, n:].zero_()
                _set_written(layer, n)
        self.length = n

    @torch.inference_mode()
    def reserve(self, positions: int) -> None:
        """Make room for `positions` in all: a bigger cache, the held prefix copied over, and the graph recaptured
        on the next step (it recorded the old tensors' addresses)."""
        if positions <= self.capacity:
            return
        old, self.capacity = self.cache, capacity_for(positions, self.context_length)
        self.cache = StaticCache(config=self.model.config, max_cache_len=self.capacity)
        self._graph = self._logits = None
        if old is not None and self.length:
            for src, dst in zip(old.layers, self.cache.layers):
                _allocate(dst, src.keys, src.values)
                dst.keys[:, :, : self.length].copy_(src.keys[:, :, : self.length])
                dst.values[:, :, : self.length].copy_(src.values[:, :, : self.length])
                _set_written(dst, self.length)

    @torch.inference_mode()
    def prefill(self, embeds: torch.Tensor) -> torch.Tensor:
        """Feed (1, L, H) embeddings after the held positions; the last position's (V,) float32 logits."""
        start, n = self.length, embeds.shape[1]
        if start + n > self.capacity:
            raise ValueError(f"{start + n} positions do not fit a static cache of {self.capacity}; reserve() first")
        position = torch.arange(start, start + n, device=self.device)
        out = self.model(inputs_embeds=embeds, past_key_values=self.cache, cache_position=position,
                         position_ids=position[None], use_cache=True, logits_to_keep=1)
        self.length += n
        return out.logits[0, -1].float()

    @torch.inference_mode()
    def step(self, token: int) -> torch.Tensor:
        """Feed one token at the next position; its (V,) float32 logits (with graphs, a buffer the next step
        overwrites: copy it before stepping again)."""
        if self.length >= self.capacity:
            raise ValueError(f"the static cache of {self.capacity} positions is full; reserve() first")
        self._token.fill_(token)
        self._position.fill_(self.length)
        if self._graph is not None:
            self._graph.replay()
            logits = self._logits
        elif self.graphs:
            logits = self._capture()
        else:
            logits = self._forward()
        self.length += 1
        return logits

    def _forward(self) -> torch.Tensor:
        out = self.model(input_ids=self._token, past_key_values=self.cache, cache_position=self._position,
                         position_ids=self._position[None], use_cache=True)
        return out.logits[0, -1].float()  # (V,)

    def _capture(self) -> torch.Tensor:
        """Run the step eagerly on a side stream (warm-up: it writes this position's real K/V), then record it as a
        graph for the next steps. If the model's forward cannot be captured, decode eagerly from now on."""
        side = torch.cuda.Stream(self.device)
        side.wait_stream(torch.cuda.current_stream(self.device))
        with torch.cuda.stream(side):
            logits = self._forward()
        torch.cuda.current_stream(self.device).wait_stream(side)
        try:
            graph = torch.cuda.CUDAGraph()
            # thread_local: work another thread launches meanwhile (an encoder) does not break the capture
            with torch.cuda.graph(graph, capture_error_mode="thread_local"):
                self._logits = self._forward()  # recorded, not run: the warm-up already wrote this step
            self._graph = graph
        except Exception as e:  # noqa: BLE001 - any capture failure leaves a correct eager path
            log.warning("CUDA graph capture of the decode step failed (%s); decoding without graphs", e)
            self.graphs, self._graph, self._logits = False, None, None
        return logits


def _allocate(layer, keys: torch.Tensor, values: torch.Tensor) -> None:
    """Allocate a static layer's (B, heads, capacity, head_dim) zeros like keys/values. transformers 4.x takes the
    keys only, 5.x keys and values."""
    try:
        layer.lazy_initialization(keys, values)
    except TypeError:
        layer.lazy_initialization(keys)


def _set_written(layer, n: int) -> None:
    """Tell a layer that counts written positions itself (newer transformers may) that it now holds n."""
    count = getattr(layer, "cumulative_length", None)
    if isinstance(count, torch.Tensor):
        count.fill_(n)
    elif count is not None:
        layer.cumulative_length = n
