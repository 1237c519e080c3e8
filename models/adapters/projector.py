"""Small projectors from frozen encoder features into the LLM's token space (LLM.embed splices them into a prompt)."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Callable

import numpy as np
import torch
from safetensors.torch import load_file, save_file
from torch import nn

from models.adapters.config import (TRANSCRIBE_PROMPT, AdapterConfig, AdapterMismatchError,  # noqa: F401
                                    adapter_dir, read_config)
from models.adapters.grounded import GroundedProjector


class Projector(nn.Module):
    """Stack `stack` consecutive frames, then a 2-layer GELU MLP (LLaVA-1.5 style): (B, T, D) -> (B, T/stack, H)."""

    def __init__(self, cfg: AdapterConfig):
        super().__init__()
        self.cfg = cfg
        self.net = nn.Sequential(
            nn.LayerNorm(cfg.in_dim * cfg.stack),
            nn.Linear(cfg.in_dim * cfg.stack, cfg.hidden_dim),
            nn.GELU(),
            nn.Linear(cfg.hidden_dim, cfg.out_dim),
        )

    def frames(self, features: torch.Tensor) -> torch.Tensor:
        """(B, T, D) encoder features -> (B, ceil(T/stack), out_dim) per-frame outputs."""
        b, t, d = features.shape
        pad = -t % self.cfg.stack
        if pad:
            features = torch.nn.functional.pad(features, (0, 0, 0, pad))
        x = features.reshape(b, (t + pad) // self.cfg.stack, d * self.cfg.stack)
        return self.net(x.to(self.net[1].weight.dtype))

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        """(B, T, D) encoder features -> (B, ceil(T/stack), out_dim) soft tokens."""
        return self.frames(features)

    def spelled(self, features: torch.Tensor) -> list[int] | None:
        """The LLM token ids whose embeddings this projector's output for one input is, exactly; None: its soft
        tokens are its own. (A grounded image adapter spells what it sees in the LLM's tokens:
        models.adapters.grounded.)"""
        return None


class CTCHead:
    """What every CTC speech adapter does, whatever its output units (LLM tokens, or characters): per-frame scores
    (ctc_logits, blank last), the CTC loss against a transcript's units, and hearing, the transcript a beam over those
    scores and an LLM agree on (models.adapters.ctc_decode). The assistant hands the LLM that text as its own tokens."""

    cfg: AdapterConfig

    def ctc_logits(self, features: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def targets(self, text: str, text_ids: Callable[[str], list[int]]) -> list[int]:
        """A transcript as this adapter's output units (text_ids: the LLM's tokenization)."""
        raise NotImplementedError

    def spell(self, ids: list[int], detokenize: Callable[[list[int]], str]) -> str:
        """Output units back to text (detokenize: the LLM's)."""
        raise NotImplementedError

    def hear(self, features: torch.Tensor, scorer) -> str:
        """The transcript of (1, T, D) features, decided with `scorer` (a models.adapters.ctc_decode.Scorer: the
        LLM)."""
        raise NotImplementedError

    def loss(self, features: list[torch.Tensor], targets: list[list[int]]) -> torch.Tensor:
        """CTC between each recording's per-frame scores ((T, D) features, any lengths) and its transcript's units
        (targets). bf16 autocast on CUDA."""
        device = next(self.parameters()).device
        batch = torch.nn.utils.rnn.pad_sequence([f.float() for f in features], batch_first=True).to(device)
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=device.type == "cuda"):
            logits = self.ctc_logits(batch)  # (B, T', V + 1)
        log_probs = logits.float().log_softmax(-1).transpose(0, 1)  # (T', B, V + 1)
        return torch.nn.functional.ctc_loss(
            log_probs, torch.tensor([i for t in targets for i in t], device=device),
            torch.tensor([-(-f.shape[0] // self.cfg.stack) for f in features]), torch.tensor([len(t) for t in targets]),
            blank=logits.shape[-1] - 1, zero_infinity=True)

    @torch.inference_mode()
    def log_probs(self, features: torch.Tensor) -> np.ndarray:
        """(1, T, D) encoder features -> (T', V + 1) float32 CTC log-probabilities, blank last
        (models.adapters.ctc_decode decides the transcript from them)."""
        return self.ctc_logits(features)[0].float().log_softmax(-1).cpu().numpy()

    @torch.inference_mode()
    def heard_ids(self, features: torch.Tensor) -> list[int]:
        """(1, T, D) encoder features -> the units greedy CTC hears (blanks and repeats dropped): the adapter alone,
        as training tracks it."""
        logits = self.ctc_logits(features)[0]  # (T', V + 1)
        return logits.argmax(-1)[emitted(logits)].tolist()


class CTCProjector(CTCHead, Projector):
    """A speech projector trained with CTC over the LLM's vocabulary (config `ctc`, no `alphabet`).

    Each frame's output h scores every LLM token by h . E[v] (E: the frozen LLM's (V, H) input embeddings, given at
    construction) plus a learned blank score. It can only say tokens it heard in training: its vocabulary is open in
    principle but closed in practice ("Mona Lisa" came out as "the more"), which SpellingProjector fixes. forward()
    is the soft form training through the LLM uses (objective "llm"): frames are collapsed CTC-style and each kept
    frame becomes the posterior-weighted mix of token embeddings, softmax(h E^T) E (LegoSLM-style); the 135M could
    not read those mixes reliably (110% WER through it against 25% from the same adapter's tokens).
    """

    def __init__(self, cfg: AdapterConfig, vocab: torch.Tensor):
        super().__init__(cfg)
        self.blank = nn.Linear(cfg.out_dim, 1)
        self.vocab = vocab.detach()  # (V, H) LLM input embeddings; a reference, never saved

    def ctc_logits(self, features: torch.Tensor) -> torch.Tensor:
        """(B, T', V + 1) CTC scores over the LLM vocabulary; the blank is the last class."""
        h = self.frames(features)
        return torch.cat([h @ self.vocab.to(h.dtype).T, self.blank(h)], dim=-1)

    def targets(self, text: str, text_ids: Callable[[str], list[int]]) -> list[int]:
        return text_ids(text)

    def spell(self, ids: list[int], detokenize: Callable[[list[int]], str]) -> str:
        return detokenize(ids).strip()

    def hear(self, features: torch.Tensor, scorer) -> str:
        from models.adapters.ctc_decode import hear

        return hear(self.log_probs(features), scorer.detokenize, scorer)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        """(1, T, D) encoder features -> (1, N, out_dim): one soft token per token emitted by greedy CTC collapse
        (at least 1). One recording at a time, since N varies."""
        if features.shape[0] != 1:
            raise ValueError("a CTC adapter emits a variable number of tokens: pass one recording at a time")
        logits = self.ctc_logits(features)[0]  # (T', V + 1)
        blank = logits.shape[-1] - 1
        keep = emitted(logits)
        if not bool(keep.any()):  # silence: keep the frame most likely to be speech
            keep[logits[:, :blank].max(-1).values.sub(logits[:, blank]).argmax()] = True
        posterior = logits[keep, :blank].softmax(-1)  # (N, V)
        return (posterior @ self.vocab.to(posterior.dtype))[None]


class SpellingProjector(CTCHead, nn.Module):
    """A speech adapter that spells (config `alphabet`): CTC over characters at Whisper's 50 frames a second.

    LayerNorm -> Linear + GELU -> a 2-layer bidirectional LSTM (`recurrent` wide each way) -> a score per character of
    cfg.alphabet and a blank. Every character is heard in training, so it can spell words it never heard ("capital
    of hongary"); a lexicon of English words in the beam and the LLM's rescoring turn that into "hungary"
    (models.adapters.ctc_decode.spelled_nbest, then rescore). It has no soft tokens: the LLM is always handed what it
    hears.
    """

    def __init__(self, cfg: AdapterConfig):
        super().__init__()
        self.cfg = cfg
        self.norm = nn.LayerNorm(cfg.in_dim)
        self.inp = nn.Sequential(nn.Linear(cfg.in_dim, cfg.hidden_dim), nn.GELU(), nn.Dropout(0.1))
        self.lstm = nn.LSTM(cfg.hidden_dim, cfg.recurrent, num_layers=2, bidirectional=True, batch_first=True,
                            dropout=0.1)
        self.out = nn.Linear(2 * cfg.recurrent, len(cfg.alphabet) + 1)

    def ctc_logits(self, features: torch.Tensor) -> torch.Tensor:
        """(B, T, len(alphabet) + 1) CTC scores over the characters; the blank is the last class."""
        h = self.inp(self.norm(features.to(self.out.weight.dtype)))
        return self.out(self.lstm(h)[0])

    def targets(self, text: str, text_ids: Callable[[str], list[int]] | None = None) -> list[int]:
        return spelling_units(text, self.cfg.alphabet)

    def spell(self, ids: list[int], detokenize: Callable[[list[int]], str] | None = None) -> str:
        return " ".join("".join(self.cfg.alphabet[i] for i in ids).split())

    def hear(self, features: torch.Tensor, scorer) -> str:
        from models.adapters.ctc_decode import hear_spelled

        return hear_spelled(self.log_probs(features), self.cfg.alphabet, scorer)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        raise TypeError("a spelling adapter has no soft tokens: hand the LLM what it hears (hear)")


SPELLING_ALPHABET = " abcdefghijklmnopqrstuvwxyz'"  # the space first


def spelling_units(text: str, alphabet: str = SPELLING_ALPHABET) -> list[int]:
    """A transcript as a spelling adapter's output units (indices into alphabet; [] where it has no spelling)."""
    return [alphabet.index(c) for c in spellable(text, alphabet)]


def spellable(text: str, alphabet: str = SPELLING_ALPHABET) -> str:
    """A transcript as a spelling adapter writes it: lower case, hyphens as spaces, nothing outside the alphabet,
    single spaces; "" where a digit would have to be spelled (its words are not known)."""
    text = text.lower().replace("-", " ")
    if any(c.isdigit() for c in text):
        return ""
    return " ".join("".join(c for c in text if c in alphabet).split())


def build_projector(cfg: AdapterConfig, vocab: torch.Tensor | None = None) -> nn.Module:
    """The projector class the config names; a CTC or grounded one needs the LLM's (V, H) input embeddings
    (referenced, not copied)."""
    if cfg.grounded:
        return GroundedProjector(cfg, vocab, Projector(cfg) if cfg.hidden_dim else None)
    if cfg.alphabet:
        return SpellingProjector(cfg)
    return CTCProjector(cfg, vocab) if cfg.ctc else Projector(cfg)


def emitted(logits: torch.Tensor) -> torch.Tensor:
    """Greedy CTC collapse of (T, V + 1) scores (blank last): True at frames that emit a token."""
    best = logits.argmax(-1)
    changed = torch.cat([best.new_ones(1, dtype=torch.bool), best[1:] != best[:-1]])
    return (best != logits.shape[-1] - 1) & changed


def save_adapter(projector: Projector, directory: Path) -> None:
    """Write model.safetensors + config.json."""
    directory.mkdir(parents=True, exist_ok=True)
    save_file({k: v.contiguous() for k, v in projector.state_dict().items()}, directory / "model.safetensors")
    (directory / "config.json").write_text(json.dumps(asdict(projector.cfg), indent=2))


def load_adapter(directory: Path, encoder: str, llm: str, in_dim: int, out_dim: int,
                 vocab: torch.Tensor | Callable[[], torch.Tensor] | None = None) -> Projector:
    """Load strictly; refuse an adapter whose config names another encoder/LLM or other widths.

    vocab: the LLM's input embeddings, which a CTC or grounded adapter needs (attached, not copied); a callable is
    called only for those (llama.cpp dequantizes them on request).
    """
    cfg = read_config(directory)
    wanted = {"encoder": encoder, "llm": llm, "in_dim": in_dim, "out_dim": out_dim}
    got = {k: getattr(cfg, k) for k in wanted}
    if got != wanted:
        diff = ", ".join(f"{k}={got[k]} (loaded: {wanted[k]})" for k in wanted if got[k] != wanted[k])
        raise AdapterMismatchError(f"{directory}: {cfg.modality} adapter was trained for {diff}")
    needs_vocab = (cfg.ctc and not cfg.alphabet) or bool(cfg.grounded)
    if needs_vocab and vocab is None:
        raise ValueError(f"{directory}: a {'CTC' if cfg.ctc else 'grounded'} adapter needs the LLM's input embeddings")
    projector = build_projector(cfg, vocab() if needs_vocab and callable(vocab) else vocab)
    projector.load_state_dict(load_file(directory / "model.safetensors"), strict=True)
    return projector.eval().requires_grad_(False)

