"""python -m tools.gcompris_photos: extract the real labelled photographs of Debian's gcompris-qt-data.

GCompris ships its activities as Qt resource files (/usr/share/gcompris-qt/rcc/*.rcc). Some hold Wikimedia
photographs named after what they show (tools, energy sources, fish, household objects, animals, monuments); the
explore_* boards give each monument and animal picture its title. This tool reads them with PySide6's QResource (the
models package never imports Qt) and writes them with a manifest.json that models.training.data.gcompris reads:
`{"photos": [{"group": ..., "file": ..., "title": ...}]}`.

Install the data first: `apt-get install gcompris-qt-data` (about 50 MB).
"""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path

RCC_DIR = Path("/usr/share/gcompris-qt/rcc")
ACTIVITIES = ":/gcompris/src/activities/"
# Resource folders of real photographs (other activities hold drawings, paintings or screenshots).
PHOTO_FOLDERS = {
    "fishes": "categorization/resource/images/fishes",
    "household": "categorization/resource/images/others",
    "renewable": "categorization/resource/images/renewable",
    "tools": "categorization/resource/images/tools",
    "monuments": "categorization/resource/images/monuments",
    "farm_animals": "explore_farm_animals/resource/animals",
    "world_animals": "explore_world_animals/resource/animals",
    "wild_animals": "erase/resource",
    "monuments_egypt": "explore_monuments/resource/egypt",
    "monuments_france": "explore_monuments/resource/france",
    "monuments_germany": "explore_monuments/resource/germany",
    "monuments_india": "explore_monuments/resource/india",
    "monuments_usa": "explore_monuments/resource/usa",
    "monuments_wonders": "explore_monuments/resource/wonders",
}
BOARDS = ("explore_monuments/resource/board", "explore_world_animals/resource/board",
          "explore_farm_animals/resource/board")
_ENTRY = re.compile(r'"title":\s*qsTr\("([^"]+)"\).*?"image2?":\s*"qrc:(/gcompris/src/activities/[^"]+\.webp)"'
                    r'|"image2?":\s*"qrc:(/gcompris/src/activities/[^"]+\.webp)".*?"title":\s*qsTr\("([^"]+)"\)',
                    re.S)


def register(rcc_dir: Path = RCC_DIR) -> int:
    """Register every .rcc file under rcc_dir with Qt's resource system; returns how many loaded."""
    from PySide6.QtCore import QResource

    files = sorted(rcc_dir.glob("*.rcc"))
    if not files:
        raise SystemExit(f"no .rcc files in {rcc_dir}: apt-get install gcompris-qt-data")
    return sum(bool(QResource.registerResource(str(f))) for f in files)


def read_resource(path: str) -> bytes:
    """The bytes of one registered resource (':/...')."""
    from PySide6.QtCore import QFile

    f = QFile(path)
    if not f.open(QFile.ReadOnly):
        raise OSError(f"cannot read resource {path}")
    try:
        return bytes(f.readAll())
    finally:
        f.close()


def list_resources(folder: str, suffix: str) -> list[str]:
    """Resource paths directly inside a registered folder that end with suffix, sorted."""
    from PySide6.QtCore import QDirIterator

    it, out = QDirIterator(folder), []
    while it.hasNext():
        path = it.next()
        if path.endswith(suffix):
            out.append(path)
    return sorted(out)


def board_titles() -> dict[str, str]:
    """Resource path of a picture -> its title on the explore_* boards (e.g. "Eiffel Tower")."""
    titles: dict[str, str] = {}
    for board in BOARDS:
        for qml in list_resources(ACTIVITIES + board, ".qml"):
            text = read_resource(qml).decode("utf-8")
            for entry in re.split(r"\n\s*\},?\s*\n", text):  # one "{ ... }" object of the board's tab list
                m = _ENTRY.search(entry)
                if m:
                    title, path = (m.group(1), m.group(2)) if m.group(1) else (m.group(4), m.group(3))
                    titles[":" + path] = title
    return titles


def extract(out: Path, rcc_dir: Path = RCC_DIR, folders: dict[str, str] = PHOTO_FOLDERS) -> dict:
    """Write every photograph of `folders` under out/<group>/ and out/manifest.json; returns the manifest."""
    register(rcc_dir)
    titles = board_titles()
    photos = []
    for group, folder in folders.items():
        for path in list_resources(ACTIVITIES + folder, ".webp"):
            target = out / group / path.rsplit("/", 1)[1]
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(read_resource(path))
            photos.append({"group": group, "file": f"{group}/{target.name}", "title": titles.get(path, "")})
    manifest = {"source": str(rcc_dir), "photos": photos}
    out.mkdir(parents=True, exist_ok=True)
    (out / "manifest.json").write_text(json.dumps(manifest, indent=1))
    return manifest


def main(argv: list[str] | None = None) -> int:
    """Extract to models.training.data.gcompris's default folder (or --out)."""
    from models.training.data.gcompris import photo_dir

    parser = argparse.ArgumentParser(prog="python -m tools.gcompris_photos", description=__doc__.splitlines()[0])
    parser.add_argument("--rcc-dir", type=Path, default=RCC_DIR)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)
    out = args.out or photo_dir()
    manifest = extract(out, args.rcc_dir)
    print(f"{len(manifest['photos'])} photographs written to {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
