"""Procedural scenes: shapes of known colour, size, position and count, with captions and question/answer pairs.

Seeded and deterministic: scene i of a seed is always the same picture, so held-out splits are reproducible.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from PIL import Image, ImageDraw

COLOURS = {
    "red": (220, 30, 30), "green": (30, 170, 60), "blue": (40, 70, 220), "yellow": (240, 210, 30),
    "orange": (245, 140, 20), "purple": (140, 50, 170), "black": (20, 20, 20), "gray": (128, 128, 128),
    "brown": (130, 80, 35), "pink": (245, 140, 190),
}
SHAPES = ("circle", "square", "triangle", "star")
NUMBERS = ("zero", "one", "two", "three", "four")
BACKGROUNDS = ((255, 255, 255), (235, 235, 225), (210, 225, 240), (250, 240, 220))


@dataclass(frozen=True)
class Item:
    """One shape in a scene."""

    shape: str
    colour: str
    large: bool
    x: float  # centre, 0..1 from the left
    y: float  # centre, 0..1 from the top


@dataclass(frozen=True)
class Scene:
    """A picture's content; render() draws it."""

    items: tuple[Item, ...]
    background: tuple[int, int, int]

    def render(self, size: int = 224) -> Image.Image:
        """Draw the scene as an RGB image."""
        img = Image.new("RGB", (size, size), self.background)
        draw = ImageDraw.Draw(img)
        for it in self.items:
            r = size * (0.2 if it.large else 0.1)
            cx, cy = it.x * size, it.y * size
            box = (cx - r, cy - r, cx + r, cy + r)
            fill = COLOURS[it.colour]
            if it.shape == "circle":
                draw.ellipse(box, fill=fill)
            elif it.shape == "square":
                draw.rectangle(box, fill=fill)
            elif it.shape == "triangle":
                draw.polygon([(cx, cy - r), (cx - r, cy + r), (cx + r, cy + r)], fill=fill)
            else:
                draw.polygon(_star(cx, cy, r), fill=fill)
        return img


def _star(cx: float, cy: float, r: float) -> list[tuple[float, float]]:
    import math

    points = []
    for k in range(10):
        radius = r if k % 2 == 0 else r * 0.45
        angle = -math.pi / 2 + k * math.pi / 5
        points.append((cx + radius * math.cos(angle), cy + radius * math.sin(angle)))
    return points


def make_scene(rng: random.Random) -> Scene:
    """One to three non-overlapping shapes with distinct colours."""
    count = rng.choice((1, 1, 2, 3))
    colours = rng.sample(list(COLOURS), count)
    slots = rng.sample([(0.25, 0.25), (0.75, 0.25), (0.25, 0.75), (0.75, 0.75), (0.5, 0.5)], count)
    if count == 1:
        slots = [(rng.uniform(0.3, 0.7), rng.uniform(0.3, 0.7))]
    items = tuple(Item(rng.choice(SHAPES), c, count == 1 and rng.random() < 0.6, x, y)
                  for c, (x, y) in zip(colours, slots))
    return Scene(items, rng.choice([b for b in BACKGROUNDS if b != COLOURS.get(colours[0])]))


def _where(it: Item) -> str:
    horiz = "left" if it.x < 0.4 else "right" if it.x > 0.6 else "middle"
    vert = "top" if it.y < 0.4 else "bottom" if it.y > 0.6 else "middle"
    if horiz == vert == "middle":
        return "in the middle"
    if vert == "middle":
        return f"on the {horiz}"
    return f"at the {vert}" if horiz == "middle" else f"at the {vert} {horiz}"


def caption(scene: Scene) -> str:
    """A one-sentence description naming every shape's size, colour and shape."""
    parts = [f"a {'large ' if it.large else ''}{it.colour} {it.shape}" for it in scene.items]
    if len(parts) == 1:
        return f"The image shows {parts[0]}."
    return f"The image shows {', '.join(parts[:-1])} and {parts[-1]}."


def questions(scene: Scene, rng: random.Random) -> list[tuple[str, str]]:
    """Question/answer pairs about colour, shape, count, position and presence."""
    it = rng.choice(scene.items)
    qa = [
        (f"What color is the {it.shape}?", f"The {it.shape} is {it.colour}."),
        (f"What shape is the {it.colour} object?", f"It is a {it.shape}."),
        ("How many shapes are there?", f"There {'is' if len(scene.items) == 1 else 'are'} "
                                       f"{NUMBERS[len(scene.items)]}."),
        ("Describe the image.", caption(scene)),
        (f"Where is the {it.colour} {it.shape}?", f"It is {_where(it)}."),
    ]
    other = rng.choice([c for c in COLOURS if c not in {i.colour for i in scene.items}])
    probe = rng.choice([it.colour, other])
    qa.append((f"Is there a {probe} shape?", "Yes." if probe == it.colour else "No."))
    if len(scene.items) == 1:
        qa += [("What color is the shape?", f"It is {it.colour}."), ("What shape is this?", f"It is a {it.shape}.")]
    return qa


def scene_dataset(n: int, seed: int) -> list[tuple[Scene, list[tuple[str, str]]]]:
    """n scenes and their question/answer pairs, reproducible from the seed."""
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        scene = make_scene(rng)
        out.append((scene, questions(scene, rng)))
    return out
