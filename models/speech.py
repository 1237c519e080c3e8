"""Frozen Whisper: an encoder that pays only for the audio's real length, and greedy transcription over it.

Stock Whisper pads every clip to 30 s (1500 encoder frames). Its encoder is a plain transformer over sinusoidal
positions, so we run it on the clip's own frames with the first T positional embeddings: a 3 s question costs
150 frames instead of 1500.
"""

from __future__ import annotations

import copy
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
import whisper
from torch import nn
from torch.ao.quantization import per_channel_dynamic_qconfig, quantize_dynamic
from whisper.audio import HOP_LENGTH, N_FRAMES, N_SAMPLES, SAMPLE_RATE
from whisper.model import ModelDimensions, MultiHeadAttention, Whisper
from whisper.tokenizer import get_tokenizer

from models.device import Placement

FRAMES_PER_SECOND = SAMPLE_RATE // HOP_LENGTH // 2  # encoder frames per second of audio (50)


def load_whisper(path: Path | str, placement: Placement) -> Whisper:
    """Load an openai-whisper checkpoint strictly (weights_only); a bare name loads via whisper's own cache."""
    path = Path(path)
    if not path.is_file():
        model = whisper.load_model(str(path), device=placement.device)
        return model.eval().requires_grad_(False)
    checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    model = Whisper(ModelDimensions(**checkpoint["dims"]))
    model.load_state_dict(checkpoint["model_state_dict"], strict=True)
    heads = checkpoint.get("alignment_heads") or []
    if heads:
        mask = torch.zeros(model.dims.n_text_layer, model.dims.n_text_head, dtype=torch.bool)
        mask[tuple(torch.tensor(heads).T)] = True
        model.register_buffer("alignment_heads", mask.to_sparse(), persistent=False)
    # Whisper's LayerNorm/Linear cast locally, so fp32 weights run under any autocast dtype.
    return model.to(placement.device).float().eval().requires_grad_(False)


@dataclass
class SpeechEncoder:
    """Whisper's encoder, frozen, returning (B, T, D) features at 50 frames per second of real audio."""

    model: Whisper
    name: str

    @property
    def dim(self) -> int:
        """Feature width D."""
        return self.model.dims.n_audio_state

    def mel(self, audio: np.ndarray, pad_to_30s: bool = False) -> torch.Tensor:
        """Log-mel (n_mels, frames) of 16 kHz mono audio; unpadded frames are rounded up to an even count."""
        device = next(self.model.parameters()).device
        samples = torch.from_numpy(np.ascontiguousarray(audio, dtype=np.float32)).to(device)
        if pad_to_30s:
            mel = whisper.log_mel_spectrogram(samples, self.model.dims.n_mels, padding=N_SAMPLES)
            return whisper.pad_or_trim(mel, N_FRAMES)
        max_frames = 2 * self.model.dims.n_audio_ctx
        mel = whisper.log_mel_spectrogram(samples[: N_SAMPLES], self.model.dims.n_mels)[:, :max_frames]
        frames = min(max_frames, max(2, mel.shape[-1] + mel.shape[-1] % 2))
        return F.pad(mel, (0, frames - mel.shape[-1]), value=float(mel.min()))

    @torch.inference_mode()
    def encode(self, audio: np.ndarray, pad_to_30s: bool = False) -> torch.Tensor:
        """(1, T, D) encoder features; T = 50 per second of audio, or 1500 with pad_to_30s (stock behaviour)."""
        return self.encode_mel(self.mel(audio, pad_to_30s)[None])

    @torch.inference_mode()
    def encode_mel(self, mel: torch.Tensor) -> torch.Tensor:
        """(B, n_mels, F) log-mel -> (B, F/2, D) features using the first F/2 positional embeddings."""
        enc = self.model.encoder
        x = F.gelu(enc.conv1(mel))
        x = F.gelu(enc.conv2(x)).permute(0, 2, 1)  # (B, T, D)
        x = x + enc.positional_embedding[: x.shape[1]]
        for block in enc.blocks:
            x = block(x)
        return enc.ln_post(x)


