"""python -m models.training.build_grounded: write a grounded image adapter (models.adapters.grounded) for an LLM. The
LLM is not trained: the names come from the vision tower's ImageNet classifier (with each class's WordNet kind) and from
classifier rows fitted here on the gcompris training photographs; the tokens are the LLM's own embeddings. The
thresholds and the fitting settings were chosen on the gcompris training split (see docs/EVALUATION.md)."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import torch
from PIL import Image

from models.adapters.config import read_config
from models.adapters.grounded import build_grounded
from models.adapters.projector import AdapterConfig, Projector, adapter_dir, save_adapter


@dataclass(frozen=True)
class GroundConfig:
    """What `python -m models.training.build_grounded` builds: a grounded adapter for one LLM (no gradient training)."""

    llm: str = "qwen2.5-coder-1.5b-instruct"
    runtime: str = "auto"  # the runtime whose tokenizer and embeddings are read ("auto": llama.cpp for a GGUF)
    encoder: str = "efficientnet-lite0"
    k: int = 3  # most class names offered as guesses
    sure: float = 0.5
    floor: float = 0.15
    photo_classes: bool = True  # add classifier rows for the gcompris training photos' labels ImageNet lacks
    augment: int = 16  # augmented copies (crop, mirror, colour) of each training photo (photo classes, shape heads)
    photo_steps: int = 100  # photo_classes: Adam steps (full batch) fitting the new rows, ImageNet's fixed
    photo_decay: float = 1e-3  # photo_classes: L2 penalty on the new rows
    spatial: str = ""  # a trained adapter directory for the same LLM whose MLP gives spatial tokens after the names
    shapes: int = 0  # describe up to this many flat shapes, from per-patch heads trained here (0: none)
    scenes: int = 9000  # shapes: procedural training scenes (seed 1; held-out scenes use seed 2)
    easy_vqa: int = 1500  # shapes: easy-vqa training images
    head_steps: int = 3000  # shapes: Adam steps of 64 pictures for the colour and shape heads
    seed: int = 0
    device: str = "cpu"
    threads: int = 0
    quantize: str = "none"
    out: str = ""  # default: models/trained/image--<encoder>--<llm>/


def build(cfg: GroundConfig) -> Path:
    """Write config.json, model.safetensors and train.json of a grounded adapter; returns its directory."""
    from safetensors.torch import load_file

    from models.decoders.runtime import load_decoder
    from models.device import choose_placement
    from models.encoders.vision import load_vision
    from models.training.data.pseudo_photos import class_names
    from models.weights.catalog import resolve

    placement = choose_placement(cfg.device)
    llm = load_decoder(cfg, lambda: placement)
    encoder = load_vision(cfg.encoder, resolve(cfg.encoder, "vision").path, placement)
    rows, bias = imagenet_head(encoder)
    spatial, hidden = None, 0
    if cfg.spatial:
        spatial_cfg = read_config(Path(cfg.spatial))
        spatial = Projector(spatial_cfg)
        spatial.load_state_dict(load_file(Path(cfg.spatial) / "model.safetensors"), strict=True)
        hidden = spatial_cfg.hidden_dim
    acfg = AdapterConfig("image", encoder.name, llm.name, encoder.dim, llm.hidden_size, hidden, grounded=cfg.k,
                         sure=cfg.sure, floor=cfg.floor, shapes=cfg.shapes)
    names, report = with_kinds(class_names()), {}
    photo_features = None  # the training photos and their copies, encoded once for both uses below
    if cfg.photo_classes or (cfg.shapes and cfg.augment):
        train, photo_features = photo_training_set(encoder, cfg)
    if cfg.photo_classes:
        pooled = photo_features.float().mean(2)  # as the tower's head pools
        extra_rows, extra_bias, extra_names = fit_photo_classes(train, pooled, rows, bias, cfg)
        rows, bias, names = torch.cat([rows, extra_rows]), torch.cat([bias, extra_bias]), names + extra_names
        report = {"photo_classes_added": len(extra_names), "photo_pictures": pooled.shape[0] * pooled.shape[1]}
    vocab = llm.vocab()
    proj = build_grounded(acfg, vocab, rows, bias, lambda text: llm.tokenize(text, False), names, spatial)
    if cfg.shapes:
        report.update(train_shape_heads(proj, encoder, cfg, photo_features))
    out = adapter_dir("image", encoder.name, llm.name, cfg.out)
    save_adapter(proj, out)
    (out / "train.json").write_text(json.dumps({**asdict(cfg), **report, "training": (
        "names: the tower's ImageNet classifier with WordNet kinds, plus rows fitted (cross-entropy, ImageNet's rows "
        "fixed) on augmented gcompris training photos for their labels ImageNet lacks; the tokens are the LLM's own "
        "embeddings, the LLM is not trained. shapes: per-patch colour head and per-colour shape head on procedural "
        "scenes, easy-vqa train and the gcompris training photos")}, indent=2))
    return out


KINDS = Path(__file__).resolve().parent / "data" / "imagenet_kinds.json"  # written by python -m tools.imagenet_kinds


def imagenet_head(encoder) -> tuple[torch.Tensor, torch.Tensor]:
    """The tower's (1000, D) ImageNet classifier rows and (1000,) biases, on the CPU in fp32."""
    from models.training.data.pseudo_photos import classifier_rows

    rows = classifier_rows(encoder)
    if rows is None:
        raise ValueError(f"{encoder.name} has no classifier head to ground names in (an ImageNet tower is needed)")
    return rows, encoder.tower._fc.bias.detach().float().cpu()


