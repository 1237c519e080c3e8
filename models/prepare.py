"""python -m models.prepare [NAME ...]: make bundled weights runnable once, into the user cache, with progress bars.

Without names (what scripts/bootstrap.sh runs): the default Whisper and vision tower, the transformers export of the
torch path's LLM, the GGUF of every bundled LLM that is installed (the default LLM's must be), and the ONNX export
of the bundled vision tower with each shipped grounded image adapter (models.adapters.vision_onnx: image questions
without torch).
"""

from __future__ import annotations

import sys
from pathlib import Path

from models.adapters.config import TRAINED_ROOT, read_config
from models.flags import UsageError
from models.weights.catalog import (BUNDLED, DEFAULTS, TIERS, MissingWeightsError, canonical, resolve, resolve_gguf,
                                    source_files)

# Training, evaluation and the torch tests run this LLM through transformers. The bigger tiers run on llama.cpp from
# their GGUF, so set-up never exports them (the 1.5B would be 6 GB of fp32 and minutes); the torch path still exports
# any bundled LLM on demand when asked to load it.
TORCH_LLM = TIERS["fast"]


def prepare_model(name: str, verify: bool = False) -> Path:
    """Make one bundled model (or tier) runnable: an LLM's GGUF, or the converted Whisper / vision weights."""
    model = canonical(name)
    if model not in BUNDLED:
        raise UsageError(f"{name} is not a bundled model or tier (tiers: {', '.join(TIERS)}; "
                         f"models: {', '.join(BUNDLED)})")
    kind = BUNDLED[model].kind
    return resolve_gguf(model, verify) if kind == "llm" else resolve(model, kind, verify).path


def _installed(name: str) -> bool:
    try:
        source_files(name)
        return True
    except MissingWeightsError:
        return False


def onnx_adapters() -> list[Path]:
    """The shipped image adapters that run on onnxruntime with the default tower (models.adapters.vision_onnx)."""
    from models.adapters.vision_onnx import runs_here

    folders = sorted(c.parent for c in TRAINED_ROOT.glob("image--*/config.json"))
    return [d for d in folders if runs_here(DEFAULTS["vision"], read_config(d))]


def default_steps() -> list[tuple[str, str]]:
    """What set-up prepares, as (label, how) pairs: how is "gguf", "hf", "onnx" (an image adapter's folder name) or
    a model kind."""
    steps = [(DEFAULTS["whisper"], "whisper"), (DEFAULTS["vision"], "vision"), (TORCH_LLM, "hf")]
    llms = [n for n, b in BUNDLED.items() if b.kind == "llm"]
    steps += [(n, "gguf") for n in llms if n == DEFAULTS["llm"] or _installed(n)]
    return steps + [(d.name, "onnx") for d in onnx_adapters()]


def main(names: list[str]) -> int:
    """Prepare the named models (default: see the module docstring); verify what is already in the cache."""
    steps = [(canonical(n), "named") for n in names] or default_steps()
    for name, how in steps:
        try:
            if how == "named":
                path = prepare_model(name, verify=True)
            elif how == "gguf":
                path = resolve_gguf(name, verify=True)
            elif how == "onnx":
                from models.adapters.vision_onnx import exported

                path = exported(TRAINED_ROOT / name)
            else:
                path = resolve(name, "llm" if how == "hf" else how, verify=True).path
        except UsageError as e:
            print(f"error: {e}", file=sys.stderr)
            return 2
        except MissingWeightsError as e:
            print(f"error: {e}", file=sys.stderr)
            return 3
        print(f"[weights] {name}{f' ({how})' if how in ('gguf', 'onnx') else ''}: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