class Transcriber:
    """Greedy Whisper decoding over (1, T, D) encoder features of any length, with a KV cache.

    int8 (CPU): the decoder blocks and the vocabulary projection use dynamic int8 weights (per-channel scales).
    Decoding a token is bound by memory bandwidth, so this is ~3x faster on 2 CPU cores; on 16 synthetic clips
    12 transcripts were identical to fp32 and the 4 that differed were borderline words ("of"/"on", "Earth").
    """

    def __init__(self, model: Whisper, int8: bool = False):
        self.model = model
        dec = model.decoder
        head = nn.Linear(dec.token_embedding.embedding_dim, dec.token_embedding.num_embeddings, bias=False)
        head.weight = dec.token_embedding.weight  # tied, as in Whisper
        self.head: nn.Module = head
        self.blocks: nn.Module = dec.blocks
        if int8:  # quantize a copy: the Whisper model itself stays as loaded
            self.blocks = copy.deepcopy(dec.blocks)
            for module in self.blocks.modules():
                if isinstance(module, whisper.model.Linear):
                    module.__class__ = nn.Linear  # same maths in fp32; lets torch's quantizer recognise it
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # torch.ao's eager quantization warns it is moving to torchao
                # Per-channel scales: per-tensor ones flipped more words on our synthetic clips.
                self.blocks = quantize_dynamic(self.blocks, {nn.Linear: per_channel_dynamic_qconfig})
                self.head = quantize_dynamic(nn.Sequential(head), {nn.Linear: per_channel_dynamic_qconfig})[0]
        self.tokenizers: dict[str, object] = {}

    def _tokenizer(self, language: str):
        if language not in self.tokenizers:
            m = self.model
            self.tokenizers[language] = get_tokenizer(m.is_multilingual, num_languages=m.num_languages,
                                                      language=language if m.is_multilingual else None,
                                                      task="transcribe")
        return self.tokenizers[language]

    def _step(self, tokens: torch.Tensor, features: torch.Tensor, cache: dict, offset: int) -> torch.Tensor:
        """Logits (V,) for the last of `tokens` (1, n), positions starting at offset."""
        dec = self.model.decoder
        x = dec.token_embedding(tokens) + dec.positional_embedding[offset : offset + tokens.shape[1]]
        for block in self.blocks:
            x = block(x, features, mask=dec.mask, kv_cache=cache)
        return self.head(dec.ln(x[:, -1])).float()[0]

    @torch.inference_mode()
    def __call__(self, features: torch.Tensor, language: str = "en", max_tokens: int = 200) -> str:
        """The transcript of (1, T, D) features."""
        tokenizer = self._tokenizer(language)
        device = features.device
        prompt = list(tokenizer.sot_sequence_including_notimestamps)
        suppress = torch.tensor(sorted(set(tokenizer.non_speech_tokens) | {tokenizer.no_timestamps,
                                tokenizer.sot, tokenizer.sot_prev, tokenizer.sot_lm}), device=device)
        cache, hooks = _install_kv_cache(self.blocks)
        out: list[int] = []
        # Speech rarely exceeds ~6 tokens a second; the cap stops greedy decoding's repetition loops on short clips.
        budget = min(max_tokens, 10 + 10 * features.shape[1] // FRAMES_PER_SECOND,
                     self.model.dims.n_text_ctx - len(prompt))
        try:
            step, offset = torch.tensor([prompt], device=device), 0
            for _ in range(budget):
                logits = self._step(step, features, cache, offset)
                offset += step.shape[1]
                logits[suppress] = -torch.inf
                logits[tokenizer.timestamp_begin :] = -torch.inf
                if not out:
                    logits[tokenizer.eot] = -torch.inf  # suppress blank: an answer needs one token
                token = int(logits.argmax())
                if token == tokenizer.eot:
                    break
                out.append(token)
                if _ends_in_loop(out):
                    break
                step = torch.tensor([[token]], device=device)
        finally:
            for hook in hooks:
                hook.remove()
        return tokenizer.decode(out).strip()


def _install_kv_cache(blocks: nn.Module) -> tuple[dict, list]:
    """Forward hooks that append each step's keys/values (as whisper's install_kv_cache_hooks, for any blocks)."""
    cache: dict = {}

    def save(module, _, output):
        cache[module] = output if module not in cache else torch.cat([cache[module], output], dim=1).detach()
        return cache[module]

    hooks = []
    for layer in blocks.modules():
        if isinstance(layer, MultiHeadAttention):
            hooks += [layer.key.register_forward_hook(save), layer.value.register_forward_hook(save)]
    return cache, hooks


def _ends_in_loop(out: list[int], min_span: int = 4) -> bool:
    """True (and trims out) when the last span of >= min_span tokens repeats the span before it."""
    for n in range(min_span, len(out) // 2 + 1):
        if out[-n:] == out[-2 * n : -n]:
            del out[-n:]
            return True
    return False
