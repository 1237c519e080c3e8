"""Slots and batched steps for the llama.cpp runtime, as llama.cpp's own server runs them: every answer in flight has
a slot (a sequence of the one KV cache, with its own cached prefix), and each step is one llama_decode over every
slot's next positions (a sampled token each, and a chunk of any prompt still being read). On 2 cores one decode over
8 sequences gives 2-2.5x the tokens/s of one sequence alone (issue 27).

A stream hands its positions over as a Feed and gets a Pending back. Whoever steps the batcher (the engine queue,
between its streams' tokens) decodes them all at once; a stream nobody steps (one question from the CLI or a test)
is decoded at once, on its own.
"""

from __future__ import annotations

import ctypes
import threading
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Iterator

import numpy as np

from models.decoders.chat import shared_prefix
from models.decoders.sampling import STEPPED, URGENT, Pending

BATCH = 512  # positions per llama_decode call
PREFILL_CHUNK = 64  # a prompt's positions per step while other streams wait for theirs: a long prompt cannot stall them
_CANCELLED = np.zeros(0, dtype=np.float32)  # the "logits" of a feed dropped because its stream was stopped


@dataclass(eq=False)
class Slot:
    """One KV sequence: what it holds (one key per position: a token id, or a media hash and offset)."""

    seq: int
    keys: list = field(default_factory=list)
    busy: bool = False
    used: int = 0  # when it was last claimed (a count): the least recently used free slot is taken first


@dataclass(eq=False)
class Feed:
    """Positions start, start + 1, ... of one slot: token ids, with media soft tokens where media_index >= 0."""

    slot: Slot
    ids: list[int]
    media_index: list[int]
    media: np.ndarray | None  # (M, H) float32: the rows of the media positions, in order
    keys: list
    start: int
    cancel: threading.Event | None
    pending: Pending
    urgent: bool = False  # the desktop window's: its prompt is read alone, ahead of the others' next step
    at: int = 0  # positions fed so far
    row: int = 0  # media rows fed so far

    def run(self, limit: int) -> tuple[bool, int]:
        """(is media, length) of the next run of one kind, at most `limit` positions."""
        media = self.media_index[self.at] >= 0
        n = 1
        while n < limit and self.at + n < len(self.ids) and (self.media_index[self.at + n] >= 0) == media:
            n += 1
        return media, n


