"""Whisper encoder wrapper (real-length encoding) and transcription on a tiny random Whisper."""

import pytest
import torch

from models.device import choose_placement
from models.speech import SpeechEncoder, Transcriber, _ends_in_loop, load_whisper
from tests.conftest import tone


@pytest.fixture()
def encoder(tiny_whisper):
    return SpeechEncoder(tiny_whisper, "tiny")


def test_encodes_only_the_real_length(encoder):
    features = encoder.encode(tone(2.0))
    assert features.shape == (1, 100, 64)  # 50 frames a second
    assert encoder.encode(tone(2.0), pad_to_30s=True).shape == (1, 1500, 64)


def test_padded_path_matches_stock_whisper_encoder(encoder, tiny_whisper):
    mel = encoder.mel(tone(1.0), pad_to_30s=True)[None]  # (1, 80, 3000)
    with torch.inference_mode():
        assert torch.allclose(encoder.encode_mel(mel), tiny_whisper.encoder(mel), atol=1e-5)


def test_odd_and_overlong_audio(encoder):
    assert encoder.encode(tone(0.013)).shape[1] >= 1
    assert encoder.encode(tone(45.0)).shape[1] == 1500  # capped at Whisper's 30 s context


def test_checkpoint_round_trip_with_alignment_heads(tiny_whisper, tmp_path):
    path = tmp_path / "w.pt"
    torch.save({"dims": tiny_whisper.dims.__dict__, "model_state_dict": tiny_whisper.state_dict(),
                "alignment_heads": [[1, 1]]}, path)
    model = load_whisper(path, choose_placement("cpu"))
    assert model.alignment_heads.to_dense()[1, 1] and model.alignment_heads.to_dense().sum() == 1
    assert all(torch.equal(a, b) for a, b in zip(model.state_dict().values(), tiny_whisper.state_dict().values()))


def test_load_refuses_a_checkpoint_with_missing_keys(tiny_whisper, tmp_path):
    state = dict(tiny_whisper.state_dict())
    state.pop("decoder.ln.weight")
    torch.save({"dims": tiny_whisper.dims.__dict__, "model_state_dict": state}, tmp_path / "w.pt")
    with pytest.raises(RuntimeError, match="decoder.ln.weight"):
        load_whisper(tmp_path / "w.pt", choose_placement("cpu"))


@pytest.mark.parametrize("int8", [False, True])
def test_transcriber_stops_within_its_budget(encoder, tiny_whisper, int8):
    import copy

    transcriber = Transcriber(copy.deepcopy(tiny_whisper), int8=int8)
    features = encoder.encode(tone(1.0))
    text = transcriber(features)
    assert isinstance(text, str)
    tokens = transcriber._tokenizer("en").encode(" " + text) if text else []
    assert len(tokens) <= 10 + 10 * 1 + 5  # budget: 10 + 10 tokens per second (decode may merge tokens)


def test_transcriber_kv_cache_matches_full_recompute(tiny_whisper, encoder):
    """Greedy decoding with the cache picks the same tokens as recomputing the whole prefix each step."""
    transcriber = Transcriber(tiny_whisper)
    features = encoder.encode(tone(1.0))
    tok = transcriber._tokenizer("en")
    prompt = list(tok.sot_sequence_including_notimestamps)
    from models.speech import _install_kv_cache

    cache, hooks = _install_kv_cache(tiny_whisper.decoder.blocks)
    cached, seq = [], list(prompt)
    with torch.inference_mode():
        step, offset = torch.tensor([prompt]), 0
        for _ in range(5):
            logits = transcriber._step(step, features, cache, offset)
            offset += step.shape[1]
            cached.append(int(logits.argmax()))
            step = torch.tensor([[cached[-1]]])
        for h in hooks:
            h.remove()
        full = []
        for _ in range(5):
            logits = tiny_whisper.decoder(torch.tensor([seq]), features)[0, -1]
            full.append(int(logits.argmax()))
            seq.append(full[-1])
    assert cached == full


def test_loop_detection_trims_the_repeat():
    out = [1, 2, 3, 4, 5, 6, 3, 4, 5, 6]
    assert _ends_in_loop(out) and out == [1, 2, 3, 4, 5, 6]
    assert not _ends_in_loop([1, 2, 3, 4, 5])
