"""The grounded image adapter: class names from the tower's classifier as the LLM's own token embeddings."""

import pytest
import torch

from models.adapters.grounded import GroundedProjector, build_grounded
from models.adapters.grounded_spelling import CLOSE, GUESSED, OR, PHRASES, STATED, UNKNOWN
from models.adapters.projector import (AdapterConfig, AdapterMismatchError, Projector, build_projector, load_adapter,
                                       save_adapter)

CLASSES = ["hammer", "owl", "tabby", "dam"]
D, H = 8, 128  # H = the vocabulary size here, so a row's mixture weights over vocab rows are unique
CFG = AdapterConfig("image", "efficientnet-lite0", "tiny-llm", in_dim=D, out_dim=H, hidden_dim=0, grounded=3,
                    sure=0.5, floor=0.3)  # 4 classes: a flat guess is 0.25 each


def tokenize(text: str) -> list[int]:
    """A character-level stand-in for an LLM tokenizer: one id per character (ids < 128)."""
    return [ord(c) % 128 for c in text]


def make(spatial: bool = False, vocab: torch.Tensor | None = None) -> GroundedProjector:
    torch.manual_seed(0)
    vocab = torch.randn(128, H) if vocab is None else vocab
    cfg = CFG if not spatial else AdapterConfig(**{**CFG.__dict__, "hidden_dim": 16})
    # Class c responds to feature channel c alone, so a feature map picks the probabilities exactly.
    classifier = torch.zeros(len(CLASSES), D)
    classifier[torch.arange(len(CLASSES)), torch.arange(len(CLASSES))] = 1.0
    return build_grounded(cfg, vocab, classifier, torch.zeros(len(CLASSES)), tokenize, CLASSES,
                          Projector(cfg) if spatial else None)


def features(logits: list[float]) -> torch.Tensor:
    """(1, 49, D) patch tokens whose mean gives these class logits."""
    f = torch.zeros(1, 49, D)
    f[0, :, : len(logits)] = torch.tensor(logits)
    return f


def text(proj: GroundedProjector, f: torch.Tensor) -> str:
    return "".join(chr(i) for i in proj.token_ids(proj.probabilities(f)[0]))


def test_a_confident_class_is_stated_as_its_token_embeddings():
    proj = make()
    f = features([9.0, 0, 0, 0])
    assert text(proj, f) == "Photo of a hammer."
    out = proj(f)
    assert out.shape == (1, len("Photo of a hammer."), H)
    # Every row is a convex mixture of vocabulary rows: here exactly the row of each token (weights one-hot).
    assert torch.allclose(out[0], proj.vocab[torch.tensor(tokenize("Photo of a hammer."))])
    assert proj.spelled(f) == tokenize("Photo of a hammer.")  # so the engine can feed them as tokens


def test_middling_classes_are_offered_as_guesses_and_unplaceable_images_get_no_name():
    proj = make()
    assert text(proj, features([1.0, 1.2, 0, 0])) == "Photo, possibly of an owl or a hammer."
    assert text(proj, features([0.1, 0.0, 0.05, 0.0])) == PHRASES[UNKNOWN]
    assert (STATED, GUESSED, OR, CLOSE) == (0, 1, 2, 3)


def test_rows_are_convex_mixtures_of_vocab_rows():
    proj = make()
    out = proj(features([1.0, 1.2, 0, 0]))[0]  # (N, H)
    # Least squares weights over the vocabulary reproduce each row with non-negative weights summing to one.
    weights = torch.linalg.lstsq(proj.vocab.T, out.T).solution.T  # (N, V)
    assert torch.allclose(weights @ proj.vocab, out, atol=1e-4)
    assert torch.allclose(weights.sum(-1), torch.ones(len(out)), atol=1e-3)
    assert bool((weights > -1e-3).all())


def test_spatial_tokens_follow_the_names():
    proj = make(spatial=True)
    out = proj(features([9.0, 0, 0, 0]))
    assert out.shape == (1, len("Photo of a hammer.") + 49, H)
    assert proj.spelled(features([9.0, 0, 0, 0])) is None and proj.spatial.spelled(features([9.0])) is None