def with_kinds(names: list[str]) -> list[str]:
    """ImageNet class names with their WordNet kind: "German shepherd (a kind of dog)"."""
    kinds = json.loads(KINDS.read_text())
    if len(kinds) != len(names):
        raise ValueError(f"{KINDS} has {len(kinds)} kinds for {len(names)} classes: run python -m tools.imagenet_kinds")
    return [f"{n} (a kind of {k})" if k else n for n, k in zip(names, kinds)]


def augmented(image, rng) -> Image.Image:
    """A random crop (55-100% of each side), maybe mirrored, with colour and brightness jittered."""
    from PIL import ImageEnhance, ImageOps

    image = image.convert("RGB")
    w, h = image.size
    scale = rng.uniform(0.55, 1.0)
    cw, ch = int(w * scale), int(h * scale)
    x, y = rng.randint(0, w - cw), rng.randint(0, h - ch)
    image = image.crop((x, y, x + cw, y + ch))
    if rng.random() < 0.5:
        image = ImageOps.mirror(image)
    image = ImageEnhance.Color(image).enhance(rng.uniform(0.7, 1.3))
    return ImageEnhance.Brightness(image).enhance(rng.uniform(0.8, 1.2))


def fit_rows(pooled: torch.Tensor, targets: torch.Tensor, rows: torch.Tensor, bias: torch.Tensor, extra: int,
             steps: int, decay: float) -> tuple[torch.Tensor, torch.Tensor]:
    """(extra, D) rows and (extra,) biases appended to a fixed classifier so that softmax over all its classes puts
    each pooled feature (N, D) on its target (an old class id, or len(rows) + i for new class i)."""
    new = torch.zeros(extra, pooled.shape[1], requires_grad=True)
    new_bias = torch.zeros(extra, requires_grad=True)
    opt = torch.optim.Adam([new, new_bias], lr=0.01)
    fixed = pooled @ rows.T + bias
    for _ in range(steps):
        logits = torch.cat([fixed, pooled @ new.T + new_bias], 1)
        loss = torch.nn.functional.cross_entropy(logits, targets) + decay * (new**2).sum()
        opt.zero_grad()
        loss.backward()
        opt.step()
    return new.detach(), new_bias.detach()


