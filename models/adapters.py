"""Small projectors from frozen encoder features into the LLM's token space, and splicing them into a prompt."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file
from torch import nn

# The instruction the speech adapter's alignment objective is trained with (and transcription uses).
TRANSCRIBE_PROMPT = "Transcribe this recording exactly."


class AdapterMismatchError(ValueError):
    """An adapter was trained for a different encoder or LLM than the ones loaded."""


@dataclass(frozen=True)
class AdapterConfig:
    """Saved as config.json beside model.safetensors; names the models the adapter was trained for."""

    modality: str  # "image" | "speech"
    encoder: str  # e.g. "efficientnet-lite0", "whisper-base"
    llm: str  # e.g. "smollm2-135m-instruct"
    in_dim: int  # encoder feature width
    out_dim: int  # LLM hidden size
    hidden_dim: int
    stack: int = 1  # speech: encoder frames stacked per soft token (50 fps / stack tokens per second)


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

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        """(B, T, D) encoder features -> (B, ceil(T/stack), out_dim) soft tokens."""
        b, t, d = features.shape
        pad = -t % self.cfg.stack
        if pad:
            features = torch.nn.functional.pad(features, (0, 0, 0, pad))
        x = features.reshape(b, (t + pad) // self.cfg.stack, d * self.cfg.stack)
        return self.net(x.to(self.net[1].weight.dtype))


def save_adapter(projector: Projector, directory: Path) -> None:
    """Write model.safetensors + config.json."""
    directory.mkdir(parents=True, exist_ok=True)
    save_file({k: v.contiguous() for k, v in projector.state_dict().items()}, directory / "model.safetensors")
    (directory / "config.json").write_text(json.dumps(asdict(projector.cfg), indent=2))


def load_adapter(directory: Path, encoder: str, llm: str, in_dim: int, out_dim: int) -> Projector:
    """Load strictly; refuse an adapter whose config names another encoder/LLM or other widths."""
    cfg = AdapterConfig(**json.loads((directory / "config.json").read_text()))
    wanted = {"encoder": encoder, "llm": llm, "in_dim": in_dim, "out_dim": out_dim}
    got = {k: getattr(cfg, k) for k in wanted}
    if got != wanted:
        diff = ", ".join(f"{k}={got[k]} (loaded: {wanted[k]})" for k in wanted if got[k] != wanted[k])
        raise AdapterMismatchError(f"{directory}: {cfg.modality} adapter was trained for {diff}")
    projector = Projector(cfg)
    projector.load_state_dict(load_file(directory / "model.safetensors"), strict=True)
    return projector.eval().requires_grad_(False)


def splice(text_embeds: torch.Tensor, media_mask: torch.Tensor, media: torch.Tensor) -> torch.Tensor:
    """Fill placeholder positions with media embeddings.

    text_embeds: (B, L, H) token embeddings of the prompt; media_mask: (B, L) bool, True at placeholder slots;
    media: (M, H), the soft tokens of every media block in prompt order (M == media_mask.sum()).
    """
    if int(media_mask.sum()) != media.shape[0]:
        raise ValueError(f"{int(media_mask.sum())} placeholder slots but {media.shape[0]} media tokens")
    out = text_embeds.clone()
    out[media_mask] = media.to(out.dtype)
    return out
