"""Real photographs on the real weights: the grounded image adapter of the default tier (marked `weights`).

Needs the gcompris photographs (apt-get install gcompris-qt-data; python -m tools.gcompris_photos). The checks that
name exact words run where the arithmetic is the same on every x86-64 CPU: the fp32 vision tower and classifier,
and the torch fp32 fast tier; the default tier's llama.cpp answer is only checked to come from that tier.
"""

import pytest
from PIL import Image

from assistant.conversation import Done, Message
from assistant.engine import Engine, EngineConfig
from models.decoders.sampling import SamplingOptions
from models.weights.catalog import DEFAULTS, MissingWeightsError, source_files

GREEDY = SamplingOptions(temperature=0, max_new_tokens=24)


def _ready() -> bool:
    from models.training.data.gcompris import photos

    try:
        source_files(DEFAULTS["llm"])
        source_files("efficientnet-lite0")
        return any(p.held_out for p in photos())
    except (MissingWeightsError, FileNotFoundError):
        return False


pytestmark = [pytest.mark.weights,
              pytest.mark.skipif(not _ready(), reason="weights or the gcompris photographs are not installed")]


def _held_out(name: str):
    from models.training.data.gcompris import photos

    photo = next(p for p in photos() if p.path.name == name)
    assert photo.held_out  # never used to tune the adapter's thresholds
    return photo


@pytest.fixture(scope="module")
def engine():
    return Engine(EngineConfig(device="cpu"))


def test_the_default_tier_reads_a_held_out_photo_as_its_name(engine):
    """The tower's fp32 classifier is sure of the koala, so the soft tokens spell the name in the LLM's own tokens."""
    photo = _held_out("koala.webp")
    projector = engine.adapter("image")
    features = engine.vision.encode([Image.open(photo.path)])
    probs = projector.probabilities(features)[0]
    assert float(probs.max()) > 0.9  # far from the thresholds: the same choice on any CPU
    assert engine.llm.detokenize(projector.token_ids(probs)) == "Photo of a koala."


def test_the_default_tier_answers_images_itself(engine):
    photo = _held_out("koala.webp")
    done = list(engine.respond([Message.user("What is in this picture?", images=[photo.path])], GREEDY))[-1]
    assert isinstance(done, Done) and done.models["llm"] == DEFAULTS["llm"] and done.timings.tokens > 0
