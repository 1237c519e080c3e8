"""tools.gcompris_photos on a tiny Qt resource file built here with pyside6-rcc."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from models.training.data.gcompris import photos

RCC = shutil.which("pyside6-rcc") or str(Path(sys.executable).with_name("pyside6-rcc"))
BOARD = '''QtObject {
    property var tab: [
        {
            "image": "qrc:/gcompris/src/activities/explore_farm_animals/resource/animals/cow.webp",
            "title": qsTr("Cow"),
            "text": qsTr("A cow.")
        }
    ]
}
'''


@pytest.mark.skipif(not Path(RCC).exists(), reason="pyside6-rcc is not installed (it ships with PySide6)")
def test_photos_and_board_titles_come_out_of_an_rcc(tmp_path):
    from tools.gcompris_photos import extract

    src = tmp_path / "src"
    files = {"gcompris/src/activities/categorization/resource/images/tools/hammer1.webp": "webp",
             "gcompris/src/activities/explore_farm_animals/resource/animals/cow.webp": "webp",
             "gcompris/src/activities/explore_farm_animals/resource/animals/cow.svg": None,
             "gcompris/src/activities/explore_farm_animals/resource/board/board1.qml": BOARD}
    for name, kind in files.items():
        path = src / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if kind == "webp":
            Image.new("RGB", (8, 6), (200, 30, 30)).save(path, "WEBP")
        else:
            path.write_text(kind or "<svg/>")
    qrc = src / "test.qrc"
    qrc.write_text("<RCC><qresource>" + "".join(f"<file>{n}</file>" for n in files) + "</qresource></RCC>")
    (tmp_path / "rcc").mkdir()
    subprocess.run([RCC, "--binary", str(qrc), "-o", str(tmp_path / "rcc" / "test.rcc")], check=True, cwd=src)
    out = tmp_path / "out"
    manifest = extract(out, tmp_path / "rcc", {"tools": "categorization/resource/images/tools",
                                               "farm_animals": "explore_farm_animals/resource/animals"})
    assert {p["file"]: p["title"] for p in manifest["photos"]} == {"tools/hammer1.webp": "",
                                                                    "farm_animals/cow.webp": "Cow"}
    assert Image.open(out / "tools" / "hammer1.webp").size == (8, 6)
    assert sorted(p.label for p in photos(out)) == ["cow", "hammer"]
