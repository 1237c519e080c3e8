"""The words the grounded image adapter's heads name: a colour per grid cell and, per colour, the shape drawn in it
("none" is the index past each list). Its training labels are models.training.data.patch_labels'."""

COLOUR_WORDS = ("red", "green", "blue", "yellow", "orange", "purple", "black", "gray", "brown", "pink", "teal")
SHAPE_WORDS = ("circle", "square", "triangle", "star", "rectangle")
NO_COLOUR, NO_SHAPE = len(COLOUR_WORDS), len(SHAPE_WORDS)
