"""Token-embedding rows read straight from a GGUF file, dequantized only where indexed.

Dequantizing the 1.5B's whole (151936, 1536) embedding matrix with gguf's reader took 19 s (7 s of it parsing every
metadata field); an image adapter needs a few dozen rows. This reads the header once (tensor offsets only) and
memory-maps the one tensor.
"""

from __future__ import annotations

import struct
from functools import cached_property
from pathlib import Path

import numpy as np

_SCALAR = {0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8}  # GGUF value type -> bytes
_STRING, _ARRAY = 8, 9


class _Header:
    """A forward-only reader of a GGUF header (version 2 and 3: 64-bit counts)."""

    def __init__(self, data: memoryview):
        self.data, self.pos = data, 0

    def take(self, fmt: str):
        value = struct.unpack_from("<" + fmt, self.data, self.pos)
        self.pos += struct.calcsize("<" + fmt)
        return value[0] if len(value) == 1 else value

    def string(self) -> str:
        n = self.take("Q")
        self.pos += n
        return bytes(self.data[self.pos - n : self.pos]).decode("utf-8", errors="replace")

    def skip(self, kind: int) -> None:
        if kind == _STRING:
            n = self.take("Q")  # read first: `self.pos += self.take(...)` would lose take's own advance
            self.pos += n
        elif kind == _ARRAY:
            item, n = self.take("IQ")
            if item in _SCALAR:
                self.pos += _SCALAR[item] * n
            else:
                for _ in range(n):
                    self.skip(item)
        else:
            self.pos += _SCALAR[kind]


def tensor_offsets(path: Path) -> dict[str, tuple[tuple[int, ...], int, int]]:
    """{name: (dims, ggml type, absolute byte offset)} of every tensor in a GGUF file."""
    with open(path, "rb") as f:
        mapped = np.memmap(f, dtype=np.uint8, mode="r")
        head = _Header(memoryview(mapped))
        if bytes(mapped[:4]) != b"GGUF":
            raise ValueError(f"{path}: not a GGUF file")
        head.pos = 4
        version, n_tensors, n_kv = head.take("IQQ")
        if version < 2:
            raise ValueError(f"{path}: GGUF version {version} is too old")
        alignment = 32
        for _ in range(n_kv):
            key, kind = head.string(), head.take("I")
            if key == "general.alignment" and kind == 4:
                alignment = head.take("I")
            else:
                head.skip(kind)
        infos = {}
        for _ in range(n_tensors):
            name = head.string()
            dims = tuple(head.take("Q") for _ in range(head.take("I")))
            kind, offset = head.take("IQ")
            infos[name] = (dims, kind, offset)
        start = -(-head.pos // alignment) * alignment
        return {name: (dims, kind, start + offset) for name, (dims, kind, offset) in infos.items()}


class EmbeddingRows:
    """The (V, H) token embeddings of a GGUF, indexable like a tensor: `rows[ids]` dequantizes just those rows."""

    def __init__(self, path: Path, name: str = "token_embd.weight"):
        from gguf import GGML_QUANT_SIZES

        (hidden, vocab), self.kind, offset = tensor_offsets(path)[name]
        import torch

        block, size = GGML_QUANT_SIZES[self.kind]
        self.shape = (vocab, hidden)
        self.device, self.dtype = torch.device("cpu"), torch.float32  # what indexing returns
        self._rows = np.memmap(path, dtype=np.uint8, mode="r", offset=offset, shape=(vocab, hidden // block * size))

    def __getitem__(self, ids):
        import torch
        from gguf.quants import dequantize

        picked = np.asarray(ids.cpu() if hasattr(ids, "cpu") else ids, dtype=np.int64)
        rows = dequantize(np.ascontiguousarray(self._rows[picked.reshape(-1)]), self.kind)
        return torch.from_numpy(rows.astype(np.float32).reshape(*picked.shape, self.shape[1]))

    def detach(self) -> "EmbeddingRows":
        """Itself: nothing here tracks gradients."""
        return self

    def to(self, *args, **kwargs):
        """The whole matrix, converted (a CTC speech adapter scores against every row)."""
        return self.full.to(*args, **kwargs)

    @cached_property
    def full(self):
        """The whole matrix as a float32 tensor (a CTC speech adapter scores against every row)."""
        return self[np.arange(self.shape[0])]
