"""Lossless conversion of a CTranslate2 Whisper model (model.bin + config.json) to an openai-whisper checkpoint.

The CTranslate2 file is a flat list of named tensors (binary format version 6). Whisper's attention is stored
fused there (self-attention q|k|v, cross-attention k|v), and the key projection's bias is stored as zeros because
Whisper's key projection has none. We split them back into openai-whisper's module names.
"""

from __future__ import annotations

import json
import re
import struct
from pathlib import Path
from typing import BinaryIO

import numpy as np
import torch

# CTranslate2's DataType enum order.
_DTYPES = {0: np.float32, 1: np.int8, 2: np.int16, 3: np.int32, 4: np.float16}
_DTYPE_IDS = {np.dtype(v): k for k, v in _DTYPES.items()}


class CT2FormatError(ValueError):
    """The file is not a CTranslate2 model this converter understands."""


def _read_string(f: BinaryIO) -> str:
    (length,) = struct.unpack("<H", f.read(2))
    return f.read(length)[:-1].decode("utf-8")  # length counts the trailing NUL


def read_ct2_model(path: Path) -> tuple[str, dict[str, np.ndarray]]:
    """Read every variable of a CTranslate2 model.bin; aliases are resolved to their targets."""
    variables: dict[str, np.ndarray] = {}
    with open(path, "rb") as f:
        (version,) = struct.unpack("<I", f.read(4))
        if version != 6:
            raise CT2FormatError(f"{path}: CTranslate2 binary version {version}, expected 6")
        spec = _read_string(f)
        f.read(4)  # spec revision
        (count,) = struct.unpack("<I", f.read(4))
        for _ in range(count):
            name = _read_string(f)
            (rank,) = struct.unpack("<B", f.read(1))
            shape = struct.unpack(f"<{rank}I", f.read(4 * rank))
            dtype_id, nbytes = struct.unpack("<BI", f.read(5))
            if dtype_id not in _DTYPES:
                raise CT2FormatError(f"{path}: variable {name} has unsupported dtype id {dtype_id}")
            data = np.frombuffer(f.read(nbytes), dtype=_DTYPES[dtype_id])
            variables[name] = data.reshape(shape)
        (n_alias,) = struct.unpack("<I", f.read(4))
        for _ in range(n_alias):
            alias, target = _read_string(f), _read_string(f)
            variables[alias] = variables[target]
    return spec, variables


def write_ct2_model(path: Path, spec: str, variables: dict[str, np.ndarray]) -> None:
    """Write variables in CTranslate2's format (used by tests to build tiny models)."""

    def put_string(f: BinaryIO, s: str) -> None:
        raw = s.encode("utf-8")
        f.write(struct.pack("<H", len(raw) + 1) + raw + b"\0")

    with open(path, "wb") as f:
        f.write(struct.pack("<I", 6))
        put_string(f, spec)
        f.write(struct.pack("<II", 1, len(variables)))
        for name, value in variables.items():
            put_string(f, name)
            f.write(struct.pack("<B", value.ndim) + struct.pack(f"<{value.ndim}I", *value.shape))
            f.write(struct.pack("<BI", _DTYPE_IDS[value.dtype], value.nbytes))
            f.write(np.ascontiguousarray(value).tobytes())
        f.write(struct.pack("<I", 0))


def _count_layers(variables: dict[str, np.ndarray], side: str) -> int:
    pattern = re.compile(rf"^{side}/layer_(\d+)/")
    return 1 + max(int(m.group(1)) for n in variables if (m := pattern.match(n)))


def _dims(variables: dict[str, np.ndarray]) -> dict[str, int]:
    conv1 = variables["encoder/conv1/weight"]  # (D, n_mels, 3)
    return {
        "n_mels": conv1.shape[1],
        "n_audio_ctx": variables["encoder/position_encodings/encodings"].shape[0],
        "n_audio_state": conv1.shape[0],
        "n_audio_head": int(variables["encoder/num_heads"]),
        "n_audio_layer": _count_layers(variables, "encoder"),
        "n_vocab": variables["decoder/embeddings/weight"].shape[0],
        "n_text_ctx": variables["decoder/position_encodings/encodings"].shape[0],
        "n_text_state": variables["decoder/embeddings/weight"].shape[1],
        "n_text_head": int(variables["decoder/num_heads"]),
        "n_text_layer": _count_layers(variables, "decoder"),
    }


