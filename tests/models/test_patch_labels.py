"""Colour labels for the 7x7 grid and the flat shapes of a picture."""

import numpy as np

from models.adapters.patch_words import COLOUR_WORDS, NO_COLOUR, NO_SHAPE, SHAPE_WORDS
from models.training.data.patch_labels import grid_colours, scene_patches


def test_a_cell_takes_the_item_covering_enough_of_it():
    owner = np.full((70, 70), -1)
    owner[:10, :12] = 0  # fills cell (0, 0) (10 px cells) and a fifth of cell (0, 1)
    colours = grid_colours(owner, ["red"])
    assert colours[0] == COLOUR_WORDS.index("red")
    assert (colours[1:] == NO_COLOUR).all()


def test_scene_labels_name_the_scene_items():
    from models.training.data.scenes import scene_dataset

    labelled = scene_patches(4, seed=1)
    for (scene, _), cells, objects in zip(scene_dataset(4, 1), labelled.colours, labelled.objects):
        seen = {COLOUR_WORDS[c] for c in cells if c != NO_COLOUR}
        assert seen and seen <= {it.colour for it in scene.items}
        drawn = {(COLOUR_WORDS[c], SHAPE_WORDS[s]) for c, s in enumerate(objects) if s != NO_SHAPE}
        assert drawn == {(it.colour, it.shape) for it in scene.items}