def photo_training_set(encoder, cfg: GroundConfig) -> tuple[list, torch.Tensor]:
    """The gcompris training photos (the held-out ones are never read) and their (photos, augment + 1, 49, D) patch
    features: each photo, then its augmented copies."""
    import random

    from models.training.data.gcompris import photos
    from models.training.data.image_data import encode_images
    from models.weights.catalog import cache_dir

    train = [p for p in photos() if not p.held_out]
    rng = random.Random(cfg.seed)
    pictures = []
    for p in train:
        image = Image.open(p.path)
        pictures += [image.convert("RGB")] + [augmented(image, rng) for _ in range(cfg.augment)]
    cache = cache_dir() / "features" / f"gcompris-train-{encoder.name}-{len(train)}x{cfg.augment}-{cfg.seed}.pt"
    features = encode_images(encoder, pictures, cache)
    return train, features.view(len(train), cfg.augment + 1, *features.shape[1:])


def fit_photo_classes(train: list, pooled: torch.Tensor, rows: torch.Tensor, bias: torch.Tensor,
                      cfg: GroundConfig) -> tuple[torch.Tensor, torch.Tensor, list[str]]:
    """Classifier rows for the training photos' labels that are not ImageNet classes, fitted on their (photos,
    copies, D) pooled features; photos whose label is an ImageNet class (hammer, dam) pull towards it."""
    from models.training.data.pseudo_photos import class_names

    imagenet = {n.lower(): i for i, n in enumerate(class_names())}
    extra = sorted({p.label for p in train if p.label.lower() not in imagenet})
    targets = torch.tensor([imagenet.get(p.label.lower(), len(rows) + extra.index(p.label) if p.label in extra else -1)
                            for p in train]).repeat_interleave(pooled.shape[1])
    new, new_bias = fit_rows(pooled.flatten(0, 1), targets, rows, bias, len(extra), cfg.photo_steps, cfg.photo_decay)
    return new, new_bias, extra


def naming_curve(encoder, cfg: GroundConfig, fractions=(0.0, 0.25, 0.5, 1.0), augments=(0, 4, 16),
                 steps=(25, 100, 300)) -> list[dict]:
    """Held-out photos whose grounded names (the classes the adapter would name, before the LLM) include an accepted
    word, against the share of training photos and the augmented copies each one gets (at cfg.photo_steps), then
    against the fitting steps (all photos, cfg.augment copies): the data and steps curves."""
    import random

    from models.adapters.grounded_spelling import choose
    from models.training.data.gcompris import names, photos
    from models.training.data.image_data import encode_images
    from models.training.data.pseudo_photos import class_names
    from models.weights.catalog import cache_dir

    rows, bias = imagenet_head(encoder)
    train, pooled = photo_training_set(encoder, replace(cfg, augment=max(augments)))
    pooled = pooled.float().mean(2)  # as the tower's head pools
    held = [p for p in photos() if p.held_out]
    cache = cache_dir() / "features" / f"gcompris-held-{encoder.name}-{len(held)}.pt"
    held_pooled = encode_images(encoder, [p.path for p in held], cache).float().mean(1)
    runs = [(fraction, copies, cfg.photo_steps) for fraction in fractions
            for copies in (augments if fraction else (0,))]
    runs += [(1.0, cfg.augment, n) for n in steps if n != cfg.photo_steps]
    out = []
    for fraction, copies, n in runs:
        subset = sorted(random.Random(cfg.seed).sample(range(len(train)), round(fraction * len(train))))
        new, new_bias, extra = rows[:0], bias[:0], []
        if subset:
            part = replace(cfg, augment=copies, photo_steps=n)
            new, new_bias, extra = fit_photo_classes([train[i] for i in subset], pooled[subset, : copies + 1],
                                                     rows, bias, part)
        every = with_kinds(class_names()) + extra
        probs = torch.cat([held_pooled @ rows.T + bias, held_pooled @ new.T + new_bias], 1).softmax(-1)
        said = [" or ".join(every[c] for c in choose(pr, cfg.k, cfg.sure, cfg.floor)[1]) for pr in probs]
        out.append({"training_photos": len(subset), "copies_each": copies, "steps": n if subset else 0,
                    "classes_added": len(extra), "held_out_named": sum(names(t, p) for t, p in zip(said, held)),
                    "held_out": len(held)})
    return out