def _attention(out: dict, dst: str, src: str, v: dict, fused_qkv: bool) -> None:
    """Split CTranslate2's fused attention projections into openai-whisper's query/key/value/out."""
    if fused_qkv:
        w = np.split(v[f"{src}/linear_0/weight"], 3)
        b = np.split(v[f"{src}/linear_0/bias"], 3)
        names = [("query", 0), ("key", 1), ("value", 2)]
    else:  # cross-attention: linear_0 is the query, linear_1 holds key|value
        kw, vw = np.split(v[f"{src}/linear_1/weight"], 2)
        kb, vb = np.split(v[f"{src}/linear_1/bias"], 2)
        w = [v[f"{src}/linear_0/weight"], kw, vw]
        b = [v[f"{src}/linear_0/bias"], kb, vb]
        names = [("query", 0), ("key", 1), ("value", 2)]
    for name, i in names:
        out[f"{dst}.{name}.weight"] = w[i]
        if name != "key":  # Whisper's key projection has no bias; CTranslate2 stores zeros there.
            out[f"{dst}.{name}.bias"] = b[i]
    out_proj = f"{src}/linear_2" if not fused_qkv else f"{src}/linear_1"
    out[f"{dst}.out.weight"] = v[f"{out_proj}/weight"]
    out[f"{dst}.out.bias"] = v[f"{out_proj}/bias"]


def _norm(out: dict, dst: str, src: str, v: dict) -> None:
    out[f"{dst}.weight"] = v[f"{src}/gamma"]
    out[f"{dst}.bias"] = v[f"{src}/beta"]


def _block(out: dict, dst: str, src: str, v: dict, cross: bool) -> None:
    _attention(out, f"{dst}.attn", f"{src}/self_attention", v, fused_qkv=True)
    _norm(out, f"{dst}.attn_ln", f"{src}/self_attention/layer_norm", v)
    if cross:
        _attention(out, f"{dst}.cross_attn", f"{src}/attention", v, fused_qkv=False)
        _norm(out, f"{dst}.cross_attn_ln", f"{src}/attention/layer_norm", v)
    for i, j in ((0, 0), (1, 2)):  # whisper's mlp is Sequential(Linear, GELU, Linear)
        out[f"{dst}.mlp.{j}.weight"] = v[f"{src}/ffn/linear_{i}/weight"]
        out[f"{dst}.mlp.{j}.bias"] = v[f"{src}/ffn/linear_{i}/bias"]
    _norm(out, f"{dst}.mlp_ln", f"{src}/ffn/layer_norm", v)


def ct2_to_whisper_state(variables: dict[str, np.ndarray], config: dict) -> dict:
    """Map CTranslate2 Whisper variables to an openai-whisper checkpoint {"dims", "model_state_dict"}."""
    dims = _dims(variables)
    v = variables
    sd: dict[str, np.ndarray] = {}
    for i in (1, 2):
        sd[f"encoder.conv{i}.weight"] = v[f"encoder/conv{i}/weight"]
        sd[f"encoder.conv{i}.bias"] = v[f"encoder/conv{i}/bias"]
    sd["encoder.positional_embedding"] = v["encoder/position_encodings/encodings"]
    for i in range(dims["n_audio_layer"]):
        _block(sd, f"encoder.blocks.{i}", f"encoder/layer_{i}", v, cross=False)
    _norm(sd, "encoder.ln_post", "encoder/layer_norm", v)
    sd["decoder.token_embedding.weight"] = v["decoder/embeddings/weight"]
    sd["decoder.positional_embedding"] = v["decoder/position_encodings/encodings"]
    for i in range(dims["n_text_layer"]):
        _block(sd, f"decoder.blocks.{i}", f"decoder/layer_{i}", v, cross=True)
    _norm(sd, "decoder.ln", "decoder/layer_norm", v)
    state = {k: torch.from_numpy(np.array(a)) for k, a in sd.items()}
    # openai-whisper keeps alignment heads in a non-persistent buffer; we carry them beside the state dict.
    heads = [list(map(int, pair)) for pair in config.get("alignment_heads") or []]
    return {"dims": dims, "model_state_dict": state, "alignment_heads": heads}


def convert_ct2_whisper(model_bin: Path, config_json: Path) -> dict:
    """Read a CTranslate2 Whisper model and return the openai-whisper checkpoint dict."""
    spec, variables = read_ct2_model(model_bin)
    if "Whisper" not in spec:
        raise CT2FormatError(f"{model_bin}: spec {spec!r} is not a Whisper model")
    config = json.loads(Path(config_json).read_text())
    return ct2_to_whisper_state(variables, config)
