"""The llama.cpp decoder runtime: a GGUF file run as shipped (memory-mapped, quantized kernels), with its own KV cache,
multi-turn prefix reuse, and media soft tokens fed as input-embedding batches (the way llama.cpp's own multimodal
path feeds images). No torch: a text question never imports it.

The decoding loop, sampling and stop rules are models.decoders.sampling's, shared with the torch runtime; several
answers at once share one context, a slot each, and decode together (models.decoders.llama_slots).
"""

from __future__ import annotations

import ctypes
import os
import threading
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, Iterator

import numpy as np

from models.decoders.chat import Tokenizer, chat_prompt_ids, template_renderer
from models.decoders.llama_slots import BATCH, Batcher, Slot
from models.decoders.sampling import Decoding, Pending, SamplingOptions

MAX_CONTEXT = 8192  # positions one conversation may have; the bundled models were trained for 8k and 32k
SLOT_CONTEXT = 2048  # KV cells each slot past the first adds to the shared cache (an API answer's prompt and reply)
SCORED, SCORED_POSITIONS = 32, 2048  # log_likelihoods: sequences, and distinct prefix tokens, decoded as one batch

_lib_lock = threading.Lock()
_lib: Any = None
_log_callback = None  # kept referenced: llama.cpp calls it from C


def _llama():
    """The llama_cpp bindings, initialised once with llama.cpp's log output silenced (errors become exceptions)."""
    global _lib, _log_callback
    with _lib_lock:
        if _lib is None:
            # ggml's OpenMP threads wait for each other between operations. Spinning forever (libgomp's default
            # when threads fit the cores) made a token take 3.5 s instead of 26 ms whenever anything else ran on a
            # 2-core machine; sleeping at once (OMP_WAIT_POLICY=PASSIVE) cost two thirds of the fast tier's speed on
            # an idle one. Measured (2-core EPYC, tokens/s; idle = chrt -r 1; busy = a 2-thread torch job beside):
            #   spin count   fast idle   1.5B idle   1.5B busy
            #   100          64-67       21-22       14.2
            #   1000         94.5        23.8        11.5
            #   10000        106         22.9        3.8
            # And once more threads are managed than there are cores (a second thread team: the engine thread's,
            # after the main thread decoded once), libgomp drops to a "throttled" spin count of 100 unless the wait
            # policy is ACTIVE: the served fast tier decoded at 85-92 tokens/s against 113-122 on the main thread;
            # with ACTIVE (and the spin count above, which still lets threads sleep) both give 107-113.
            # libgomp reads these when it loads, so they are set before the bindings load it.
            os.environ.setdefault("GOMP_SPINCOUNT", "1000")
            os.environ.setdefault("OMP_WAIT_POLICY", "ACTIVE")
            import llama_cpp.llama_cpp as lib  # the ctypes bindings only, not the high-level Llama class

            _log_callback = lib.llama_log_callback(lambda level, text, data: None)
            lib.llama_log_set(_log_callback, ctypes.c_void_p(0))
            lib.llama_backend_init()
            _lib = lib
    return _lib


def cpu_threads() -> int:
    """The cores this process may run on (llama.cpp's own default of 4 oversubscribes a 2-core machine)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


class _EndOfGeneration:
    """A set-like view of the vocabulary's end-of-generation tokens (eos, eot, <|im_end|>, ...)."""

    def __init__(self, lib, vocab):
        self._lib, self._vocab = lib, vocab

    def __contains__(self, token: int) -> bool:
        return bool(self._lib.llama_vocab_is_eog(self._vocab, token))


