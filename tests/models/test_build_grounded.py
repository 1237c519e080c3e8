"""Building the grounded adapter: classifier rows fitted for new classes beside a fixed classifier."""

import random

import torch
from PIL import Image

from models.training.build_grounded import augmented, fit_rows


def test_new_rows_take_their_pictures_and_leave_the_old_classes_theirs():
    torch.manual_seed(0)
    rows, bias = torch.eye(3, 6) * 4, torch.zeros(3)  # old class c answers feature channel c
    old = torch.eye(6)[:3] + torch.rand(3, 6) * 0.1  # pictures of the old classes
    new = torch.eye(6)[3:5] * 1.0 + torch.rand(2, 6) * 0.1  # pictures of two classes the classifier lacks
    pooled = torch.cat([old.repeat(5, 1), new.repeat(5, 1)])
    targets = torch.tensor([0, 1, 2] * 5 + [3, 4] * 5)
    extra, extra_bias = fit_rows(pooled, targets, rows, bias, 2, steps=200, decay=1e-4)
    assert extra.shape == (2, 6) and extra_bias.shape == (2,)
    logits = torch.cat([pooled @ rows.T + bias, pooled @ extra.T + extra_bias], 1)
    assert torch.equal(logits.argmax(1), targets)
    assert torch.equal(rows, torch.eye(3, 6) * 4)  # the old classifier is not touched


def test_augmented_copies_are_crops_of_the_picture():
    picture = Image.new("RGB", (200, 100), (200, 30, 30))
    rng = random.Random(0)
    for _ in range(20):
        copy = augmented(picture, rng)
        assert 110 <= copy.width <= 200 and 55 <= copy.height <= 100 and copy.mode == "RGB"


def test_photo_labels_imagenet_lacks_become_classes_and_the_others_pull_to_their_imagenet_class():
    from types import SimpleNamespace

    from models.training.build_grounded import GroundConfig, fit_photo_classes
    from models.training.data.pseudo_photos import class_names

    hammer = class_names().index("hammer")
    torch.manual_seed(0)
    rows, bias = torch.randn(1000, 8) * 0.1, torch.zeros(1000)
    rows[hammer, 0] = 1.0  # the tower knows hammers: channel 0
    train = [SimpleNamespace(label="Hammer"), SimpleNamespace(label="windmill"), SimpleNamespace(label="Eiffel Tower")]
    pooled = torch.eye(8)[:3, None, :] * 6 + torch.rand(3, 4, 8) * 0.1  # (photos, copies, D)
    new, new_bias, extra = fit_photo_classes(train, pooled, rows, bias, GroundConfig(photo_steps=200))
    assert extra == ["Eiffel Tower", "windmill"] and new.shape == (2, 8)
    logits = torch.cat([pooled[:, 0] @ rows.T + bias, pooled[:, 0] @ new.T + new_bias], 1)
    assert logits.argmax(1).tolist() == [hammer, 1001, 1000]  # the new rows do not take the hammer
