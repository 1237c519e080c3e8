"""Colour labels for the tower's 7x7 grid and a picture's flat shapes, from pictures whose pixels say what is where.

Procedural scenes draw flat, distinct colours, so a pixel's colour names its shape exactly; easy-vqa draws one shape
on a light background, named by its questions. Each picture gets a colour per grid cell (or "none") and, per colour
word, the shape drawn in that colour (or "none": at most one shape a colour, as in both sources). The gcompris
training photographs add real pictures with no flat shapes, so the heads learn not to see them in photos. Held-out
data (scene seed 2, the easy-vqa test split, held-out gcompris photos) is never used here.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image

from models.adapters.patch_words import COLOUR_WORDS, NO_COLOUR, NO_SHAPE, SHAPE_WORDS
from models.training.data.scenes import COLOURS, scene_dataset

GRID = 7


@dataclass
class Labelled:
    """Pictures with (n, 49) cell colour ids and (n, NO_COLOUR) shape ids, one per colour word."""

    images: list[Image.Image]
    colours: np.ndarray
    objects: np.ndarray


def _objects(items: list[tuple[str, str]]) -> np.ndarray:
    out = np.full(NO_COLOUR, NO_SHAPE)
    for colour, shape in items:
        out[COLOUR_WORDS.index(colour)] = SHAPE_WORDS.index(shape)
    return out


def grid_colours(owner: np.ndarray, colours: list[str], cover: float = 0.25) -> np.ndarray:
    """(49,) colour ids of a square picture whose pixels are owned by items of these colours (-1: background).

    A cell takes the item covering most of it when that covers at least `cover` of the cell, else "none".
    """
    size = owner.shape[0]
    out = np.full(GRID * GRID, NO_COLOUR)
    edges = np.linspace(0, size, GRID + 1).round().astype(int)
    for r in range(GRID):
        for c in range(GRID):
            cell = owner[edges[r]:edges[r + 1], edges[c]:edges[c + 1]].ravel()
            counts = np.bincount(cell[cell >= 0], minlength=len(colours)) if (cell >= 0).any() else np.zeros(1)
            if counts.max() >= cover * cell.size:
                out[r * GRID + c] = COLOUR_WORDS.index(colours[int(counts.argmax())])
    return out


def scene_patches(n: int, seed: int) -> Labelled:
    """n training scenes (seed must not be the held-out one), rendered, with their labels."""
    images, colours, objects = [], [], []
    for scene, _ in scene_dataset(n, seed):
        img = scene.render()
        pixels = np.asarray(img).reshape(-1, 3)
        owner = np.full(pixels.shape[0], -1)
        for k, it in enumerate(scene.items):
            owner[(pixels == np.array(COLOURS[it.colour])).all(1)] = k
        images.append(img)
        colours.append(grid_colours(owner.reshape(img.height, img.width), [it.colour for it in scene.items]))
        objects.append(_objects([(it.colour, it.shape) for it in scene.items]))
    return Labelled(images, np.stack(colours), np.stack(objects))


def easy_vqa_patches(limit: int) -> Labelled:
    """Up to `limit` easy-vqa training images with labels: pixels far from the corner colour are the shape."""
    import easy_vqa

    texts, answers, image_ids = easy_vqa.get_train_questions()
    colour, shape = {}, {}
    for q, a, i in zip(texts, answers, image_ids):
        if a in COLOUR_WORDS and "color" in q:
            colour[i] = a
        elif a in SHAPE_WORDS:
            shape[i] = a
    paths = easy_vqa.get_train_image_paths()
    images, colours, objects = [], [], []
    for i in sorted(set(colour) & set(shape))[:limit]:
        img = Image.open(paths[i]).convert("RGB")
        pixels = np.asarray(img).astype(int)
        far = np.abs(pixels - pixels[0, 0]).sum(-1) > 90
        images.append(img)
        colours.append(grid_colours(np.where(far, 0, -1), [colour[i]]))
        objects.append(_objects([(colour[i], shape[i])]))
    return Labelled(images, np.stack(colours), np.stack(objects))


def no_shape_patches(images: list[Image.Image]) -> Labelled:
    """Real photographs: every cell and every colour "none"."""
    n = len(images)
    return Labelled(images, np.full((n, GRID * GRID), NO_COLOUR), np.full((n, NO_COLOUR), NO_SHAPE))
