"""Projectors: shapes, frame stacking, strict save/load, mismatch refusal, splicing."""

import json

import pytest
import torch

from models.adapters.projector import (SPELLING_ALPHABET, AdapterConfig, AdapterMismatchError, CTCProjector, Projector,
                                       SpellingProjector, build_projector, load_adapter, save_adapter, spellable)
from models.decoders.llm import splice

CFG = AdapterConfig("speech", "whisper-base", "smollm2-135m-instruct", in_dim=8, out_dim=12, hidden_dim=16, stack=5)


def test_stacking_gives_ceil_frames_over_stack():
    proj = Projector(CFG)
    assert proj(torch.randn(2, 50, 8)).shape == (2, 10, 12)
    assert proj(torch.randn(1, 51, 8)).shape == (1, 11, 12)


def test_round_trip_and_strict_loading(tmp_path):
    proj = Projector(CFG)
    save_adapter(proj, tmp_path)
    loaded = load_adapter(tmp_path, "whisper-base", "smollm2-135m-instruct", 8, 12)
    x = torch.randn(1, 20, 8)
    assert torch.equal(proj(x), loaded(x))
    from safetensors.torch import load_file, save_file

    weights = load_file(tmp_path / "model.safetensors")
    weights.pop("net.3.bias")
    save_file(weights, tmp_path / "model.safetensors")
    with pytest.raises(RuntimeError, match="net.3.bias"):
        load_adapter(tmp_path, "whisper-base", "smollm2-135m-instruct", 8, 12)


@pytest.mark.parametrize("encoder,llm,dims,word", [
    ("whisper-tiny.en", "smollm2-135m-instruct", (8, 12), "encoder=whisper-base"),
    ("whisper-base", "qwen2.5-coder-0.5b-instruct", (8, 12), "llm=smollm2"),
    ("whisper-base", "smollm2-135m-instruct", (8, 896), "out_dim=12"),
])
def test_mismatched_pair_is_refused(tmp_path, encoder, llm, dims, word):
    save_adapter(Projector(CFG), tmp_path)
    with pytest.raises(AdapterMismatchError, match=word):
        load_adapter(tmp_path, encoder, llm, *dims)


def test_config_is_plain_json(tmp_path):
    save_adapter(Projector(CFG), tmp_path)
    assert json.loads((tmp_path / "config.json").read_text())["stack"] == 5


def test_splice_fills_only_masked_positions():
    text = torch.zeros(1, 6, 3)
    mask = torch.tensor([[False, True, True, False, True, False]])
    media = torch.arange(9, dtype=torch.float).reshape(3, 3)
    out = splice(text, mask, media)
    assert torch.equal(out[0, [1, 2, 4]], media) and out[0, [0, 3, 5]].abs().sum() == 0
    with pytest.raises(ValueError, match="3 placeholder slots but 2"):
        splice(text, mask, media[:2])


CTC_CFG = AdapterConfig("speech", "whisper-base", "smollm2-135m-instruct", in_dim=8, out_dim=12, hidden_dim=16,
                        stack=2, ctc=True)


def _ctc_projector(pattern: list[int], vocab: torch.Tensor) -> CTCProjector:
    """A CTC projector whose per-frame best class follows `pattern` (len(vocab) = blank)."""
    proj = CTCProjector(CTC_CFG, vocab)
    logits = torch.full((1, len(pattern), len(vocab) + 1), -5.0)
    logits[0, torch.arange(len(pattern)), torch.tensor(pattern)] = 5.0
    proj.ctc_logits = lambda features: logits
    return proj


def test_ctc_collapse_drops_blanks_and_repeats_and_mixes_embeddings():
    vocab = torch.randn(4, 12)
    proj = _ctc_projector([1, 1, 4, 2, 2, 4, 1], vocab)  # 4 = blank -> tokens 1, 2, 1
    soft = proj(torch.randn(1, 14, 8))
    assert soft.shape == (1, 3, 12)
    posterior = torch.full((4,), -5.0).index_fill(0, torch.tensor([1]), 5.0).softmax(-1)
    assert torch.allclose(soft[0, 0], posterior @ vocab, atol=1e-5)
    assert torch.allclose(soft[0, 0], soft[0, 2]) and not torch.allclose(soft[0, 0], soft[0, 1])


def test_ctc_silence_still_gives_one_token_and_batches_are_refused():
    proj = _ctc_projector([4, 4, 4], torch.randn(4, 12))
    assert proj(torch.randn(1, 6, 8)).shape == (1, 1, 12)
    with pytest.raises(ValueError, match="one recording"):
        proj(torch.randn(2, 6, 8))


def test_ctc_scores_cover_the_vocabulary_plus_blank(tmp_path):
    vocab = torch.randn(7, 12)
    proj = build_projector(CTC_CFG, vocab)
    assert isinstance(proj, CTCProjector) and type(build_projector(CFG)) is Projector
    assert proj.ctc_logits(torch.randn(3, 10, 8)).shape == (3, 5, 8)
    save_adapter(proj, tmp_path)
    from safetensors.torch import load_file

    assert set(load_file(tmp_path / "model.safetensors")) == {f"net.{i}.{p}" for i in (0, 1, 3)
                                                              for p in ("weight", "bias")} | {"blank.weight",
                                                                                              "blank.bias"}
    with pytest.raises(ValueError, match="input embeddings"):
        load_adapter(tmp_path, "whisper-base", "smollm2-135m-instruct", 8, 12)
    loaded = load_adapter(tmp_path, "whisper-base", "smollm2-135m-instruct", 8, 12, vocab=vocab)
    x = torch.randn(1, 10, 8)
    assert torch.equal(loaded(x), proj.eval()(x))


SPELL_CFG = AdapterConfig("speech", "whisper-base", "smollm2-135m-instruct", in_dim=8, out_dim=12, hidden_dim=16,
                          ctc=True, alphabet=SPELLING_ALPHABET, recurrent=6)


def test_a_spelling_adapter_scores_characters_per_frame_and_loads_without_the_llms_embeddings(tmp_path):
    proj = build_projector(SPELL_CFG)
    assert isinstance(proj, SpellingProjector)
    assert proj.ctc_logits(torch.randn(3, 10, 8)).shape == (3, 10, len(SPELLING_ALPHABET) + 1)  # 50 frames a second
    save_adapter(proj, tmp_path)
    loaded = load_adapter(tmp_path, "whisper-base", "smollm2-135m-instruct", 8, 12)  # no vocab needed
    x = torch.randn(1, 10, 8)
    assert torch.equal(loaded.ctc_logits(x), proj.eval().ctc_logits(x))
    with pytest.raises(TypeError, match="no soft tokens"):
        proj(x)


def test_spelling_targets_and_text():
    """A transcript becomes characters (lower case, hyphens as spaces, punctuation gone) and back; one with a digit
    has no spelling (how "3" was said is not in the text), so training skips it."""
    proj = SpellingProjector(SPELL_CFG)
    ids = proj.targets("Who painted the Mona-Lisa?  It's late.")
    assert proj.spell(ids) == "who painted the mona lisa it's late"
    assert spellable("I have 3 apples.") == "" and proj.targets("Buy 5 more") == []
    assert proj.spell([1, 0, 0, 2]) == "a b"  # repeated spaces are one
