"""Shared fixtures: tiny random models (no weights, seconds) and helpers to make media files."""

from __future__ import annotations

import ctypes.util
import io
import wave
from pathlib import Path

import numpy as np
import pytest
import torch

WORDS = ("the cat sat on a mat dog ran to park what is in this picture hello yes no red blue green "
         "paris france capital of answer question one two three").split()
CHAT_TEMPLATE = ("{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n{% endfor %}"
                 "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}")


@pytest.fixture(autouse=True)
def _isolated_cache(request, tmp_path_factory, monkeypatch):
    """Unit tests convert into a throwaway cache; tests marked `weights` use the real one set-up prepared."""
    if request.node.get_closest_marker("weights") is None:
        monkeypatch.setenv("ASSISTANT_CACHE_DIR", str(tmp_path_factory.mktemp("cache")))


@pytest.fixture(autouse=True, scope="session")
def _no_desktop_keyring():
    """Tests never write into the keyring of the desktop they run on (test_keys stands one in for it)."""
    import keyring
    from keyring.backends import fail

    keyring.set_keyring(fail.Keyring())


def make_tokenizer():
    """A word-level tokenizer with a ChatML template and special tokens."""
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    vocab = {w: i for i, w in enumerate(["<unk>", "<pad>", "<|im_start|>", "<|im_end|>", "\n", "user",
                                         "assistant", "system", "<"] + WORDS)}
    tok = Tokenizer(models.WordLevel(vocab, unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, unk_token="<unk>", pad_token="<pad>",
                                   eos_token="<|im_end|>", additional_special_tokens=["<|im_start|>", "<|im_end|>"])
    fast.chat_template = CHAT_TEMPLATE
    return fast


@pytest.fixture(scope="session")
def tiny_llm_dir(tmp_path_factory) -> Path:
    """A randomly initialised 2-layer Llama with the word tokenizer, saved as a transformers directory."""
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(0)
    tok = make_tokenizer()
    cfg = LlamaConfig(vocab_size=len(tok), hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                      num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=512,
                      tie_word_embeddings=True, eos_token_id=tok.eos_token_id, pad_token_id=tok.pad_token_id,
                      initializer_range=0.3)  # large enough that the inputs steer the outputs
    model = LlamaForCausalLM(cfg)
    out = tmp_path_factory.mktemp("tiny-llm")
    model.save_pretrained(out)
    tok.save_pretrained(out)
    return out


def tiny_whisper_dims() -> dict:
    return dict(n_mels=80, n_audio_ctx=1500, n_audio_state=64, n_audio_head=2, n_audio_layer=2, n_vocab=51865,
                n_text_ctx=448, n_text_state=64, n_text_head=2, n_text_layer=2)


@pytest.fixture(scope="session")
def tiny_whisper():
    """A randomly initialised openai-whisper model with the multilingual vocabulary size."""
    from whisper.model import ModelDimensions, Whisper

    torch.manual_seed(0)
    model = Whisper(ModelDimensions(**tiny_whisper_dims())).eval()
    model.decoder.positional_embedding.data.normal_(0, 0.02)  # whisper leaves it torch.empty (may hold NaN)
    return model


def wav_bytes(samples: np.ndarray, rate: int = 16000, channels: int = 1) -> bytes:
    """PCM16 WAV bytes of float samples in [-1, 1]."""
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(channels)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes((np.clip(samples, -1, 1) * 32767).astype(np.int16).tobytes())
    return buf.getvalue()


def tone(seconds: float, rate: int = 16000, freq: float = 440.0) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    return (0.3 * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def tesseract_installed(*languages: str) -> bool:
    """Whether libtesseract and these languages' data are installed (scripts/bootstrap.sh installs them)."""
    from models.encoders.ocr import TESSDATA

    return ctypes.util.find_library("tesseract") is not None and all(
        (TESSDATA / f"{lang}.traineddata").exists() for lang in ("eng", *languages))


needs_tesseract = pytest.mark.skipif(not tesseract_installed(), reason="Tesseract is not installed "
                                     "(scripts/bootstrap.sh installs tesseract-ocr)")
