"""An image adapter grounded in the vision tower's own ImageNet classifier, for any LLM, with no LLM training.

EfficientNet-Lite0 learned 1,000 named kinds of real things from real photographs. Its classifier rows (kept in the
adapter) score the mean of the patch tokens exactly as the tower's own head does; the most probable class names
reach the LLM as its own token embeddings, framed by a short phrase, the way the CTC speech adapter hands the LLM
mixtures of vocabulary rows. Every grounded soft token is a convex mixture of vocabulary rows; at the decision
level the mixture is one-hot (a name is a sequence of tokens, and a blend of two names' tokens reads as neither).

Honesty comes from the probabilities: a confident class is stated ("a photo of a hammer"), middling ones are
offered as guesses ("maybe a hammer or a screwdriver"), and below `floor` nothing is named. When the config has a
hidden_dim, the spatial tokens of a trained MLP (colour, layout, count) follow.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
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


@dataclass(frozen=True)
class GroundConfig:
    """What `python -m models.grounded` builds: a grounded adapter for one LLM (no gradient training)."""

    llm: str = "qwen2.5-coder-1.5b-instruct"
    runtime: str = "auto"  # the runtime whose tokenizer and embeddings are read ("auto": llama.cpp for a GGUF)
    encoder: str = "efficientnet-lite0"
    k: int = 3  # most class names offered as guesses
    sure: float = 0.5
    floor: float = 0.15
    spatial: str = ""  # a trained adapter directory for the same LLM whose MLP gives spatial tokens after the names
    device: str = "cpu"
    threads: int = 0
    quantize: str = "none"
    out: str = ""  # default: models/trained/image--<encoder>--<llm>/


def build(cfg: GroundConfig) -> Path:
    """Write config.json, model.safetensors and train.json of a grounded adapter; returns its directory."""
    from safetensors.torch import load_file

    from models.adapters import Projector, adapter_dir, save_adapter
    from models.data.pseudo_photos import class_names, classifier_rows
    from models.device import choose_placement
    from models.runtime import load_decoder
    from models.vision import load_vision
    from models.weights import resolve

    placement = choose_placement(cfg.device)
    llm = load_decoder(cfg, lambda: placement)
    encoder = load_vision(cfg.encoder, resolve(cfg.encoder, "vision").path, placement)
    rows = classifier_rows(encoder)
    if rows is None:
        raise ValueError(f"{encoder.name} has no classifier head to ground names in (an ImageNet tower is needed)")
    spatial, hidden = None, 0
    if cfg.spatial:
        spatial_cfg = AdapterConfig(**json.loads((Path(cfg.spatial) / "config.json").read_text()))
        spatial = Projector(spatial_cfg)
        spatial.load_state_dict(load_file(Path(cfg.spatial) / "model.safetensors"), strict=True)
        hidden = spatial_cfg.hidden_dim
    acfg = AdapterConfig("image", encoder.name, llm.name, encoder.dim, llm.hidden_size, hidden, grounded=cfg.k,
                         sure=cfg.sure, floor=cfg.floor)
    vocab = llm.vocab()
    proj = build_grounded(acfg, vocab, rows, encoder.tower._fc.bias.detach().float().cpu(),
                          lambda text: llm.tokenize(text, False), class_names(), spatial)
    out = adapter_dir("image", encoder.name, llm.name, cfg.out)
    save_adapter(proj, out)
    (out / "train.json").write_text(json.dumps({**asdict(cfg), "training": "none: the names come from the tower's "
                                                "ImageNet classifier, the tokens from the LLM's own embeddings"},
                                               indent=2))
    return out


def main(argv: list[str] | None = None) -> int:
    """Flags are generated from GroundConfig's fields."""
    import argparse

    from models.flags import add_dataclass_flags, from_flags

    parser = argparse.ArgumentParser(prog="python -m models.grounded", description=__doc__.splitlines()[0])
    add_dataclass_flags(parser, GroundConfig)
    print(f"adapter written to {build(from_flags(GroundConfig, parser.parse_args(argv)))}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
