"""models.weights.native_libs: which libraries load ahead of an import, in which order, and when nothing is done."""

import os
import sys
from pathlib import Path

import pytest

from models.weights import native_libs


def _touch(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"")
    return path


@pytest.fixture
def site(tmp_path, monkeypatch):
    """A fake site-packages holding torch (with CUDA wheels beside it) and llvmlite, found by find_spec."""
    for pkg in ("torch", "llvmlite"):
        _touch(tmp_path / pkg / "__init__.py")
    monkeypatch.setattr(native_libs, "_package_dir", lambda name: tmp_path / name if name in ("torch", "llvmlite")
                        else None)
    monkeypatch.setattr(sys, "platform", "linux")
    return tmp_path


def test_torch_plan_follows_torchs_own_order(site):
    lib = site / "torch" / "lib"
    for name in ("libtorch_global_deps.so", "libc10.so", "libtorch_cpu.so", "libtorch.so"):  # no libtorch_cuda
        _touch(lib / name)
    cudart = _touch(site / "nvidia" / "cu13" / "lib" / "libcudart.so.13")
    cublas_lt = _touch(site / "nvidia" / "cublas" / "lib" / "libcublasLt.so.12")
    plan = native_libs.library_plan("torch")
    assert plan[0] == (lib / "libtorch_global_deps.so", os.RTLD_NOW | os.RTLD_GLOBAL)
    paths = [p for p, _ in plan]
    assert paths[1:3] == [cublas_lt, cudart]  # cublasLt before the rest, as torch preloads them
    assert paths[3:] == [lib / "libc10.so", lib / "libtorch_cpu.so", lib / "libtorch.so"]
    assert all(flags == os.RTLD_NOW for _, flags in plan[1:])  # local, as ctypes.CDLL and imports load them


def test_nothing_to_do_without_the_expected_layout(site, monkeypatch):
    assert native_libs.library_plan("torch") == []  # no libtorch_global_deps.so: another build
    assert native_libs.library_plan("whisper") == []  # llvmlite without its library
    assert native_libs.library_plan("numpy") == []
    _touch(site / "llvmlite" / "binding" / "libllvmlite.so")
    assert native_libs.library_plan("whisper") == [(site / "llvmlite" / "binding" / "libllvmlite.so", os.RTLD_NOW)]
    monkeypatch.setattr(sys, "platform", "darwin")
    assert native_libs.library_plan("whisper") == []


def test_preload_loads_once_and_stops_at_a_failure(monkeypatch, tmp_path):
    real = tmp_path / "libreal.so"
    monkeypatch.setattr(native_libs, "library_plan",
                        lambda package: [(Path("/nonexistent/libnothing.so"), os.RTLD_NOW), (real, os.RTLD_NOW)])
    monkeypatch.setattr(native_libs, "_done", set())
    assert native_libs.preload("some_unimported_package") == 0  # the first library fails: the import reports it
    monkeypatch.setattr(native_libs, "library_plan", lambda package: [(Path("libc.so.6"), os.RTLD_NOW)])
    assert native_libs.preload("some_unimported_package") == 0  # already tried once
    assert native_libs.preload("another_unimported_package") == 1
    assert native_libs.preload("sys") == 0  # already imported: nothing left to gain
