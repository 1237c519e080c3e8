"""The converted-weights cache: one immutable folder per conversion, keyed by what went in, never by where it was.

Layout under `<cache>/<model name>/`:

    <key>/<target>        the conversion (a file or a folder), never modified once it is in place
    <key>/manifest.json   the key's inputs, the result's file sizes and sha256
    .lock                 taken (fcntl) while converting, so concurrent processes convert once
    .tmp-*                a conversion being built; renamed to <key> in one step when complete

The key hashes each source's package name, version, file name and content hash (from the package's RECORD, so
starting up reads no weights). Two checkouts, a moved venv or a symlinked one therefore share one conversion. A new
conversion is built beside the others and renamed into place; nothing a reader may have open is deleted (a new
package version gets a new folder and the old one is left for whoever still runs that version).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import time
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import Callable, Iterator

MANIFEST = "manifest.json"
# Told the cache folder's name (the model's) just before a conversion runs, so a front end can say that a first run
# prepares the models once; set per thread of work (Engine._timed), nothing by default.
converting: ContextVar[Callable[[str], None] | None] = ContextVar("converting", default=None)


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


def file_sizes(path: Path) -> dict[str, int]:
    """Relative name -> size of a file or of every file in a directory (a cheap completeness check)."""
    if path.is_file():
        return {path.name: path.stat().st_size}
    return {p.relative_to(path).as_posix(): p.stat().st_size for p in sorted(path.rglob("*")) if p.is_file()}


def content_key(inputs: list[dict], target: str) -> str:
    """The folder name of a conversion: a hash of its inputs (package, version, file, content hash) and target."""
    blob = json.dumps({"inputs": inputs, "target": target}, sort_keys=True).encode()
    return hashlib.sha256(blob).hexdigest()[:32]


@contextmanager
def locked(path: Path) -> Iterator[None]:
    """An exclusive advisory lock on `path` (created if missing); a no-op where fcntl does not exist (Windows)."""
    try:
        import fcntl
    except ImportError:  # the atomic rename still keeps readers safe; two converters may just both work
        yield
        return
    with open(path, "a+b") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def _valid(folder: Path, target: str, key: str, verify: bool) -> bool:
    """Whether folder holds a complete conversion for key (sizes always; the sha256 too when verify)."""
    result, manifest = folder / target, folder / MANIFEST
    if not (result.exists() and manifest.is_file()):
        return False
    try:
        meta = json.loads(manifest.read_text())
    except (OSError, ValueError):
        return False
    return (meta.get("key") == key and meta.get("files") == file_sizes(result)
            and (not verify or meta.get("sha256") == sha256(result)))


def link_tree(src: Path, dst: Path) -> None:
    """Hard-link (or copy where links are refused) src into dst: adopting a conversion costs no disk or time.

    The source stays where it is, for whoever still reads it there."""
    def link(s: str, d: str) -> None:
        try:
            os.link(s, d)
        except OSError:
            shutil.copy2(s, d)

    if src.is_dir():
        shutil.copytree(src, dst, copy_function=link)
    else:
        link(str(src), str(dst))


def _set_aside(folder: Path) -> None:
    """Move a damaged conversion out of the way in one rename, then delete it (open files stay readable)."""
    trash = Path(tempfile.mkdtemp(prefix=".trash-", dir=folder.parent))
    folder.rename(trash / folder.name)
    shutil.rmtree(trash, ignore_errors=True)


def convert_once(root: Path, key: str, inputs: list[dict], target: str, convert: Callable[[Path], None],
                 verify: bool = False) -> Path:
    """The conversion `root/key/target`, running convert(tmp_target) at most once across processes.

    verify=False checks the recorded file sizes (cheap, every start); verify=True also re-hashes the result.
    """
    folder = root / key
    if _valid(folder, target, key, verify):
        return folder / target
    root.mkdir(parents=True, exist_ok=True)
    with locked(root / ".lock"):
        if _valid(folder, target, key, verify):  # another process finished it while we waited
            return folder / target
        for stale in root.glob(".tmp-*"):  # left by a converter that died; only lock holders make these
            shutil.rmtree(stale, ignore_errors=True)
        staging = Path(tempfile.mkdtemp(prefix=".tmp-", dir=root))
        notice = converting.get()
        if notice is not None:
            notice(root.name)
        try:
            convert(staging / target)
            meta = {"key": key, "inputs": inputs, "files": file_sizes(staging / target),
                    "sha256": sha256(staging / target), "created": time.time()}
            (staging / MANIFEST).write_text(json.dumps(meta, indent=1))
            if folder.exists():  # damaged (we hold the lock and it failed the check): nobody can load it anyway
                _set_aside(folder)
            staging.rename(folder)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    return folder / target

