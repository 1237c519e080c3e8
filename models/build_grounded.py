"""python -m models.build_grounded: write a grounded image adapter (models.grounded) for an LLM. Nothing is trained:
the names come from the vision tower's ImageNet classifier, the tokens from the LLM's own embeddings; the thresholds
were chosen on the gcompris training split (see docs/EVALUATION.md)."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

from models.adapters import AdapterConfig, Projector, adapter_dir, save_adapter
from models.grounded import build_grounded


@dataclass(frozen=True)
class GroundConfig:
    """What `python -m models.build_grounded` builds: a grounded adapter for one LLM (no gradient training)."""

    llm: str = "qwen2.5-coder-1.5b-instruct"
    runtime: str = "auto"  # the runtime whose tokenizer and embeddings are read ("auto": llama.cpp for a GGUF)
    encoder: str = "efficientnet-lite0"
    k: int = 3  # most class names offered as guesses
    sure: float = 0.5
    floor: float = 0.15
    spatial: str = ""  # a trained adapter directory for the same LLM whose MLP gives spatial tokens after the names
    shapes: int = 0  # describe up to this many flat shapes, from per-patch heads trained here (0: none)
    scenes: int = 1500  # shapes: procedural training scenes (seed 1; held-out scenes use seed 2)
    easy_vqa: int = 1500  # shapes: easy-vqa training images
    head_steps: int = 400  # shapes: Adam steps of 32 pictures for the per-patch heads
    seed: int = 0
    device: str = "cpu"
    threads: int = 0
    quantize: str = "none"
    out: str = ""  # default: models/trained/image--<encoder>--<llm>/


def build(cfg: GroundConfig) -> Path:
    """Write config.json, model.safetensors and train.json of a grounded adapter; returns its directory."""
    from safetensors.torch import load_file

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
                         sure=cfg.sure, floor=cfg.floor, shapes=cfg.shapes)
    vocab = llm.vocab()
    proj = build_grounded(acfg, vocab, rows, encoder.tower._fc.bias.detach().float().cpu(),
                          lambda text: llm.tokenize(text, False), class_names(), spatial)
    report = train_patch_heads(proj, encoder, cfg) if cfg.shapes else {}
    out = adapter_dir("image", encoder.name, llm.name, cfg.out)
    save_adapter(proj, out)
    (out / "train.json").write_text(json.dumps({**asdict(cfg), **report, "training": (
        "names: none (the tower's ImageNet classifier; the tokens are the LLM's own embeddings); shapes: per-patch "
        "colour and shape heads on procedural scenes, easy-vqa train and the gcompris training photos")}, indent=2))
    return out


def train_patch_heads(proj, encoder, cfg: GroundConfig) -> dict:
    """Fit the projector's per-patch colour and shape heads (cross-entropy; the tower and names stay fixed)."""
    import random

    import numpy as np
    import torch
    from PIL import Image

    from models.data.gcompris import photos
    from models.data.image_data import TRAIN_SEED, encode_images
    from models.data.patch_labels import easy_vqa_patches, no_shape_patches, scene_patches
    from models.weights import cache_dir

    sources = [scene_patches(cfg.scenes, TRAIN_SEED), easy_vqa_patches(cfg.easy_vqa),
               no_shape_patches([Image.open(p.path) for p in photos() if not p.held_out])]
    tag = f"{cfg.scenes}-{cfg.easy_vqa}"
    feats = encode_images(encoder, [im for s in sources for im in s[0]],
                          cache_dir() / "features" / f"patches-{encoder.name}-{tag}.pt").float()  # (N, 49, D)
    colours = torch.from_numpy(np.concatenate([s[1] for s in sources]))
    shapes = torch.from_numpy(np.concatenate([s[2] for s in sources]))
    heads = [proj.patch_norm, proj.colour_head, proj.shape_head]
    opt = torch.optim.Adam([p for h in heads for p in h.parameters()], lr=3e-3)
    rng = random.Random(cfg.seed)
    for step in range(cfg.head_steps):
        batch = torch.tensor(rng.sample(range(len(feats)), 32))
        c, s = proj.patch_logits(feats[batch])
        loss = (torch.nn.functional.cross_entropy(c.flatten(0, 1), colours[batch].flatten())
                + torch.nn.functional.cross_entropy(s.flatten(0, 1), shapes[batch].flatten()))
        opt.zero_grad()
        loss.backward()
        opt.step()
    return {"head_final_loss": round(loss.item(), 4), "head_pictures": len(feats)}


def main(argv: list[str] | None = None) -> int:
    """Flags are generated from GroundConfig's fields."""
    import argparse

    from models.flags import add_dataclass_flags, from_flags

    parser = argparse.ArgumentParser(prog="python -m models.build_grounded", description=__doc__.splitlines()[0])
    add_dataclass_flags(parser, GroundConfig)
    print(f"adapter written to {build(from_flags(GroundConfig, parser.parse_args(argv)))}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
