"""Frozen Whisper: an encoder that can pay only for the audio's real length, and Whisper's own decoding over it.

Stock Whisper pads every clip to 30 s (1500 encoder frames). Its encoder is a plain transformer over sinusoidal
positions, so we can run it on the clip's own frames with the first T positional embeddings: a 3 s question costs
150 frames instead of 1500. The speech adapters use that. Transcription pads with silence as measured in
docs/EVALUATION.md (see TranscribeOptions), and decodes with whisper.decoding's rules, not a hand-written loop.
"""

from __future__ import annotations

import copy
import warnings
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
import whisper
from torch import nn
from torch.ao.quantization import per_channel_dynamic_qconfig, quantize_dynamic
from whisper.audio import N_FRAMES, N_SAMPLES, SAMPLE_RATE
from whisper.decoding import DecodingOptions, DecodingResult, DecodingTask, PyTorchInference, SuppressTokens
from whisper.model import ModelDimensions, MultiHeadAttention, Whisper
from whisper.tokenizer import get_tokenizer

from models.device import Placement


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


@dataclass(frozen=True)
class TranscribeOptions:
    """How a clip is transcribed. The thresholds are whisper.transcribe's defaults."""

    # The languages a question may be spoken in (the app's two); with more than one, Whisper's language token picks
    # among them (a multilingual model only; an English-only one transcribes English).
    languages: tuple[str, ...] = ("en", "ko")
    # Seconds the encoder sees: a clip's log-mel is padded up to the first of these that holds it.
    # () encodes only the real length (fastest, but not what Whisper was trained on); (30.0,) is stock Whisper.
    # (10, 30) matched stock's word error rate on 50 real clips (alsa-utils, warzone2100) at a third of the time
    # for the usual spoken question (docs/EVALUATION.md, python -m tools.evaluate_transcription).
    pad_to: tuple[float, ...] = (10.0, 30.0)
    timestamps: bool = True  # sample timestamp tokens, as whisper.transcribe does; they help it end cleanly
    temperatures: tuple[float, ...] = (0.0, 0.2, 0.4, 0.6, 0.8, 1.0)  # fallback when a decode looks wrong
    compression_ratio_threshold: float = 2.4  # gzip ratio above this means the text repeats itself
    logprob_threshold: float = -1.0
    no_speech_threshold: float = 0.6
    tokens_per_second: int = 10  # length cap: 10 + this many tokens per second of audio (speech is ~3-6)


class Transcriber:
    """Whisper transcription of 16 kHz audio (up to 30 s) through whisper.decoding's DecodingTask.

    int8 (CPU, opt-in): the decoder blocks and the vocabulary projection use dynamic int8 weights, ~3x faster
    decoding on 2 cores; but quantized kernels round differently per CPU (AVX-512 VNNI or not), so its words may
    differ between machines. fp32, the default, gives the same text on any x86-64 CPU.
    """

    def __init__(self, encoder: SpeechEncoder, int8: bool = False, options: TranscribeOptions = TranscribeOptions()):
        self.encoder = encoder
        self.options = options
        self.quantized: tuple[nn.Module, nn.Module] | None = _quantize_decoder(encoder.model) if int8 else None

    def __call__(self, audio: np.ndarray) -> str:
        """The transcript of one clip (the first 30 s); "" when Whisper judges it silent."""
        result = self.decode(self.features(audio), len(audio) / SAMPLE_RATE)
        o = self.options
        if result.no_speech_prob > o.no_speech_threshold and result.avg_logprob < o.logprob_threshold:
            return ""  # whisper.transcribe skips such a segment
        return result.text

    def features(self, audio: np.ndarray) -> torch.Tensor:
        """(1, T, D) encoder features of a clip's first 30 s, padded as options.pad_to says."""
        mel = self.encoder.mel(np.asarray(audio, dtype=np.float32)[:N_SAMPLES])  # (n_mels, F), real length
        # Zeros after the clip's log-mel, as whisper.transcribe pads each segment (pad_or_trim).
        mel = F.pad(mel, (0, padded_frames(mel.shape[-1], self.options.pad_to) - mel.shape[-1]))
        return self.encoder.encode_mel(mel[None])

    @torch.inference_mode()
    def decode(self, features: torch.Tensor, seconds: float) -> DecodingResult:
        """Greedy decoding of (1, T, D) features, with whisper.transcribe's temperature fallback."""
        o = self.options
        base = DecodingOptions(language=self.language(features), without_timestamps=not o.timestamps, fp16=False,
                               sample_len=int(10 + o.tokens_per_second * seconds))
        devices = [features.device] if features.is_cuda else []
        with torch.random.fork_rng(devices=devices):
            torch.manual_seed(0)  # sampling at temperature > 0 is repeatable, and leaves the caller's RNG alone
            for temperature in o.temperatures:
                result = _FeaturesTask(self.encoder.model, replace(base, temperature=temperature),
                                       self.quantized).run(features)[0]
                silent = result.no_speech_prob > o.no_speech_threshold and result.avg_logprob < o.logprob_threshold
                if silent or (result.compression_ratio <= o.compression_ratio_threshold
                              and result.avg_logprob >= o.logprob_threshold):
                    break
        return result

    @torch.inference_mode()
    def language(self, features: torch.Tensor) -> str:
        """The most likely of options.languages for (1, T, D) features: one decoder step after start-of-transcript,
        as whisper.detect_language, but over these features (it would re-encode any that are not 30 s long)."""
        model, languages = self.encoder.model, self.options.languages
        if len(languages) == 1 or not model.is_multilingual:
            return languages[0] if model.is_multilingual else "en"
        tokenizer = get_tokenizer(True, num_languages=model.num_languages)
        logits = model.logits(torch.tensor([[tokenizer.sot]], device=features.device), features)[0, -1]  # (vocab,)
        scores = logits[[tokenizer.to_language_token(code) for code in languages]]
        return languages[int(scores.argmax())]


