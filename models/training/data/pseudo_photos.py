"""Pseudo-photo features for naming real objects without real photos (the CapDec idea, for a CNN tower).

No labelled photographs are reachable offline, but the tower's ImageNet classifier is: its row W[c] says which
feature channels make the tower call an image class c. A pseudo-photo is a (49, D) feature map in the tower's own
format (sparse, non-negative, capped at 6 like ReLU6 activations): a blob of positions where the channels that
W[c] weights most are active with random strengths, over sparse random background activity. Only maps the tower's
own classifier assigns to class c are kept. Each is paired with a caption naming the class, so the adapter learns
"features that mean c" -> "a c", and real photos whose features share those channels can be named.
"""

from __future__ import annotations

import random

import torch

from models.training.data.example import Example

QUESTIONS = ("What is in this picture?", "What is this?", "What do you see?", "What is shown in the image?",
             "Name the main object in this photo.")


def class_names() -> list[str]:
    """The 1000 ImageNet class names (torchvision's list, offline)."""
    from torchvision.models import ResNet50_Weights

    return list(ResNet50_Weights.IMAGENET1K_V1.meta["categories"])


def _article(name: str) -> str:
    return "an" if name[:1].lower() in "aeiou" else "a"


def classifier_rows(encoder) -> torch.Tensor | None:
    """(1000, D) ImageNet classifier of the tower, or None if it has none (open_clip towers)."""
    fc = getattr(encoder.tower, "_fc", None)
    return fc.weight.detach().float().cpu() if fc is not None else None


def pseudo_features(rows: torch.Tensor, c: int, gen: torch.Generator, grid: int = 7) -> torch.Tensor:
    """One (grid*grid, D) pseudo-photo feature map for class c (see the module docstring)."""
    d = rows.shape[1]
    f = torch.zeros(grid * grid, d)
    background = torch.rand(grid * grid, d, generator=gen) < 0.04
    f[background] = torch.rand(int(background.sum()), generator=gen) * 2
    k = min(int(torch.randint(60, 200, (1,), generator=gen)), d // 4)
    channels = rows[c].topk(k).indices
    cy, cx = torch.rand(2, generator=gen) * (grid - 1)
    ry, rx = 1.5 + torch.rand(2, generator=gen) * 2.5
    yy, xx = torch.meshgrid(torch.arange(grid), torch.arange(grid), indexing="ij")
    blob = (((yy - cy) / ry) ** 2 + ((xx - cx) / rx) ** 2 <= 1).flatten()
    blob[int(cy.round()) * grid + int(cx.round())] = True
    on = torch.rand(int(blob.sum()), k, generator=gen) < 0.7
    strength = 0.5 + torch.rand(int(blob.sum()), k, generator=gen) * 5.5
    f[blob.nonzero()[:, :1], channels[None, :]] = strength * on
    return f.clamp(0, 6)


def pseudo_photo_examples(encoder, n: int, seed: int, questions_each: int = 3) -> tuple[torch.Tensor, list[Example]]:
    """n pseudo-photos the tower's classifier assigns to their class, each asked `questions_each` naming questions."""
    rows = classifier_rows(encoder)
    if rows is None or n <= 0:
        return torch.zeros(0, 49, encoder.dim, dtype=torch.float16), []
    bias = getattr(encoder.tower._fc, "bias", None)
    names = class_names()
    gen = torch.Generator().manual_seed(seed)
    rng = random.Random(seed)
    maps, examples = [], []
    while len(maps) < n:
        c = rng.randrange(len(names))
        f = pseudo_features(rows, c, gen)
        logits = f.mean(0) @ rows.T + (bias.detach().float().cpu() if bias is not None else 0)
        if int(logits.argmax()) != c:
            continue
        name = names[c]
        examples += [Example(len(maps), q, f"It is a photo of {_article(name)} {name}.")
                     for q in rng.sample(QUESTIONS, questions_each)]
        maps.append(f.half())
    return torch.stack(maps), examples
