"""EmbeddingRows reads rows of a GGUF tensor without gguf's full reader: a tiny file written by gguf's own writer."""

import numpy as np
import pytest

gguf = pytest.importorskip("gguf")

from models.decoders.gguf_rows import EmbeddingRows, tensor_offsets  # noqa: E402


def _write(path, table, quant):
    writer = gguf.GGUFWriter(str(path), "llama")
    writer.add_string("general.name", "tiny")
    writer.add_array("tokenizer.ggml.tokens", [f"tok{i}" for i in range(table.shape[0])])  # skipped field by field
    writer.add_array("tokenizer.ggml.scores", [0.5] * table.shape[0])
    data = gguf.quants.quantize(table, quant) if quant != gguf.GGMLQuantizationType.F32 else table
    writer.add_tensor("output_norm.weight", np.ones(64, dtype=np.float32))
    writer.add_tensor("token_embd.weight", data, raw_dtype=quant)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()


@pytest.mark.parametrize("quant", [gguf.GGMLQuantizationType.F32, gguf.GGMLQuantizationType.Q8_0])
def test_indexed_rows_are_the_dequantized_rows(tmp_path, quant):
    table = np.random.default_rng(0).normal(size=(40, 64)).astype(np.float32)
    _write(tmp_path / "t.gguf", table, quant)
    rows = EmbeddingRows(tmp_path / "t.gguf")
    assert rows.shape == (40, 64)
    assert set(tensor_offsets(tmp_path / "t.gguf")) == {"output_norm.weight", "token_embd.weight"}
    f32 = quant == gguf.GGMLQuantizationType.F32
    expected = table if f32 else gguf.quants.dequantize(gguf.quants.quantize(table, quant), quant)
    picked = rows[[3, 0, 39, 3]].numpy()
    assert np.array_equal(picked, expected[[3, 0, 39, 3]])
    assert np.array_equal(rows.to(rows.dtype).numpy(), expected)  # the whole matrix, as a CTC adapter asks


def test_a_file_that_is_not_gguf_is_refused(tmp_path):
    (tmp_path / "x.gguf").write_bytes(b"not a model at all" * 4)
    with pytest.raises(ValueError, match="not a GGUF"):
        tensor_offsets(tmp_path / "x.gguf")
