"""Per-patch colour/shape labels for the 7x7 grid."""

import numpy as np

from models.data.patch_labels import COLOUR_WORDS, NO_COLOUR, NO_SHAPE, SHAPE_WORDS, grid_labels, scene_patches


def test_a_cell_takes_the_item_covering_enough_of_it():
    owner = np.full((70, 70), -1)
    owner[:10, :12] = 0  # fills cell (0, 0) (10 px cells) and a fifth of cell (0, 1)
    colours, shapes = grid_labels(owner, [("red", "star")])
    assert colours[0] == COLOUR_WORDS.index("red") and shapes[0] == SHAPE_WORDS.index("star")
    assert (colours[1:] == NO_COLOUR).all() and (shapes[1:] == NO_SHAPE).all()


def test_scene_labels_name_the_scene_items():
    from models.data.scenes import scene_dataset

    images, colours, shapes = scene_patches(4, seed=1)
    for (scene, _), c, s in zip(scene_dataset(4, 1), colours, shapes):
        labelled = {(COLOUR_WORDS[a], SHAPE_WORDS[b]) for a, b in zip(c, s) if a != NO_COLOUR}
        assert labelled and labelled <= {(it.colour, it.shape) for it in scene.items}
