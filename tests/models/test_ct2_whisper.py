"""CTranslate2 -> openai-whisper conversion, checked by a round trip through a tiny random Whisper."""

import copy

import numpy as np
import pytest
import torch
from whisper.model import ModelDimensions, Whisper

from models.weights.ct2_whisper import CT2FormatError, convert_ct2_whisper, read_ct2_model, write_ct2_model


def whisper_to_ct2(model: Whisper) -> dict[str, np.ndarray]:
    """The inverse mapping, written independently: fuse q|k|v (zero key bias) and cross k|v as CTranslate2 does."""
    sd = {k: v.numpy() for k, v in model.state_dict().items()}
    out = {}

    def attn(dst, src, fused):
        zero = np.zeros_like(sd[f"{src}.query.bias"])
        if fused:
            out[f"{dst}/linear_0/weight"] = np.concatenate([sd[f"{src}.{n}.weight"] for n in ("query", "key", "value")])
            out[f"{dst}/linear_0/bias"] = np.concatenate([sd[f"{src}.query.bias"], zero, sd[f"{src}.value.bias"]])
            out[f"{dst}/linear_1/weight"], out[f"{dst}/linear_1/bias"] = sd[f"{src}.out.weight"], sd[f"{src}.out.bias"]
        else:
            out[f"{dst}/linear_0/weight"], out[f"{dst}/linear_0/bias"] = sd[f"{src}.query.weight"], sd[f"{src}.query.bias"]
            out[f"{dst}/linear_1/weight"] = np.concatenate([sd[f"{src}.key.weight"], sd[f"{src}.value.weight"]])
            out[f"{dst}/linear_1/bias"] = np.concatenate([zero, sd[f"{src}.value.bias"]])
            out[f"{dst}/linear_2/weight"], out[f"{dst}/linear_2/bias"] = sd[f"{src}.out.weight"], sd[f"{src}.out.bias"]

    def norm(dst, src):
        out[f"{dst}/gamma"], out[f"{dst}/beta"] = sd[f"{src}.weight"], sd[f"{src}.bias"]

    def block(dst, src, cross):
        attn(f"{dst}/self_attention", f"{src}.attn", True)
        norm(f"{dst}/self_attention/layer_norm", f"{src}.attn_ln")
        if cross:
            attn(f"{dst}/attention", f"{src}.cross_attn", False)
            norm(f"{dst}/attention/layer_norm", f"{src}.cross_attn_ln")
        out[f"{dst}/ffn/linear_0/weight"], out[f"{dst}/ffn/linear_0/bias"] = sd[f"{src}.mlp.0.weight"], sd[f"{src}.mlp.0.bias"]
        out[f"{dst}/ffn/linear_1/weight"], out[f"{dst}/ffn/linear_1/bias"] = sd[f"{src}.mlp.2.weight"], sd[f"{src}.mlp.2.bias"]
        norm(f"{dst}/ffn/layer_norm", f"{src}.mlp_ln")

    d = model.dims
    for i in (1, 2):
        out[f"encoder/conv{i}/weight"], out[f"encoder/conv{i}/bias"] = sd[f"encoder.conv{i}.weight"], sd[f"encoder.conv{i}.bias"]
    out["encoder/position_encodings/encodings"] = sd["encoder.positional_embedding"]
    out["encoder/num_heads"] = np.array(d.n_audio_head, np.int16)
    for i in range(d.n_audio_layer):
        block(f"encoder/layer_{i}", f"encoder.blocks.{i}", False)
    norm("encoder/layer_norm", "encoder.ln_post")
    out["decoder/embeddings/weight"] = sd["decoder.token_embedding.weight"]
    out["decoder/position_encodings/encodings"] = sd["decoder.positional_embedding"]
    out["decoder/num_heads"] = np.array(d.n_text_head, np.int16)
    for i in range(d.n_text_layer):
        block(f"decoder/layer_{i}", f"decoder.blocks.{i}", True)
    norm("decoder/layer_norm", "decoder.ln")
    return {k: v.astype(np.float16) if v.dtype == np.float32 else v for k, v in out.items()}


@pytest.fixture()
def noisy_whisper(tiny_whisper):
    """A copy with non-zero biases everywhere, so a swapped tensor cannot hide (the shared model stays as is)."""
    model = copy.deepcopy(tiny_whisper)
    torch.manual_seed(1)
    for p in model.parameters():
        p.data.normal_(0, 0.5)
    return model


@pytest.fixture()
def ct2_files(noisy_whisper, tmp_path):
    write_ct2_model(tmp_path / "model.bin", "WhisperSpec", whisper_to_ct2(noisy_whisper))
    (tmp_path / "config.json").write_text('{"alignment_heads": [[1, 0], [1, 1]]}')
    return tmp_path


def test_round_trip_is_lossless_at_fp16(noisy_whisper, ct2_files):
    checkpoint = convert_ct2_whisper(ct2_files / "model.bin", ct2_files / "config.json")
    assert checkpoint["dims"] == noisy_whisper.dims.__dict__
    rebuilt = Whisper(ModelDimensions(**checkpoint["dims"]))
    rebuilt.load_state_dict(checkpoint["model_state_dict"], strict=True)
    for name, tensor in noisy_whisper.state_dict().items():
        expected = tensor.half().float()
        assert torch.equal(rebuilt.state_dict()[name].float(), expected), name
    assert checkpoint["alignment_heads"] == [[1, 0], [1, 1]]


def test_aliases_and_scalars_are_read(tmp_path):
    write_ct2_model(tmp_path / "m.bin", "WhisperSpec", {"a": np.ones((2, 3), np.float32), "n": np.array(8, np.int16)})
    spec, variables = read_ct2_model(tmp_path / "m.bin")
    assert spec == "WhisperSpec" and variables["a"].shape == (2, 3) and int(variables["n"]) == 8


def test_wrong_version_and_spec_are_refused(tmp_path):
    (tmp_path / "bad.bin").write_bytes(b"\x05\x00\x00\x00" + b"\x00" * 20)
    with pytest.raises(CT2FormatError, match="version 5"):
        read_ct2_model(tmp_path / "bad.bin")
    write_ct2_model(tmp_path / "t5.bin", "TransformerSpec", {"a": np.ones(2, np.float32)})
    (tmp_path / "config.json").write_text("{}")
    with pytest.raises(CT2FormatError, match="not a Whisper"):
        convert_ct2_whisper(tmp_path / "t5.bin", tmp_path / "config.json")
