"""A virtual microphone for screenshots, benchmarks and end-to-end tests: a PulseAudio null sink whose monitor is
remapped into a source. Whatever is played into the sink is what the app "hears"."""

from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path

SINK, SOURCE = "omni_vsink", "omni_vmic"


class VirtualMicrophone:
    """Start PulseAudio if needed, add the sink and source, remove them again on close."""

    def __init__(self):
        self.modules: list[str] = []

    @staticmethod
    def available() -> bool:
        """Whether pulseaudio and pactl are installed."""
        return bool(shutil.which("pulseaudio") and shutil.which("pactl") and shutil.which("paplay"))

    def __enter__(self) -> VirtualMicrophone:
        if not self.available():
            raise RuntimeError("pulseaudio, pactl and paplay are needed (apt-get install pulseaudio pulseaudio-utils)")
        if subprocess.run(["pactl", "info"], capture_output=True, check=False).returncode != 0:
            subprocess.run(["pulseaudio", "--daemonize=yes", "--exit-idle-time=-1", "--disallow-exit"],
                           capture_output=True, check=False)
            for _ in range(50):
                if subprocess.run(["pactl", "info"], capture_output=True, check=False).returncode == 0:
                    break
                time.sleep(0.1)
            else:
                raise RuntimeError("PulseAudio did not start")
        sources = subprocess.run(["pactl", "list", "short", "sources"], capture_output=True, text=True,
                                 check=False).stdout
        if SOURCE not in sources:
            for args in (["module-null-sink", f"sink_name={SINK}"],
                         ["module-remap-source", f"master={SINK}.monitor", f"source_name={SOURCE}"]):
                out = subprocess.run(["pactl", "load-module", *args], capture_output=True, text=True, check=True)
                self.modules.append(out.stdout.strip())
        return self

    @property
    def device_id(self) -> str:
        """The QtMultimedia device id of the virtual microphone."""
        return SOURCE

    def play(self, wav: Path, wait: bool = False) -> subprocess.Popen:
        """Play a WAV file into the microphone."""
        proc = subprocess.Popen(["paplay", "-d", SINK, str(wav)])
        if wait:
            proc.wait()
        return proc

    def __exit__(self, *exc) -> None:
        for module in reversed(self.modules):
            subprocess.run(["pactl", "unload-module", module], capture_output=True, check=False)
