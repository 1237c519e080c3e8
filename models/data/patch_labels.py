"""Per-patch colour and shape labels for the tower's 7x7 grid, from pictures whose pixels say what is where.

Procedural scenes draw flat, distinct colours, so a pixel's colour names its shape exactly; easy-vqa draws one shape
on a light background, named by its questions. The gcompris training photographs add real pictures whose every patch
is "none", so the heads learn not to see flat shapes in real photos. Held-out data (scene seed 2, the easy-vqa test
split, held-out gcompris photos) is never used here.
"""

from __future__ import annotations

import numpy as np
from PIL import Image

from models.data.scenes import COLOURS, scene_dataset

GRID = 7
COLOUR_WORDS = ("red", "green", "blue", "yellow", "orange", "purple", "black", "gray", "brown", "pink", "teal")
SHAPE_WORDS = ("circle", "square", "triangle", "star", "rectangle")
NO_COLOUR, NO_SHAPE = len(COLOUR_WORDS), len(SHAPE_WORDS)


def grid_labels(owner: np.ndarray, items: list[tuple[str, str]], cover: float = 0.25) -> tuple[np.ndarray, np.ndarray]:
    """(colour ids (49,), shape ids (49,)) of a square picture whose pixels are owned by items (-1: background).

    A cell takes the item covering most of it when that covers at least `cover` of the cell, else "none".
    """
    size = owner.shape[0]
    colours = np.full(GRID * GRID, NO_COLOUR)
    shapes = np.full(GRID * GRID, NO_SHAPE)
    edges = np.linspace(0, size, GRID + 1).round().astype(int)
    for r in range(GRID):
        for c in range(GRID):
            cell = owner[edges[r]:edges[r + 1], edges[c]:edges[c + 1]].ravel()
            counts = np.bincount(cell[cell >= 0], minlength=len(items)) if (cell >= 0).any() else np.zeros(1)
            if counts.max() >= cover * cell.size:
                colour, shape = items[int(counts.argmax())]
                colours[r * GRID + c], shapes[r * GRID + c] = COLOUR_WORDS.index(colour), SHAPE_WORDS.index(shape)
    return colours, shapes


def scene_patches(n: int, seed: int) -> tuple[list[Image.Image], np.ndarray, np.ndarray]:
    """n training scenes (seed must not be the held-out one), rendered, with (n, 49) colour and shape labels."""
    images, colours, shapes = [], [], []
    for scene, _ in scene_dataset(n, seed):
        img = scene.render()
        pixels = np.asarray(img).reshape(-1, 3)
        owner = np.full(pixels.shape[0], -1)
        for k, it in enumerate(scene.items):
            owner[(pixels == np.array(COLOURS[it.colour])).all(1)] = k
        c, s = grid_labels(owner.reshape(img.height, img.width), [(it.colour, it.shape) for it in scene.items])
        images.append(img)
        colours.append(c)
        shapes.append(s)
    return images, np.stack(colours), np.stack(shapes)


def easy_vqa_patches(limit: int) -> tuple[list[Image.Image], np.ndarray, np.ndarray]:
    """Up to `limit` easy-vqa training images with (n, 49) labels: pixels far from the corner colour are the shape."""
    import easy_vqa

    texts, answers, image_ids = easy_vqa.get_train_questions()
    colour, shape = {}, {}
    for q, a, i in zip(texts, answers, image_ids):
        if a in COLOUR_WORDS and "color" in q:
            colour[i] = a
        elif a in SHAPE_WORDS:
            shape[i] = a
    paths = easy_vqa.get_train_image_paths()
    images, colours, shapes = [], [], []
    for i in sorted(set(colour) & set(shape))[:limit]:
        img = Image.open(paths[i]).convert("RGB")
        pixels = np.asarray(img).astype(int)
        far = np.abs(pixels - pixels[0, 0]).sum(-1) > 90
        c, s = grid_labels(np.where(far, 0, -1), [(colour[i], shape[i])])
        images.append(img)
        colours.append(c)
        shapes.append(s)
    return images, np.stack(colours), np.stack(shapes)


def no_shape_patches(images: list[Image.Image]) -> tuple[list[Image.Image], np.ndarray, np.ndarray]:
    """Real photographs: every cell labelled "none"."""
    n = len(images)
    return images, np.full((n, GRID * GRID), NO_COLOUR), np.full((n, GRID * GRID), NO_SHAPE)