def padded_frames(frames: int, pad_to: tuple[float, ...]) -> int:
    """Log-mel frames (100 a second) padded up to the first length in pad_to (seconds) that holds them."""
    for seconds in sorted(pad_to):
        if frames <= seconds * 100:
            return int(seconds * 100)
    return frames


class _FeaturesTask(DecodingTask):
    """whisper.decoding's DecodingTask (initial tokens, suppress_blank, suppress_tokens "-1", timestamp rules,
    end-of-text, avg_logprob, compression ratio) over features of any length; optionally int8 decoder weights.
    Without timestamps, timestamp tokens are suppressed too."""

    def __init__(self, model: Whisper, options: DecodingOptions, quantized: tuple[nn.Module, nn.Module] | None):
        super().__init__(model, options)
        if options.without_timestamps:  # stock leaves these to the model, which can emit them as text
            tok = self.tokenizer
            timestamps = [tok.no_timestamps, *range(tok.timestamp_begin, model.dims.n_vocab)]
            self.logit_filters.append(SuppressTokens(timestamps))
        if quantized is not None:
            self.inference = _QuantizedInference(model, len(self.initial_tokens), *quantized)

    def _get_audio_features(self, features: torch.Tensor) -> torch.Tensor:
        return features  # stock re-encodes anything that is not exactly (1500, D) features


class _QuantizedInference(PyTorchInference):
    """Whisper's TextDecoder.forward with other (int8) blocks and vocabulary projection, KV-cached."""

    def __init__(self, model: Whisper, initial_token_length: int, blocks: nn.Module, head: nn.Module):
        super().__init__(model, initial_token_length)
        self.blocks, self.head = blocks, head

    def logits(self, tokens: torch.Tensor, audio_features: torch.Tensor) -> torch.Tensor:
        """(B, n, V) logits for the new tokens (all of them on the first call, then the last one)."""
        if not self.kv_cache:
            self.kv_cache, self.hooks = _install_kv_cache(self.blocks)
        offset = 0
        if tokens.shape[-1] > self.initial_token_length:
            offset, tokens = tokens.shape[-1] - 1, tokens[:, -1:]
        dec = self.model.decoder
        x = dec.token_embedding(tokens) + dec.positional_embedding[offset : offset + tokens.shape[-1]]
        for block in self.blocks:
            x = block(x, audio_features, mask=dec.mask, kv_cache=self.kv_cache)
        return self.head(dec.ln(x)).float()


def _quantize_decoder(model: Whisper) -> tuple[nn.Module, nn.Module]:
    """int8 copies of the decoder blocks and the (tied) vocabulary projection; the model stays as loaded."""
    dec = model.decoder
    head = nn.Linear(dec.token_embedding.embedding_dim, dec.token_embedding.num_embeddings, bias=False)
    head.weight = dec.token_embedding.weight  # tied, as in Whisper
    blocks = copy.deepcopy(dec.blocks)
    for module in blocks.modules():
        if isinstance(module, whisper.model.Linear):
            module.__class__ = nn.Linear  # same maths in fp32; lets torch's quantizer recognise it
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch.ao's eager quantization warns it is moving to torchao
        # Per-channel scales: per-tensor ones flipped more words on our synthetic clips.
        blocks = quantize_dynamic(blocks, {nn.Linear: per_channel_dynamic_qconfig})
        head = quantize_dynamic(nn.Sequential(head), {nn.Linear: per_channel_dynamic_qconfig})[0]
    return blocks, head


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