def test_one_image_at_a_time():
    with pytest.raises(ValueError, match="one image at a time"):
        make()(torch.zeros(2, 49, D))


def test_save_and_load_by_config_strictly(tmp_path):
    proj = make(spatial=True)
    save_adapter(proj, tmp_path)
    calls = []

    def vocab():  # llama.cpp hands the embeddings over on request
        calls.append(1)
        return proj.vocab

    loaded = load_adapter(tmp_path, "efficientnet-lite0", "tiny-llm", D, H, vocab=vocab)
    assert isinstance(loaded, GroundedProjector) and calls == [1]
    f = features([1.0, 1.2, 0, 0]) + torch.rand(1, 49, D) * 0.01
    assert torch.equal(loaded(f), proj(f))
    assert loaded.cfg.classes == 4 and loaded.cfg.name_tokens == len(" a hammer")
    with pytest.raises(ValueError, match="grounded adapter needs the LLM's input embeddings"):
        load_adapter(tmp_path, "efficientnet-lite0", "tiny-llm", D, H)
    with pytest.raises(AdapterMismatchError, match="llm=tiny-llm"):
        load_adapter(tmp_path, "efficientnet-lite0", "other-llm", D, H, vocab=vocab)
    from safetensors.torch import load_file, save_file

    weights = load_file(tmp_path / "model.safetensors")
    weights.pop("names")
    save_file(weights, tmp_path / "model.safetensors")
    with pytest.raises(RuntimeError, match="names"):
        load_adapter(tmp_path, "efficientnet-lite0", "tiny-llm", D, H, vocab=vocab)


def test_config_must_match_its_parts():
    with pytest.raises(ValueError, match="grounded > 0"):
        GroundedProjector(AdapterConfig("image", "e", "l", D, H, 0), torch.zeros(4, H))
    with pytest.raises(ValueError, match="embeddings are 7 wide"):
        make(vocab=torch.zeros(128, 7))
    cfg = AdapterConfig(**{**CFG.__dict__, "classes": 4, "name_tokens": 3, "phrase_tokens": 5})
    assert isinstance(build_projector(cfg, torch.zeros(128, H)), GroundedProjector)
    with pytest.raises(ValueError, match="spatial projector"):
        GroundedProjector(cfg, torch.zeros(128, H), Projector(AdapterConfig("image", "e", "l", D, H, 16)))


def test_a_picture_of_flat_shapes_is_described_as_a_drawing_of_them_without_class_names():
    cfg = AdapterConfig(**{**CFG.__dict__, "shapes": 2})
    classifier = torch.eye(len(CLASSES), D)
    proj = build_grounded(cfg, torch.randn(128, H), classifier, torch.zeros(len(CLASSES)), tokenize, CLASSES)
    first, last = proj.object_head[0], proj.object_head[-1]
    with torch.no_grad():
        for layer in (proj.colour_head, first, last):
            layer.weight.zero_()
            layer.bias.zero_()
        proj.colour_head.bias[0] = 5.0  # every patch is red: red shows with strength 5, the other colours 0
        first.weight[0, D] = 1.0  # a hidden unit that follows a colour's strength
        last.weight[0, 0] = 2.0  # ... and votes "circle"
        last.bias[-1] = 1.0  # otherwise "none"
    f = features([9.0, 0, 0, 0])
    assert proj.objects(f) == [(0, 0)]
    said = "".join(chr(i) for i in proj.token_ids(proj.probabilities(f)[0], proj.objects(f)))
    assert said == "Drawing of a red circle."  # the hammer the classifier is sure of is noise on a drawing
    assert proj(f).shape == (1, len(said), H)
    with torch.no_grad():
        last.bias[-1] = 99.0  # "none" wins: nothing is drawn, the photo is named
    assert proj.objects(f) == []
    assert text(proj, f) == "Photo of a hammer."


def test_proper_names_take_no_article():
    from models.adapters.grounded_spelling import named

    assert named("hammer") == " a hammer" and named("owl") == " an owl"
    assert named("German shepherd (a kind of dog)") == " a German shepherd (a kind of dog)"
    assert named("Eiffel Tower") == " Eiffel Tower" and named("Great Wall of China") == " Great Wall of China"