class Batcher:
    """The slots of one llama.cpp context (n_seq_max = slots, one unified KV cache) and the feeds waiting for a step.
    Not thread-safe: the engine's one thread claims, feeds and steps."""

    def __init__(self, lib, ctx, slots: int, hidden_size: int, n_vocab: int):
        self._lib, self._ctx, self._hidden, self._n_vocab = lib, ctx, hidden_size, n_vocab
        self.slots = [Slot(i) for i in range(slots)]
        self._waiting: list[Feed] = []
        self._claims = 0
        self._asides: list[list] = []  # per open aside(): (slot, keys, state) of each slot it took over
        self._tokens = lib.llama_batch_init(BATCH, 0, 1)
        self._embeds = lib.llama_batch_init(BATCH, hidden_size, 1)

    def free(self) -> None:
        """Free the batches (the owner frees the context)."""
        self._lib.llama_batch_free(self._tokens)
        self._lib.llama_batch_free(self._embeds)

    @property
    def _memory(self):
        return self._lib.llama_get_memory(self._ctx)

    # ---- slots ----------------------------------------------------------------------------------------
    def claim(self, keys: list) -> tuple[Slot, int]:
        """A free slot for a prompt of these keys, and how many of its first positions are already cached there:
        the free slot sharing the longest prefix (else the least recently used), or, when another slot (busy or not)
        shares more, that prefix copied from it (cells are shared, not duplicated). At least one position is left
        to feed."""
        free = [s for s in self.slots if not s.busy]
        if not free:
            raise RuntimeError(f"all {len(self.slots)} llama.cpp slots are busy")
        limit = len(keys) - 1
        slot = max(free, key=lambda s: (min(shared_prefix(s.keys, keys), limit), -s.used))
        for saved in self._asides[-1:]:
            if all(s is not slot for s, _, _ in saved):
                saved.append((slot, list(slot.keys), self._save(slot)))
        self._claims += 1
        slot.busy, slot.used = True, self._claims
        n = min(shared_prefix(slot.keys, keys), limit)
        donor = max(self.slots, key=lambda s: shared_prefix(s.keys, keys))
        if (m := min(shared_prefix(donor.keys, keys), limit)) > n:
            self._drop(slot, 0)
            self._lib.llama_memory_seq_cp(self._memory, donor.seq, slot.seq, 0, m)
            slot.keys, n = donor.keys[:m], m
        elif not self._drop(slot, n):
            n = 0
        return slot, n

    def release(self, slot: Slot) -> None:
        """The slot's stream ended: its feed (if any) is withdrawn; what it fed stays cached for the next prompt."""
        self._waiting = [f for f in self._waiting if f.slot is not slot]
        slot.busy = False

    def _drop(self, slot: Slot, n: int) -> bool:
        """Forget the slot's positions from n on; False when only the whole sequence could go (then it has)."""
        if n and self._lib.llama_memory_seq_rm(self._memory, slot.seq, n, -1):
            slot.keys = slot.keys[:n]
            return True
        self._lib.llama_memory_seq_rm(self._memory, slot.seq, -1, -1)
        slot.keys = []
        return n == 0

    def forget(self) -> None:
        """Empty every slot no stream is using."""
        for slot in self.slots:
            if not slot.busy:
                self._drop(slot, 0)

    @contextmanager
    def aside(self) -> Iterator[None]:
        """Generate something else (the table-query writer's query), then put back each slot it took over as it was:
        its KV is copied out (~29 KB a position for the 1.5B) and back, instead of being refilled next turn."""
        saved: list = []
        self._asides.append(saved)
        try:
            yield
        finally:
            self._asides.remove(saved)
            for slot, keys, state in saved:
                if slot.busy:
                    continue
                self._drop(slot, 0)
                if state is not None and self._lib.llama_state_seq_set_data(self._ctx, state[0], state[1],
                                                                            slot.seq) == state[1]:
                    slot.keys = keys

    def _save(self, slot: Slot):
        if not slot.keys:
            return None
        size = self._lib.llama_state_seq_get_size(self._ctx, slot.seq)
        data = (ctypes.c_uint8 * size)()
        return data, self._lib.llama_state_seq_get_data(self._ctx, data, size, slot.seq)

    # ---- feeding and stepping -------------------------------------------------------------------------
    def feed(self, slot: Slot, ids: list[int], media_index: list[int], media: np.ndarray | None, keys: list,
             start: int, cancel: threading.Event | None = None) -> np.ndarray | Pending:
        """Hand over positions start.. of the slot; the (V,) logits of the last come back at once, or, when the
        caller steps the batcher itself (models.decoders.sampling.STEPPED), as a Pending its step fills in."""
        pending = Pending(self)
        self._waiting.append(Feed(slot, ids, media_index, media, keys, start, cancel, pending, URGENT.get()))
        if STEPPED.get():
            return pending
        while not pending.done:
            self.step()
        if pending.error is not None:
            raise pending.error
        return pending.logits

    def step(self) -> None:
        """One llama_decode over what every waiting feed has next (another for media soft tokens, which go as an
        embedding batch): each feed's next run, a prompt's in chunks of PREFILL_CHUNK while others wait too; an
        urgent prompt (the window's) alone and whole."""
        for f in self._waiting:
            if f.cancel is not None and f.cancel.is_set():
                f.pending.logits = _CANCELLED
        self._waiting = [f for f in self._waiting if not f.pending.done]
        urgent = [f for f in self._waiting if f.urgent and len(f.ids) - f.at > 1]
        feeds = urgent or self._waiting
        chunk = PREFILL_CHUNK if len(feeds) > 1 else BATCH
        runs: dict[bool, list[tuple[Feed, int]]] = {False: [], True: []}
        room = {False: BATCH, True: BATCH}
        for f in feeds:
            media, n = f.run(min(chunk, len(f.ids) - f.at))
            n = min(n, room[media])
            if n:
                runs[media].append((f, n))
                room[media] -= n
        for media, planned in runs.items():
            if planned:
                self._decode(planned, media)
        self._waiting = [f for f in self._waiting if not f.pending.done]

    def _decode(self, planned: list[tuple[Feed, int]], media: bool) -> None:
        batch, i, last = (self._embeds if media else self._tokens), 0, []
        for f, n in planned:
            if media:
                rows = np.ascontiguousarray(f.media[f.row : f.row + n], dtype=np.float32)
                ctypes.memmove(ctypes.addressof(batch.embd.contents) + i * self._hidden * 4, rows.ctypes.data,
                               rows.nbytes)
            for k in range(n):
                if not media:
                    batch.token[i + k] = f.ids[f.at + k]
                batch.pos[i + k] = f.start + f.at + k
                batch.n_seq_id[i + k] = 1
                batch.seq_id[i + k][0] = f.slot.seq
                batch.logits[i + k] = f.at + n == len(f.ids) and k == n - 1
            i += n
            last.append(i - 1)
        batch.n_tokens = i
        rc = self._lib.llama_decode(self._ctx, batch)
        if rc == 1:  # no room left in the KV cache: what idle slots keep goes, then once more
            self.forget()
            rc = self._lib.llama_decode(self._ctx, batch)
        for (f, n), at in zip(planned, last):
            if rc != 0:
                self._drop(f.slot, f.start + f.at)
                f.pending.error = RuntimeError(f"llama.cpp could not decode {i} positions (code {rc})"
                                               + (": its KV cache is full" if rc == 1 else ""))
                continue
            f.slot.keys.extend(f.keys[f.at : f.at + n])
            f.at += n
            f.row += n if media else 0
            if f.at == len(f.ids):
                ptr = self._lib.llama_get_logits_ith(self._ctx, at)
                f.pending.logits = np.ctypeslib.as_array(ptr, shape=(self._n_vocab,)).copy()

    @property
    def waiting(self) -> int:
        """How many feeds wait for a step."""
        return len(self._waiting)

    @property
    def last(self) -> Slot:
        """The slot claimed most recently."""
        return max(self.slots, key=lambda s: s.used)
