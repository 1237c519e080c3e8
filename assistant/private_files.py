"""Files only their user may read: settings (API keys), the history database, stored attachments and recordings.

Modes are set explicitly (0700 folders, 0600 files) rather than left to the umask, and repaired when an older
version created them readable by others.
"""

from __future__ import annotations

import os
import stat
import tempfile
from pathlib import Path

DIR_MODE = 0o700
FILE_MODE = 0o600


def private_dir(path: Path) -> Path:
    """Create path (and missing parents) as 0700; an existing folder loses any group/other access."""
    path = Path(path)
    path.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
    make_private(path)
    return path


def make_private(path: Path) -> None:
    """Set 0700 on a folder or 0600 on a file when it grants anything to group or others (missing: ignored)."""
    try:
        st = path.stat()
    except FileNotFoundError:
        return
    wanted = DIR_MODE if stat.S_ISDIR(st.st_mode) else FILE_MODE
    if stat.S_IMODE(st.st_mode) != wanted:
        path.chmod(wanted)


def make_tree_private(root: Path) -> None:
    """make_private on root and everything under it (repairs a store an older version wrote 0644/0755)."""
    make_private(root)
    for folder, dirs, files in os.walk(root):
        for name in dirs + files:
            make_private(Path(folder) / name)


def private_temp(directory: Path, prefix: str, suffix: str = "") -> tuple[int, Path]:
    """A new, uniquely named 0600 file in directory, as (open fd, path): concurrent writers never share one."""
    fd, name = tempfile.mkstemp(prefix=prefix, suffix=suffix, dir=directory)
    os.fchmod(fd, FILE_MODE)  # mkstemp's 0600 is still subject to an odd umask
    return fd, Path(name)


def write_private(path: Path, data: bytes) -> None:
    """Write data to path atomically (unique temp file + rename) as a 0600 file in a 0700 folder."""
    path = Path(path)
    fd, tmp = private_temp(private_dir(path.parent), prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
