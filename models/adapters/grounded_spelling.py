"""What a grounded image adapter says, without torch: its framing phrases and the choice of class names and shapes.

The adapter's numbers (class probabilities, each colour's shape, how strongly each colour shows) come from torch
(models.adapters.grounded) or from the same heads exported to ONNX (models.adapters.vision_onnx); both spell their LLM
token ids here.
"""

from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np

from models.adapters.patch_words import NO_COLOUR, NO_SHAPE

# Framing phrases, in the order of the stored `phrases` table: stated, guessed, the separator between guesses, the
# closing, and the phrase for an image the classifier cannot place.
PHRASES = ("Photo of", "Photo, possibly of", " or", ".", "Photo. Its main object could not be identified.",
           "Drawing of", " and")
STATED, GUESSED, OR, CLOSE, UNKNOWN, DRAWING, AND = range(len(PHRASES))


def article(name: str) -> str:
    """ "a" or "an" before a class name; none before a proper name ("Eiffel Tower", "Petra")."""
    words = [w for w in name.split() if len(w) > 3]
    if words and all(w[:1].isupper() for w in words):
        return ""
    return "an" if name[:1].lower() in "aeiou" else "a"


def named(name: str) -> str:
    """A class name as the soft tokens spell it after "Photo of": " a hammer", " Eiffel Tower"."""
    return " ".join(["", article(name), name]).replace("  ", " ")


def choose(probs: Sequence[float], k: int, sure: float, floor: float) -> tuple[int, list[int]]:
    """(opening phrase, class ids to name) for (C,) probabilities: the top class alone if its probability reaches
    `sure`, else up to k classes of at least `floor` as guesses, else none."""
    p = np.asarray(probs, dtype=np.float64)
    top = np.argsort(-p, kind="stable")[:k]
    kept = [int(c) for c in top if p[c] >= floor]
    if not kept:
        return UNKNOWN, []
    if p[top[0]] >= sure:
        return STATED, kept[:1]
    return GUESSED, kept


def seen_shapes(shapes: np.ndarray, presence: np.ndarray, limit: int) -> list[tuple[int, int]]:
    """(colour, shape) pairs of the flat shapes one image shows, strongest colour first, at most `limit`:
    shapes (colours, shapes + 1) scores of the shape drawn in each colour (last: none), presence (colours,)."""
    shape = np.asarray(shapes).argmax(-1).tolist()
    seen = [c for c in range(NO_COLOUR) if shape[c] != NO_SHAPE]
    return [(c, shape[c]) for c in sorted(seen, key=lambda c: -float(presence[c]))][:limit]


def phrase_ids(tables: Mapping[str, np.ndarray], index: int) -> list[int]:
    """One framing phrase's LLM token ids (UNKNOWN's: what the adapter says of a picture it cannot place)."""
    return [int(i) for i in tables["phrases"][index] if i >= 0]


def spelled_ids(tables: Mapping[str, np.ndarray], probs: Sequence[float], objects: list[tuple[int, int]],
                k: int, sure: float, floor: float) -> list[int]:
    """The LLM token ids for (C,) probabilities and the flat shapes seen: a drawing of those shapes if there are any
    (an ImageNet name for a drawn circle is noise), else the named classes. tables: the adapter's -1 padded id
    tables (names, phrases, colour_words, shape_words)."""
    phrases = tables["phrases"]
    if objects:
        rows = [phrases[DRAWING]]
        for i, (c, s) in enumerate(objects):
            rows += ([phrases[AND]] if i else []) + [tables["colour_words"][c], tables["shape_words"][s]]
    else:
        opening, classes = choose(probs, k, sure, floor)
        rows = [phrases[opening]]
        for i, c in enumerate(classes):
            rows += ([phrases[OR]] if i else []) + [tables["names"][c]]
    if len(rows) > 1:
        rows.append(phrases[CLOSE])
    ids = np.concatenate([np.asarray(r) for r in rows])
    return [int(i) for i in ids if i >= 0]
