"""Human speech that Debian ships, each clip with what it says: for evaluation only, never for training.

- alsa: alsa-utils' 8 channel names ("Front Center", 1.4 s each), installed by the set-up;
- warzone: warzone2100-data's tutorial narration (42 sentences of about 3 s; the on-screen subtitle is the
  reference), when installed (apt-get install warzone2100-data);
- ktuberling: ktuberling-data's 72 English object names (single words; the file name is the reference), when
  installed (apt-get install ktuberling-data).

Every clip is 16 kHz mono float32, decoded by sox without dither (the same samples on every run).
"""

from __future__ import annotations

import re
import subprocess
import zipfile
from pathlib import Path
from typing import Callable

import numpy as np

from models.encoders.wav import SAMPLE_RATE

ALSA = Path("/usr/share/sounds/alsa")
WARZONE = Path("/usr/share/games/warzone2100/base.wz")
KTUBERLING = Path("/usr/share/ktuberling/sounds/en")

Clips = list[tuple[str, np.ndarray]]  # (what is said, 16 kHz mono audio)


def alsa_clips() -> Clips:
    """alsa-utils' channel names, the file name as the reference ("Front_Center.wav": "Front Center")."""
    return [(path.stem.replace("_", " "), _decode(path.read_bytes(), "wav")) for path in sorted(ALSA.glob("*_*.wav"))]


def warzone_clips() -> Clips:
    """warzone2100's tutorial narration with its on-screen subtitle (lines without a subtitle are skipped)."""
    if not WARZONE.is_file():
        return []
    with zipfile.ZipFile(WARZONE) as z:
        script = z.read("script/tutorial.js").decode()
        lines = re.findall(r'"audio": "(tut\d+\.ogg)".*?"message": _\("([^"]+)"\)', script)
        return [(text, _decode(z.read(f"audio/tutorial/{name}"), "ogg")) for name, text in lines]


def ktuberling_clips() -> Clips:
    """ktuberling's spoken English object names; the word is the file name after its scene prefix."""
    return [(path.stem.split("_")[-1], _decode(path.read_bytes(), "ogg")) for path in sorted(KTUBERLING.glob("*.ogg"))]


REAL_SPEECH: dict[str, Callable[[], Clips]] = {"alsa": alsa_clips, "warzone": warzone_clips,
                                               "ktuberling": ktuberling_clips}


def installed(names: list[str]) -> dict[str, Clips]:
    """The named sets that are installed here, each with its clips."""
    sets = {name: REAL_SPEECH[name]() for name in names}
    return {name: clips for name, clips in sets.items() if clips}


def _decode(data: bytes, kind: str) -> np.ndarray:
    out = subprocess.run(["sox", "-D", "-t", kind, "-", "-r", str(SAMPLE_RATE), "-c", "1", "-b", "16", "-e", "signed",
                          "-t", "raw", "-"], input=data, capture_output=True, check=True).stdout
    return np.frombuffer(out, np.int16).astype(np.float32) / 32768.0
