"""Whisper encoder wrapper (real-length encoding) and transcription on a tiny random Whisper."""

import pytest
import torch
import whisper
from whisper.decoding import DecodingOptions
from whisper.tokenizer import get_tokenizer

from models.device import choose_placement
from models.encoders.speech import (SpeechEncoder, TranscribeOptions, Transcriber, _FeaturesTask, load_whisper,
                                    padded_frames)
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


def test_padding_picks_the_first_length_that_holds_the_clip():
    assert padded_frames(100, (5.0, 30.0)) == 500
    assert padded_frames(100, (0.5,)) == 100  # longer than every length: as is
    assert padded_frames(100, ()) == 100  # real length


def test_decoding_on_30s_features_is_stock_whisper_decode(encoder, tiny_whisper):
    """Our decode runs whisper.decoding's own rules: on padded features it picks exactly stock decode's tokens."""
    options = TranscribeOptions(languages=("en",), temperatures=(0.0,))
    features = encoder.encode(tone(1.0), pad_to_30s=True)
    ours = Transcriber(encoder, options=options).decode(features, seconds=1.0)
    stock = whisper.decode(tiny_whisper, features[0], DecodingOptions(language="en", fp16=False, sample_len=20))
    assert ours.tokens == stock.tokens and ours.text == stock.text


def test_real_length_features_decode_with_whisper_rules(encoder):
    """No timestamp or other control token is emitted, and decoding stays within the length cap."""
    transcriber = Transcriber(encoder, options=TranscribeOptions(pad_to=(), timestamps=False, temperatures=(0.0,)))
    result = transcriber.decode(encoder.encode(tone(1.0)), seconds=1.0)
    tokenizer = get_tokenizer(True, num_languages=99, language="en", task="transcribe")
    assert len(result.tokens) <= 10 + 10 * 1
    assert all(t < tokenizer.eot for t in result.tokens) and "<|" not in result.text


def test_int8_inference_matches_whisper_decoder_when_weights_are_fp32(encoder, tiny_whisper):
    """The int8 path's own decoder forward (offsets, KV cache, tied head) equals Whisper's with the same weights."""
    head = torch.nn.Linear(64, 51865, bias=False)
    head.weight = tiny_whisper.decoder.token_embedding.weight
    features = encoder.encode(tone(1.0))
    options = DecodingOptions(language="en", fp16=False, sample_len=12)
    ours = _FeaturesTask(tiny_whisper, options, (tiny_whisper.decoder.blocks, head)).run(features)[0]
    stock = _FeaturesTask(tiny_whisper, options, None).run(features)[0]
    assert ours.tokens == stock.tokens and abs(ours.avg_logprob - stock.avg_logprob) < 1e-4


def test_int8_is_opt_in_and_quantizes_a_copy(encoder, tiny_whisper):
    assert Transcriber(encoder).quantized is None
    int8 = Transcriber(encoder, int8=True, options=TranscribeOptions(pad_to=(), temperatures=(0.0,)))
    assert "quantized" in type(int8.quantized[1]).__module__
    assert isinstance(tiny_whisper.decoder.blocks[0].mlp[0], whisper.model.Linear)  # the model stays fp32
    assert isinstance(int8(tone(1.0)), str)  # its words may differ per CPU: only the shape of the answer is checked


def test_fallback_sampling_is_repeatable_and_leaves_the_global_rng_alone(encoder):
    transcriber = Transcriber(encoder, options=TranscribeOptions(pad_to=(), temperatures=(0.0, 1.0)))
    torch.manual_seed(123)
    expected = torch.rand(1)
    torch.manual_seed(123)
    first = transcriber(tone(1.0))
    assert torch.equal(torch.rand(1), expected)
    assert transcriber(tone(1.0)) == first
