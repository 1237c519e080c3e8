"""Prompt construction with media slots, and the device/dtype decision."""

import pytest
import torch

from models.device import choose_placement
from models.llm import LLM, MEDIA_MARK


@pytest.fixture(scope="module")
def llm(tiny_llm_dir):
    return LLM.load("tiny", tiny_llm_dir, choose_placement("cpu"))


def test_media_marks_expand_to_slots(llm):
    content = f"what is in this picture {MEDIA_MARK.format(0)} and {MEDIA_MARK.format(1)}"
    ids, index = llm.prompt_ids([{"role": "user", "content": content}], [3, 2])
    assert len(ids) == len(index)
    assert index.count(0) == 3 and index.count(1) == 2
    first = index.index(0)
    assert index[first:first + 3] == [0, 0, 0]
    text = llm.tokenizer.decode([t for t, i in zip(ids, index) if i < 0])
    assert "what is in this picture" in text and text.rstrip().endswith("assistant")


def test_unknown_media_block_is_an_error(llm):
    with pytest.raises(ValueError, match="media block 2"):
        llm.prompt_ids([{"role": "user", "content": MEDIA_MARK.format(2)}], [1])


def test_eos_ids_include_end_of_turn(llm):
    assert llm.tokenizer.convert_tokens_to_ids("<|im_end|>") in llm.eos_ids


def test_int8_loading_quantizes_linears(tiny_llm_dir):
    q = LLM.load("tiny", tiny_llm_dir, choose_placement("cpu"), int8=True)
    assert "quantized" in type(q.model.model.layers[0].mlp.up_proj).__module__


def test_placement_on_cpu_and_refused_cuda():
    p = choose_placement("cpu")
    assert p.device.type == "cpu" and p.dtype == torch.float32
    if not torch.cuda.is_available():
        assert choose_placement("auto").device.type == "cpu"
        with pytest.raises(RuntimeError, match="no CUDA GPU"):
            choose_placement("cuda")
    with pytest.raises(ValueError):
        choose_placement("tpu")
