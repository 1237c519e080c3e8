"""An image adapter grounded in the vision tower's own ImageNet classifier, for any LLM, with no LLM training.

EfficientNet-Lite0 learned 1,000 named kinds of real things from real photographs. Its classifier rows (kept in the
adapter) score the mean of the patch tokens exactly as the tower's own head does; the most probable class names
reach the LLM as its own token embeddings, framed by a short phrase, the way the CTC speech adapter hands the LLM
mixtures of vocabulary rows. Every grounded soft token is a convex mixture of vocabulary rows; at the decision
level the mixture is one-hot (a name is a sequence of tokens, and a blend of two names' tokens reads as neither).

The classifier is the tower's 1,000 ImageNet rows plus rows fitted on the gcompris training photographs for the
kinds of things ImageNet lacks (windmill, pliers, Eiffel Tower); each ImageNet name carries its WordNet kind
("German shepherd (a kind of dog)"), so a right kind still reaches the answer when the exact class is wrong.

Honesty comes from the probabilities: a confident class is stated ("a photo of a hammer"), middling ones are
offered as guesses ("maybe a hammer or a screwdriver"), and below `floor` nothing is named. A picture whose heads
see flat shapes is described as a drawing of them instead ("Drawing of a red circle and a blue star."): per-colour
attention over the patches finds each colour's shape. When the config has a hidden_dim, the spatial tokens of a
trained MLP (colour, layout, count) follow. Built by `python -m models.training.build_grounded`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Callable

import torch
from torch import nn

from models.adapters.config import AdapterConfig
from models.adapters.grounded_spelling import PHRASES, UNKNOWN, named, phrase_ids, seen_shapes, spelled_ids
from models.adapters.patch_words import COLOUR_WORDS, NO_COLOUR, NO_SHAPE, SHAPE_WORDS

if TYPE_CHECKING:
    import numpy as np

OBJECT_HIDDEN = 256  # width of the per-colour shape classifier


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
        if cfg.shapes:  # per-patch colour (COLOUR_WORDS, last "none"); per colour, its shape (SHAPE_WORDS, last "none")
            self.patch_norm = nn.LayerNorm(cfg.in_dim)
            self.colour_head = nn.Linear(cfg.in_dim, NO_COLOUR + 1)
            self.colour_queries = nn.Parameter(torch.zeros(NO_COLOUR, cfg.in_dim))
            self.object_head = nn.Sequential(nn.Linear(cfg.in_dim + 1, OBJECT_HIDDEN), nn.GELU(),
                                             nn.Linear(OBJECT_HIDDEN, NO_SHAPE + 1))
            # " a red", " an orange", ... and " circle", ...: (words, word_tokens) ids, -1 padded
            self.register_buffer("colour_words", torch.full((NO_COLOUR, cfg.word_tokens), -1, dtype=torch.int32))
            self.register_buffer("shape_words", torch.full((NO_SHAPE, cfg.word_tokens), -1, dtype=torch.int32))
        self.vocab = vocab.detach()  # (V, H) LLM input embeddings; a reference, never saved

    def probabilities(self, features: torch.Tensor) -> torch.Tensor:
        """(B, C) class probabilities of (B, T, D) patch tokens: the tower's own head over their mean."""
        pooled = features.float().mean(1)  # (B, D)
        return (pooled @ self.classifier.float().T + self.bias.float()).softmax(-1)

    def shape_logits(self, features: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(B, T, colours + 1) per-patch colour scores, (B, colours, shapes + 1) the shape drawn in each colour (the
        last class of each is "none"), and (B, colours) how strongly each colour shows in its best patch."""
        x = self.patch_norm(features.float())
        cells = self.colour_head(x)
        colour = cells[..., :NO_COLOUR]  # (B, T, K)
        presence = colour.max(1).values - cells[..., NO_COLOUR:].max(1).values  # (B, K)
        pooled = colour.transpose(1, 2).softmax(-1) @ x + self.colour_queries  # (B, K, D): each colour's patches
        return cells, self.object_head(torch.cat([pooled, presence[..., None]], -1)), presence

    def objects(self, features: torch.Tensor) -> list[tuple[int, int]]:
        """(colour, shape) pairs of the flat shapes one image's (1, T, D) patches show, strongest colour first."""
        if not self.cfg.shapes:
            return []
        with torch.no_grad():
            _, shapes, presence = self.shape_logits(features)
        return seen_shapes(shapes[0].float().cpu().numpy(), presence[0].float().cpu().numpy(), self.cfg.shapes)

    def tables(self) -> dict[str, "np.ndarray"]:
        """The -1 padded LLM token id tables the grounded tokens are spelled from
        (models.adapters.grounded_spelling)."""
        names = ("names", "phrases") + (("colour_words", "shape_words") if self.cfg.shapes else ())
        return {n: getattr(self, n).cpu().numpy() for n in names}

    @property
    def unknown_ids(self) -> list[int]:
        """The ids spelled for a picture the classifier cannot place (an internal phrase, not the picture's content)."""
        return phrase_ids(self.tables(), UNKNOWN)

    def token_ids(self, probs: torch.Tensor, objects: list[tuple[int, int]] = ()) -> list[int]:
        """The LLM token ids the grounded tokens spell for (C,) probabilities and the flat shapes seen."""
        return spelled_ids(self.tables(), probs.float().cpu().numpy(), list(objects),
                           self.cfg.grounded, self.cfg.sure, self.cfg.floor)

    def _spell(self, features: torch.Tensor) -> list[int]:
        """The LLM token ids one image's (1, T, D) patch tokens are described by."""
        if features.shape[0] != 1:
            raise ValueError("a grounded adapter emits a variable number of tokens: pass one image at a time")
        return self.token_ids(self.probabilities(features)[0], self.objects(features))

    def spelled(self, features: torch.Tensor) -> list[int] | None:
        """The LLM token ids forward()'s rows are the embeddings of (one image), or None when spatial tokens follow."""
        return self._spell(features) if self.spatial is None else None

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        """(1, T, D) patch tokens -> (1, N, H). One image at a time: N depends on what the classifier sees."""
        ids = torch.tensor(self._spell(features), device=self.vocab.device)
        # One-hot mixtures of vocabulary rows are exactly the rows themselves: the embeddings of the tokens (N, H).
        # Indexing reads only those rows (llama.cpp's vocab dequantizes them from the GGUF on demand).
        grounded = self.vocab[ids]
        if self.spatial is None:
            return grounded[None]
        spatial = self.spatial(features)  # (1, T, H)
        return torch.cat([grounded[None].to(spatial.dtype), spatial], dim=1)


def _table(rows: list[list[int]], width: int = 0) -> torch.Tensor:
    """Token id rows as one (R, width) int32 table, -1 padded."""
    out = torch.full((len(rows), max(width, *map(len, rows))), -1, dtype=torch.int32)
    for i, r in enumerate(rows):
        out[i, : len(r)] = torch.tensor(r, dtype=torch.int32)
    return out


def grounded_tables(tokenize: Callable[[str], list[int]], class_names: list[str]) -> dict[str, torch.Tensor]:
    """The id tables (names, phrases, colour_words, shape_words), -1 padded, for an LLM's tokenizer (plain text)."""
    colours = [tokenize(named(c)) for c in COLOUR_WORDS]
    shapes = [tokenize(f" {s}") for s in SHAPE_WORDS]
    width = max(map(len, colours + shapes))
    return {"names": _table([tokenize(named(n)) for n in class_names]),
            "phrases": _table([tokenize(p) for p in PHRASES]),
            "colour_words": _table(colours, width), "shape_words": _table(shapes, width)}


def build_grounded(cfg: AdapterConfig, vocab: torch.Tensor, classifier: torch.Tensor, bias: torch.Tensor,
                   tokenize: Callable[[str], list[int]], class_names: list[str],
                   spatial: nn.Module | None = None) -> GroundedProjector:
    """A grounded projector for an LLM (its vocab and tokenizer) and a tower's classifier; cfg's table widths are
    filled in from the tokenized names. spatial: a trained adapters.Projector to follow the names (cfg.hidden_dim)."""
    from dataclasses import replace

    tables = grounded_tables(tokenize, class_names)
    cfg = replace(cfg, classes=len(class_names), name_tokens=tables["names"].shape[1],
                  phrase_tokens=tables["phrases"].shape[1],
                  word_tokens=tables["colour_words"].shape[1] if cfg.shapes else 0)
    proj = GroundedProjector(cfg, vocab, spatial)
    with torch.no_grad():
        proj.classifier.copy_(classifier)
        proj.bias.copy_(bias)
        for name, table in tables.items():
            if hasattr(proj, name):
                getattr(proj, name).copy_(table)
    return proj

