"""Pseudo-photo features: the tower's own classifier must call each one its class, and look like real features."""

import torch
from torch import nn

from models.training.data.pseudo_photos import class_names, pseudo_photo_examples


class _Tower(nn.Module):
    def __init__(self):
        super().__init__()
        self._fc = nn.Linear(64, 1000)


class _Encoder:
    dim = 64

    def __init__(self):
        torch.manual_seed(0)
        self.tower = _Tower()


def test_pseudo_photos_are_classified_as_their_caption_says():
    enc = _Encoder()
    bank, examples = pseudo_photo_examples(enc, 12, seed=3, questions_each=2)
    assert bank.shape == (12, 49, 64) and len(examples) == 24 and bank.dtype == torch.float16
    assert 0 <= float(bank.min()) and float(bank.max()) <= 6
    names = class_names()
    for e in examples:
        logits = enc.tower._fc(bank[e.feature].float().mean(0))
        assert e.answer == f"It is a photo of {'an' if names[int(logits.argmax())][0].lower() in 'aeiou' else 'a'} " \
                           f"{names[int(logits.argmax())]}."
    again, _ = pseudo_photo_examples(enc, 12, seed=3, questions_each=2)
    assert torch.equal(bank, again)  # seeded


def test_towers_without_a_classifier_give_no_pseudo_photos():
    enc = _Encoder()
    del enc.tower._fc
    bank, examples = pseudo_photo_examples(enc, 5, seed=0)
    assert bank.shape[0] == 0 and examples == []