class LlamaCppLLM:
    """A GGUF decoder LLM on llama.cpp, with `slots` answers in flight at once (their streams decode together when
    the caller steps them: models.decoders.llama_slots). Not thread-safe: one worker thread uses it."""

    def __init__(self, name: str, path: Path, threads: int = 0, context: int = MAX_CONTEXT, gpu_layers: int = 0,
                 slots: int = 1):
        lib = _llama()
        self.name, self.path, self._lib = name, Path(path), lib
        params = lib.llama_model_default_params()
        params.load_mode = lib.LLAMA_LOAD_MODE_MMAP  # run the file as shipped: no dequantized copy in memory
        params.n_gpu_layers = gpu_layers
        # llama.cpp repacks Q4_K weights into interleaved CPU layouts when loading. Measured on the 1.5B (2-core EPYC,
        # median of 3, chrt): repacked decodes at 26-27 tokens/s against 21-24, but loads in 1.2-1.5 s against 0.5 s
        # and prefills slower (401 tokens: 4.4 s against 3.4 s; 30 tokens: 0.45 against 0.34 s). Plain layout wins
        # on first token, documents and start-up, which is what a user waits for.
        params.use_extra_bufts = False
        self._model = lib.llama_model_load_from_file(str(self.path).encode(), params)
        if not self._model:
            raise ValueError(f"{self.path}: llama.cpp cannot load this file as a GGUF model")
        self._vocab = lib.llama_model_get_vocab(self._model)
        self.context_length = min(lib.llama_model_n_ctx_train(self._model), context)
        self.threads = threads or cpu_threads()
        cparams = lib.llama_context_default_params()
        # One cache shared by every slot (a slot takes cells as it needs them): one long conversation fits beside
        # the API's shorter answers, and a prefix another slot holds is shared, not copied.
        cells = self.context_length + (slots - 1) * SLOT_CONTEXT
        cparams.n_ctx, cparams.n_batch, cparams.n_ubatch = cells, BATCH, BATCH
        cparams.n_seq_max, cparams.kv_unified = slots, True
        cparams.n_threads = cparams.n_threads_batch = self.threads
        cparams.no_perf = True
        self._ctx = lib.llama_init_from_model(self._model, cparams)
        if not self._ctx:
            lib.llama_model_free(self._model)
            raise RuntimeError(f"{self.path}: llama.cpp could not create a context of {cells} positions")
        self.hidden_size = lib.llama_model_n_embd_inp(self._model)
        self.n_vocab = lib.llama_vocab_n_tokens(self._vocab)
        self.eos_ids = _EndOfGeneration(lib, self._vocab)
        self.batcher = Batcher(lib, self._ctx, slots, self.hidden_size, self.n_vocab)
        self._pieces: dict[int, bytes] = {}
        self._scored_head: list[int] = []  # what the scoring context holds for every sequence (log_likelihoods)

    def __del__(self):
        lib = getattr(self, "_lib", None)
        if lib is None or not getattr(self, "_ctx", None):
            return
        self.batcher.free()
        if "_scorer" in self.__dict__:
            ctx, batch = self.__dict__["_scorer"]
            lib.llama_batch_free(batch)
            lib.llama_free(ctx)
        lib.llama_free(self._ctx)
        lib.llama_model_free(self._model)
        self._ctx = None

    # ---- tokens and text ------------------------------------------------------------------------------
    def meta(self, key: str) -> str | None:
        """A GGUF metadata string (e.g. "tokenizer.chat_template"), or None."""
        size = 1 << 16
        while True:
            buf = ctypes.create_string_buffer(size)
            n = self._lib.llama_model_meta_val_str(self._model, key.encode(), buf, size)
            if n < 0:
                return None
            if n < size:
                return buf.value.decode("utf-8", errors="replace")
            size = n + 1

    def tokenize(self, text: str, special: bool) -> list[int]:
        """Token ids of text; special=False keeps control-token strings ("<|im_end|>") plain text."""
        data = text.encode("utf-8")
        size = len(data) + 8
        while True:
            buf = (self._lib.llama_token * size)()
            n = self._lib.llama_tokenize(self._vocab, data, len(data), buf, size, False, special)
            if n >= 0:
                return list(buf[:n])
            size = -n

    def piece(self, token: int) -> bytes:
        """The bytes a token stands for (control tokens render as nothing, as skip_special_tokens does)."""
        if token not in self._pieces:
            buf = ctypes.create_string_buffer(64)
            n = self._lib.llama_token_to_piece(self._vocab, token, buf, 64, 0, False)
            if n < 0:
                buf = ctypes.create_string_buffer(-n)
                n = self._lib.llama_token_to_piece(self._vocab, token, buf, -n, 0, False)
            self._pieces[token] = buf.raw[:n]
        return self._pieces[token]

    def detokenize(self, tokens: list[int]) -> str:
        """Text of tokens; an incomplete UTF-8 character at the end shows as U+FFFD (held back while streaming)."""
        return b"".join(map(self.piece, tokens)).decode("utf-8", errors="replace")

    def _special(self, token: int) -> str:
        buf = ctypes.create_string_buffer(256)
        n = self._lib.llama_token_to_piece(self._vocab, token, buf, 256, 0, True)
        return buf.raw[: max(n, 0)].decode("utf-8", errors="replace") if token >= 0 else ""

    @cached_property
    def chat_tokenizer(self) -> Tokenizer:
        """The GGUF's own chat template (tokenizer.chat_template) over llama.cpp's tokenizer."""
        template = self.meta("tokenizer.chat_template")
        if not template:
            raise ValueError(f"{self.path}: the GGUF has no chat template (tokenizer.chat_template)")
        bos, eos = (self._special(t(self._vocab)) for t in (self._lib.llama_vocab_bos, self._lib.llama_vocab_eos))
        pad = self._lib.llama_vocab_pad(self._vocab)
        return Tokenizer(self.name, template_renderer(template, bos, eos), lambda t: self.tokenize(t, True),
                         lambda t: self.tokenize(t, False), pad if pad >= 0 else 0)

    def prompt_ids(self, messages: list[dict], media_lengths: list[int]) -> tuple[list[int], list[int]]:
        """(ids, media_index) of chat-templated messages with media slots expanded (see models.decoders.chat)."""
        return chat_prompt_ids(self.chat_tokenizer, messages, media_lengths)

    @cached_property
    def _vocab_rows(self):
        from models.decoders.gguf_rows import EmbeddingRows

        return EmbeddingRows(self.path)

    def vocab(self):
        """(V, H) input embeddings read from the GGUF: indexing dequantizes only the rows asked for (an image adapter
        needs a few dozen; the whole 1.5B matrix took 19 s), `.to(dtype)` the whole matrix (a CTC speech adapter)."""
        return self._vocab_rows

    # ---- decoding -------------------------------------------------------------------------------------
    def reset(self) -> None:
        """Forget the KV cache (the next answer starts cold); slots still answering keep theirs."""
        self.batcher.forget()

    def aside(self):
        """Generate something else (the table-query writer's query) and come back to the conversation's cache as it
        was (see Batcher.aside)."""
        return self.batcher.aside()

    @property
    def cached_keys(self) -> list:
        """What the slot used last holds, one key per position (a token id, or a media hash and offset)."""
        return self.batcher.last.keys

    def feed(self, ids: list[int], media_index: list[int], media: np.ndarray | None, start: int) -> np.ndarray:
        """Feed positions start.. of a prompt (ids[start:]) to a free slot holding the positions before: text runs as
        token batches, media runs as embedding batches. Returns the (V,) logits of the last position.

        media: (M, H) float32 soft tokens of the fed positions whose media_index >= 0, in order.
        """
        slot, reused = self.batcher.claim(ids[:start] + [None])
        try:
            if reused != start:
                raise ValueError(f"the slot holds {reused} of the {start} positions before the fed ones")
            keys = [t if b < 0 else object() for t, b in zip(ids[start:], media_index[start:])]  # media: never shared
            return self.batcher.feed(slot, ids[start:], media_index[start:], media, keys, start)
        finally:
            self.batcher.release(slot)

    @cached_property
    def _scorer(self):
        """A second context on the same weights, for log_likelihoods: SCORED sequences share one KV cache, so a
        whole n-best list decodes as one batch (its token tree: a token shared by several sequences is fed once, for
        all of them), and the conversation's cache is left as it was."""
        lib = self._lib
        cparams = lib.llama_context_default_params()
        cparams.n_ctx = cparams.n_batch = SCORED_POSITIONS
        cparams.n_ubatch = BATCH
        cparams.n_seq_max, cparams.kv_unified = SCORED, True
        cparams.n_threads = cparams.n_threads_batch = self.threads
        cparams.no_perf = True
        ctx = lib.llama_init_from_model(self._model, cparams)
        if not ctx:
            raise RuntimeError(f"{self.path}: llama.cpp could not create a scoring context")
        return ctx, lib.llama_batch_init(SCORED_POSITIONS, 0, SCORED)

    def log_likelihoods(self, sequences: list[list[int]], start: int) -> list[float]:
        """For each token sequence, the summed log-probability of its tokens from position `start` on, each given
        those before it."""
        if start < 1:
            raise ValueError("scoring starts after at least one position")
        if len(sequences) > SCORED:
            return self.log_likelihoods(sequences[:SCORED], start) + self.log_likelihoods(sequences[SCORED:], start)
        # What every sequence starts with (the chat template's opening) stays cached between calls, up to the position
        # before `start`, which is fed for its logits.
        head = sequences[0][: start - 1] if all(s[: start - 1] == sequences[0][: start - 1] for s in sequences) else []
        at = len(head)
        # The token tree after it: one node per distinct prefix; every token but each sequence's last is fed.
        nodes: dict[tuple[int, int], int] = {}  # (parent node, token) -> node
        tokens: list[int] = []
        members: list[list[int]] = []  # node -> the sequences through it
        paths = []  # per sequence, its node at positions at, at + 1, ...
        for j, ids in enumerate(sequences):
            parent, path = -1, []
            for tid in ids[at:-1]:
                node = nodes.setdefault((parent, tid), len(tokens))
                if node == len(tokens):
                    tokens.append(tid)
                    members.append([])
                members[node].append(j)
                path.append(node)
                parent = node
            paths.append(path)
        if at + len(tokens) > SCORED_POSITIONS:  # too big for one batch: halve the list
            half = len(sequences) // 2
            if half == 0:
                raise ValueError(f"a sequence of {len(sequences[0])} tokens is too long to score")
            return self.log_likelihoods(sequences[:half], start) + self.log_likelihoods(sequences[half:], start)
        ctx, batch = self._scorer
        memory = self._lib.llama_get_memory(ctx)
        if self._scored_head != head or not self._lib.llama_memory_seq_rm(memory, -1, at, -1):
            self._lib.llama_memory_clear(memory, True)
            self._scored_head = []
            self._score_batch(ctx, batch, [(tid, p, range(SCORED), False) for p, tid in enumerate(head)])
            self._scored_head = head
        depth = [0] * len(tokens)
        for path in paths:
            for p, node in enumerate(path):
                depth[node] = at + p
        self._score_batch(ctx, batch, [(tid, depth[i], members[i], depth[i] >= start - 1)
                                       for i, tid in enumerate(tokens)])
        norms: dict[int, tuple[np.ndarray, float]] = {}

        def log_prob(node: int, token: int) -> float:
            if node not in norms:
                row = np.ctypeslib.as_array(self._lib.llama_get_logits_ith(ctx, node), shape=(self.n_vocab,))
                top = float(row.max())
                norms[node] = row, top + float(np.log(np.exp(row - top).sum(dtype=np.float64)))
            row, norm = norms[node]
            return float(row[token]) - norm

        return [sum(log_prob(path[p - 1 - at], ids[p]) for p in range(start, len(ids)))
                for ids, path in zip(sequences, paths)]

    def _score_batch(self, ctx, batch, rows: list[tuple[int, int, Any, bool]]) -> None:
        """Decode (token, position, sequence ids, wants logits) rows as one batch of the scoring context."""
        if not rows:
            return
        batch.n_tokens = len(rows)
        for i, (tid, pos, seqs, logits) in enumerate(rows):
            batch.token[i], batch.pos[i], batch.logits[i] = tid, pos, logits
            batch.n_seq_id[i] = len(seqs)
            for k, j in enumerate(seqs):
                batch.seq_id[i][k] = j
        if self._lib.llama_decode(ctx, batch) != 0:
            raise RuntimeError(f"llama.cpp could not score {len(rows)} positions")

    def generate(self, ids: list[int], media_index: list[int], keys: list, media: Any, options: SamplingOptions,
                 cancel: threading.Event | None = None) -> "LlamaStream":
        """A stream that answers the prompt, reusing the cached prefix that `keys` (one per position) share.

        media: (M, H) soft tokens of every media position in prompt order (a tensor or array), or None.
        The stream claims a slot when it starts and frees it when it ends.
        """
        if media is not None:
            media = media.detach().float().cpu().numpy() if hasattr(media, "detach") else np.asarray(media)
        seen = [i for i, b in zip(ids, media_index) if b < 0]
        return LlamaStream(options, self.eos_ids, self.detokenize, seen, cancel, llm=self, ids=ids,
                           media_index=media_index, media=media, keys=keys)


