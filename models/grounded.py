"""An image adapter grounded in the vision tower's own ImageNet classifier, for any LLM, with no LLM training.

EfficientNet-Lite0 learned 1,000 named kinds of real things from real photographs. Its classifier rows (kept in the
adapter) score the mean of the patch tokens exactly as the tower's own head does; the most probable class names
reach the LLM as its own token embeddings, framed by a short phrase, the way the CTC speech adapter hands the LLM
mixtures of vocabulary rows. Every grounded soft token is a convex mixture of vocabulary rows; at the decision
level the mixture is one-hot (a name is a sequence of tokens, and a blend of two names' tokens reads as neither).

Honesty comes from the probabilities: a confident class is stated ("a photo of a hammer"), middling ones are
offered as guesses ("maybe a hammer or a screwdriver"), and below `floor` nothing is named. When the config has a
hidden_dim, the spatial tokens of a trained MLP (colour, layout, count) follow. Built by
`python -m models.build_grounded`.
"""

from __future__ import annotations

from typing import Callable

import torch
from torch import nn

from models.adapter_config import AdapterConfig

# Framing phrases, in the order of the stored `phrases` table: stated, guessed, the separator between guesses, the
# closing, and the phrase for an image the classifier cannot place.
PHRASES = ("Photo of", "Photo, possibly of", " or", ".", "Photo. Its main object could not be identified.")
STATED, GUESSED, OR, CLOSE, UNKNOWN = range(len(PHRASES))


def article(name: str) -> str:
    """ "a" or "an" before a class name."""
    return "an" if name[:1].lower() in "aeiou" else "a"


class GroundedProjector(nn.Module):
    """(1, 49, D) tower patch tokens -> (1, N, H): grounded class-name tokens, then spatial tokens (if any)."""

    def __init__(self, cfg: AdapterConfig, vocab: torch.Tensor, spatial: nn.Module | None = None):
        super().__init__()
        if not cfg.grounded or not cfg.classes:
            raise ValueError("a GroundedProjector needs a config with grounded > 0 and classes > 0")
        if (spatial is not None) != bool(cfg.hidden_dim):
            raise ValueError("a grounded config with hidden_dim > 0 needs its spatial projector, and only then")
        if vocab.shape[-1] != cfg.out_dim:
            raise ValueError(f"the LLM's embeddings are {vocab.shape[-1]} wide; this adapter makes {cfg.out_dim}")
        self.cfg = cfg
        self.spatial = spatial  # adapters.Projector(cfg) (trained spatial tokens), or None
        self.register_buffer("classifier", torch.zeros(cfg.classes, cfg.in_dim))  # (C, D) the tower's head
        self.register_buffer("bias", torch.zeros(cfg.classes))
        # LLM token ids, -1 padded: " a hammer" for every class (C, name_tokens), and PHRASES (P, phrase_tokens).
        self.register_buffer("names", torch.full((cfg.classes, cfg.name_tokens), -1, dtype=torch.int32))
        self.register_buffer("phrases", torch.full((len(PHRASES), cfg.phrase_tokens), -1, dtype=torch.int32))
        self.vocab = vocab.detach()  # (V, H) LLM input embeddings; a reference, never saved

    def probabilities(self, features: torch.Tensor) -> torch.Tensor:
        """(B, C) class probabilities of (B, T, D) patch tokens: the tower's own head over their mean."""
        pooled = features.float().mean(1)  # (B, D)
        return (pooled @ self.classifier.float().T + self.bias.float()).softmax(-1)

    def choose(self, probs: torch.Tensor) -> tuple[int, list[int]]:
        """(opening phrase, class ids to name) for one image's (C,) probabilities."""
        top = probs.topk(self.cfg.grounded)
        named = [int(c) for p, c in zip(top.values, top.indices) if float(p) >= self.cfg.floor]
        if not named:
            return UNKNOWN, []
        if float(top.values[0]) >= self.cfg.sure:
            return STATED, named[:1]
        return GUESSED, named

    def token_ids(self, probs: torch.Tensor) -> list[int]:
        """The LLM token ids the grounded tokens spell for (C,) probabilities."""
        opening, named = self.choose(probs)
        rows = [self.phrases[opening]]
        for i, c in enumerate(named):
            rows += ([self.phrases[OR]] if i else []) + [self.names[c]]
        if named:
            rows.append(self.phrases[CLOSE])
        ids = torch.cat(rows)
        return ids[ids >= 0].tolist()

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        """(1, T, D) patch tokens -> (1, N, H). One image at a time: N depends on what the classifier sees."""
        if features.shape[0] != 1:
            raise ValueError("a grounded adapter emits a variable number of tokens: pass one image at a time")
        probs = self.probabilities(features)[0]
        ids = torch.tensor(self.token_ids(probs), device=self.vocab.device)
        # One-hot mixtures of vocabulary rows: exactly the embeddings of the tokens (N, H).
        weights = torch.nn.functional.one_hot(ids, self.vocab.shape[0]).to(self.vocab.dtype)
        grounded = weights @ self.vocab
        if self.spatial is None:
            return grounded[None]
        spatial = self.spatial(features)  # (1, T, H)
        return torch.cat([grounded[None].to(spatial.dtype), spatial], dim=1)


def grounded_tables(tokenize: Callable[[str], list[int]], class_names: list[str]) -> tuple[torch.Tensor, torch.Tensor]:
    """(names (C, Ln), phrases (P, Lp)) int32 id tables, -1 padded, for an LLM's tokenizer (plain text, no BOS)."""
    def table(rows: list[list[int]]) -> torch.Tensor:
        out = torch.full((len(rows), max(map(len, rows))), -1, dtype=torch.int32)
        for i, r in enumerate(rows):
            out[i, : len(r)] = torch.tensor(r, dtype=torch.int32)
        return out

    names = table([tokenize(f" {article(n)} {n}") for n in class_names])
    return names, table([tokenize(p) for p in PHRASES])


def build_grounded(cfg: AdapterConfig, vocab: torch.Tensor, classifier: torch.Tensor, bias: torch.Tensor,
                   tokenize: Callable[[str], list[int]], class_names: list[str],
                   spatial: nn.Module | None = None) -> GroundedProjector:
    """A grounded projector for an LLM (its vocab and tokenizer) and a tower's classifier; cfg's table widths are
    filled in from the tokenized names. spatial: a trained adapters.Projector to follow the names (cfg.hidden_dim)."""
    from dataclasses import replace

    names, phrases = grounded_tables(tokenize, class_names)
    cfg = replace(cfg, classes=len(class_names), name_tokens=names.shape[1], phrase_tokens=phrases.shape[1])
    proj = GroundedProjector(cfg, vocab, spatial)
    with torch.no_grad():
        proj.classifier.copy_(classifier)
        proj.bias.copy_(bias)
        proj.names.copy_(names)
        proj.phrases.copy_(phrases)
    return proj