def train_shape_heads(proj, encoder, cfg: GroundConfig, photo_features: torch.Tensor | None = None) -> dict:
    """Fit the projector's colour and shape heads (cross-entropy; the tower and names stay fixed). photo_features:
    photo_training_set's, when the caller has them."""
    import random

    import numpy as np
    from PIL import Image

    from models.training.data.gcompris import photos
    from models.training.data.image_data import TRAIN_SEED, encode_images
    from models.training.data.patch_labels import easy_vqa_patches, no_shape_patches, scene_patches
    from models.weights.catalog import cache_dir

    sources = [scene_patches(cfg.scenes, TRAIN_SEED), easy_vqa_patches(cfg.easy_vqa),
               no_shape_patches([Image.open(p.path) for p in photos() if not p.held_out])]
    tag = f"{cfg.scenes}-{cfg.easy_vqa}"
    feats = encode_images(encoder, [im for s in sources for im in s.images],
                          cache_dir() / "features" / f"patches-{encoder.name}-{tag}.pt").float()  # (N, 49, D)
    if cfg.augment:  # the photos' augmented copies: more real pictures with no flat shape in them
        if photo_features is None:
            photo_features = photo_training_set(encoder, cfg)[1]
        copies = photo_features[:, 1:].flatten(0, 1).float()
        feats = torch.cat([feats, copies])
        sources.append(no_shape_patches([None] * len(copies)))
    cells = torch.from_numpy(np.concatenate([s.colours for s in sources]))
    objects = torch.from_numpy(np.concatenate([s.objects for s in sources]))
    parts = [proj.patch_norm, proj.colour_head, proj.object_head]
    opt = torch.optim.Adam([p for h in parts for p in h.parameters()] + [proj.colour_queries], lr=2e-3)
    rng = random.Random(cfg.seed)
    for step in range(cfg.head_steps):
        batch = torch.tensor(rng.sample(range(len(feats)), 64))
        c, s, _ = proj.shape_logits(feats[batch])
        loss = (torch.nn.functional.cross_entropy(c.flatten(0, 1), cells[batch].flatten())
                + torch.nn.functional.cross_entropy(s.flatten(0, 1), objects[batch].flatten()))
        opt.zero_grad()
        loss.backward()
        opt.step()
    return {"head_final_loss": round(loss.item(), 4), "head_pictures": len(feats)}


def main(argv: list[str] | None = None) -> int:
    """Flags are generated from GroundConfig's fields."""
    import argparse

    from models.flags import add_dataclass_flags, from_flags

    parser = argparse.ArgumentParser(prog="python -m models.training.build_grounded",
                                     description=__doc__.splitlines()[0])
    add_dataclass_flags(parser, GroundConfig)
    parser.add_argument("--curve", action="store_true", help="print the held-out naming rate against training photos "
                        "and augmented copies (no LLM, nothing written) instead of building")
    args = parser.parse_args(argv)
    cfg = from_flags(GroundConfig, args)
    if not args.curve:
        print(f"adapter written to {build(cfg)}")
        return 0
    from models.device import choose_placement
    from models.encoders.vision import load_vision
    from models.weights.catalog import resolve

    encoder = load_vision(cfg.encoder, resolve(cfg.encoder, "vision").path, choose_placement(cfg.device))
    print("training photos | copies each | steps | classes added | held-out photos named (names before the LLM)")
    for row in naming_curve(encoder, cfg):
        print(f"{row['training_photos']:>15} | {row['copies_each']:>11} | {row['steps']:>5} | "
              f"{row['classes_added']:>13} | {row['held_out_named']} / {row['held_out']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