@dataclass
class LlamaStream(Decoding):
    """Decoding through llama.cpp in a slot of its own; afterwards the slot holds what was fed (prompt and answer),
    and `reused` says how much of the prompt it held already."""

    llm: LlamaCppLLM = field(kw_only=True)
    ids: list[int] = field(kw_only=True)
    media_index: list[int] = field(kw_only=True)
    media: np.ndarray | None = field(kw_only=True)  # (M, H): every media position's soft token
    keys: list = field(kw_only=True)
    reused: int = field(default=0, init=False)
    _slot: Slot | None = field(default=None, init=False)

    def _prefill(self) -> np.ndarray | Pending:
        n = self.reused
        media = None if self.media is None else self.media[sum(1 for b in self.media_index[:n] if b >= 0):]
        return self.llm.batcher.feed(self._slot, self.ids[n:], self.media_index[n:], media, self.keys[n:], n,
                                     self.cancel)

    def _step(self, token: int) -> np.ndarray | Pending:
        return self.llm.batcher.feed(self._slot, [token], [-1], None, [token], len(self.ids) + len(self.tokens) - 1,
                                     self.cancel)

    def __iter__(self) -> Iterator[str | Pending]:
        self._slot, self.reused = self.llm.batcher.claim(self.keys)
        try:
            yield from super().__iter__()
        finally:
            self.llm.batcher.release(self._slot)
