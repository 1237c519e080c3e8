"""The GPU bundle: exact embeddings from GGUF blocks, a small int8 encoder, and the whole train loop on CPU."""

import dataclasses
import io
import json
import lzma
import shutil

import numpy as np
import pytest
import torch

from models.adapters.config import AdapterConfig
from models.adapters.projector import SPELLING_ALPHABET, CTCProjector, SpellingProjector, save_adapter, spelling_units
from models.training.data.speech_data import Utterance
from models.training.speech_bundle import (_save_xz, dequantize_int8, dequantize_q8_0, lr_at, quantize_int8, train)


def test_q8_0_blocks_dequantize_as_gguf_does():
    gguf = pytest.importorskip("gguf")
    rng = np.random.default_rng(0)
    values = rng.normal(0, 0.05, (4, 64)).astype(np.float32)
    blocks = gguf.quants.quantize(values, gguf.GGMLQuantizationType.Q8_0)  # (4, 2 * 34) bytes
    expected = gguf.quants.dequantize(blocks, gguf.GGMLQuantizationType.Q8_0)
    got = dequantize_q8_0(blocks.reshape(-1, 34), (4, 64))
    assert torch.equal(got, torch.from_numpy(expected.astype(np.float32)))


def test_int8_groups_round_trip_within_half_a_step_and_leave_the_sinusoids_out():
    torch.manual_seed(0)
    state = {"conv1.weight": torch.randn(8, 4, 3) * 0.1, "blocks.0.mlp.0.weight": torch.randn(32, 16),
             "blocks.0.mlp.0.bias": torch.randn(32), "positional_embedding": torch.randn(10, 16)}
    stored = quantize_int8(state)
    assert "positional_embedding" not in stored and stored["conv1.weight"].dtype == torch.int8
    back = dequantize_int8(stored)
    for name in ("conv1.weight", "blocks.0.mlp.0.weight"):
        step = stored[f"{name}.scale"].float().repeat_interleave(16).reshape(state[name].shape)
        assert torch.all((back[name] - state[name]).abs() <= step / 2 + 1e-6)
    assert torch.equal(back["blocks.0.mlp.0.bias"], state["blocks.0.mlp.0.bias"])


def test_learning_rate_warms_up_holds_then_decays_to_a_tenth():
    assert lr_at(0, 0, 100, 1.0) == pytest.approx(1 / 50)
    assert lr_at(60, 50, 100, 1.0) == 1.0
    assert lr_at(60, 80, 100, 1.0) == pytest.approx(0.55)
    assert lr_at(60, 100, 100, 1.0) == pytest.approx(0.1) and lr_at(60, 150, 100, 1.0) == pytest.approx(0.1)


def _tiny_bundle(path, spelling: bool = False):
    """A bundle of a 1-layer Whisper, a 64-token vocabulary (none for a spelling adapter) and a handful of clips: the
    real formats, tiny."""
    from whisper.model import ModelDimensions, Whisper

    torch.manual_seed(0)
    dims = ModelDimensions(n_mels=80, n_audio_ctx=1500, n_audio_state=64, n_audio_head=2, n_audio_layer=1,
                           n_vocab=100, n_text_ctx=8, n_text_state=64, n_text_head=2, n_text_layer=1)
    model = Whisper(dims)
    buffer = io.BytesIO()
    torch.save({"dims": dataclasses.asdict(dims), "encoder": quantize_int8(model.encoder.state_dict())}, buffer)
    path.mkdir()
    (path / "encoder_int8.pt.xz").write_bytes(lzma.compress(buffer.getvalue()))
    rng = np.random.default_rng(0)
    blocks = np.concatenate([np.full((64, 2), 0, np.uint8), rng.integers(0, 255, (64, 32), dtype=np.uint8)], axis=1)
    blocks[:, 0:2] = np.array([0.01], np.float16).view(np.uint8)  # every block's scale: 0.01
    if spelling:
        init = SpellingProjector(AdapterConfig("speech", "tiny", "tiny-llm", 64, 32, 16, 1, True,
                                               alphabet=SPELLING_ALPHABET, recurrent=4))
    else:
        _save_xz(path / "vocab_q8_0.npy.xz", blocks)  # 64 tokens x 32 dims
        init = CTCProjector(AdapterConfig("speech", "tiny", "tiny-llm", 64, 32, 16, 4, True), torch.zeros(64, 32))
    save_adapter(init, path / "init")
    for name in ("config.json", "model.safetensors"):
        (path / f"init-{name}").write_bytes((path / "init" / name).read_bytes())

    def say(text, voice):
        return [*dataclasses.astuple(Utterance(text, voice, 1.0, 50, 20.0, 0.0)),
                spelling_units(text) if spelling else [1, 2, 3]]

    words = "one two three four five six seven eight nine ten eleven twelve".split()
    rows = {"train": [say(f"Number {w} is here.", "espeak:en-us") for w in words],
            "held_out": [say("A held out sentence.", "espeak:en-gb+f3"), say("Flite talks.", "flite:rms")],
            "open_vocabulary": [say("A new word.", "espeak:en-gb+f3")]}
    (path / "utterances.json.xz").write_bytes(lzma.compress(json.dumps(rows).encode()))
    if not spelling:
        (path / "pieces.json.xz").write_bytes(lzma.compress(json.dumps([f" w{i}" for i in range(64)]).encode()))
    (path / "manifest.json").write_text(json.dumps({"encoder": "tiny", "llm": "tiny-llm", "vocab_shape": [64, 32],
                                                    "seed": 0}))


@pytest.mark.skipif(not (shutil.which("espeak-ng") and shutil.which("sox")),
                    reason="espeak-ng and sox come with the README's set-up")
@pytest.mark.parametrize("spelling", [False, True], ids=["tokens", "spelling"])
def test_train_synthesizes_encodes_and_trains_then_writes_an_adapter_and_its_curve(tmp_path, spelling):
    _tiny_bundle(tmp_path / "bundle", spelling)
    before = (tmp_path / "bundle" / "init-model.safetensors").read_bytes()
    train(tmp_path / "bundle", tmp_path / "out", budget_s=12, batch=4, lr=1e-3, workers=2, min_clips=8,
          eval_every=5, max_reuse=100)
    written = tmp_path / "out" / "adapter"
    record = json.loads((written / "train.json").read_text())
    assert record["steps"] > 0 and record["failed_clips"] == 0 and record["stored"] == "fp16"
    assert record["eval_clips"]["held_out"] == (2 if shutil.which("flite") else 1)
    curve = record["curve"]
    assert curve[0]["step"] == 0 and curve[-1]["step"] == record["steps"] and curve[-1]["clips"] >= 8
    assert all(0 <= row["held_out_wer"] and 0 <= row["open_vocabulary_wer"] for row in curve)
    assert (written / "model.safetensors").read_bytes() != before  # it trained
    assert json.loads((written / "config.json").read_text())["ctc"] is True
    assert json.loads((written / "config.json").read_text())["alphabet"] == (SPELLING_ALPHABET if spelling else "")
