"""The image evaluation's plumbing: prompts through the Decoder interface, naming and hedging judgements."""

import torch

from models.decoders.chat import Media
from models.training.data.example import Example
from models.training.evaluate_image import Asker, _hedged, score


class FakeDecoder:
    """Records what the evaluation hands a runtime; answers with a fixed text."""

    def __init__(self, reply: str):
        self.reply, self.calls = reply, []

    def prompt_ids(self, messages, media_lengths):
        assert messages[0]["content"][0] == Media(0)
        n = media_lengths[0]
        return [1] * n + [2, 3], [0] * n + [-1, -1]

    def generate(self, ids, media_index, keys, media, options):
        self.calls.append((ids, media_index, keys, media, options))
        return iter([self.reply])


def test_the_asker_feeds_soft_tokens_greedily_with_content_keys():
    decoder = FakeDecoder(" It is red. ")
    projector = torch.nn.Linear(4, 6)
    ask = Asker(decoder, projector)
    assert ask(torch.ones(3, 4), "What color?") == "It is red."
    ids, index, keys, media, options = decoder.calls[0]
    assert media.shape == (3, 6) and options.temperature == 0 and index == [0, 0, 0, -1, -1]
    assert keys[0][1] == 0 and keys[3:] == [2, 3]  # (media hash, offset) for soft tokens, token ids for text
    ask(torch.zeros(3, 4), "What color?")
    assert decoder.calls[1][2][0] != keys[0]  # another image: another key, so no stale KV cache is reused


def test_score_judges_the_first_word_of_the_expected_answers_vocabulary():
    bank = torch.zeros(2, 3, 4)
    examples = [Example(0, "What color is the shape?", "It is red."), Example(1, "What shape?", "Circle.")]
    ask = Asker(FakeDecoder("A red circle, not a blue square."), torch.nn.Linear(4, 6))
    acc, rows = score(ask, bank, examples, [{"red", "blue"}], limit=10)
    assert acc == 1.0 and len(rows) == 1  # "Circle." is in no vocabulary: not asked
    acc, rows = score(ask, bank, examples, [{"red", "blue"}, {"circle", "square"}], limit=10)
    assert acc == 1.0 and len(rows) == 2  # the shape question is judged by "circle", not by the colour before it
    examples = [Example(1, "What shape?", "Square.")]
    assert score(ask, bank, examples, [{"red", "blue"}, {"circle", "square"}], limit=10)[0] == 0.0


def test_hedged_answers_are_told_from_plain_claims():
    assert _hedged("The photo appears to be of a can opener.")
    assert _hedged("It is possibly a hammer or a screwdriver.")
    assert _hedged("Its main object could not be identified.")
    assert not _hedged("This picture shows a hen.")
