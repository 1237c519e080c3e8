"""python -m tools.imagenet_kinds: write models/training/data/imagenet_kinds.json, the everyday kind of each ImageNet
class.

ImageNet's 1,000 classes are WordNet 3.0 noun synsets (timm's imagenet_synsets.txt lists their ids in the classifier's
order). A class's kind is its nearest WordNet ancestor with a one-word name people use (Zipf frequency >= MIN_ZIPF in
wordfreq): "German shepherd" -> "dog", "monarch" -> "butterfly", "viaduct" -> "bridge". Ancestors that cover more
than MAX_LEAVES classes ("organism", "artifact") say nothing and are skipped; so are kinds the name already contains
("goldfish" -> "fish"). Run once by a developer; the JSON is committed and read by models.training.build_grounded.

Needs Debian's wordnet-base (/usr/share/wordnet) and `pip install wordfreq==3.1.1`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Callable

WORDNET = Path("/usr/share/wordnet/data.noun")
MIN_ZIPF, MAX_LEAVES = 3.5, 300


def read_wordnet(path: Path) -> dict[str, tuple[list[str], list[str]]]:
    """WordNet noun synsets by offset: (lemmas with spaces, hypernym offsets, instance hypernyms included)."""
    nodes = {}
    for line in path.read_text(encoding="latin-1").splitlines():
        if line.startswith("  "):  # the licence header
            continue
        head = line.split(" | ")[0].split()
        count = int(head[3], 16)
        lemmas = [head[4 + 2 * i].replace("_", " ") for i in range(count)]
        i = 4 + 2 * count
        pointers = int(head[i])
        parents = [head[i + 2 + 4 * k] for k in range(pointers) if head[i + 1 + 4 * k] in ("@", "@i")]
        nodes[head[0]] = (lemmas, parents)
    return nodes


def ancestors(nodes: dict, offset: str) -> list[str]:
    """The synset's ancestors, nearest first (breadth first over every hypernym path)."""
    out, frontier = [], [offset]
    while frontier:
        nxt = []
        for o in frontier:
            for parent in nodes[o][1]:
                if parent not in out:
                    out.append(parent)
                    nxt.append(parent)
        frontier = nxt
    return out


def kinds(nodes: dict, wnids: list[str], names: list[str], zipf: Callable[[str], float]) -> list[str]:
    """The everyday kind of each class ("" when no ancestor qualifies)."""
    chains = [ancestors(nodes, w.lstrip("n")) for w in wnids]
    leaves: dict[str, int] = {}
    for chain in chains:
        for o in chain:
            leaves[o] = leaves.get(o, 0) + 1
    out = []
    for name, chain in zip(names, chains):
        kind = ""
        for o in chain:
            if leaves[o] > MAX_LEAVES:
                continue
            kind = next((w for w in nodes[o][0] if w.isalpha() and w.lower() not in name.lower()
                         and zipf(w) >= MIN_ZIPF), "")
            if kind:
                break
        out.append(kind)
    return out


def main() -> int:
    import timm
    import wordfreq

    from models.training.build_grounded import KINDS
    from models.training.data.pseudo_photos import class_names

    wnids = (Path(timm.__file__).parent / "data" / "_info" / "imagenet_synsets.txt").read_text().split()
    found = kinds(read_wordnet(WORDNET), wnids, class_names(), lambda w: wordfreq.zipf_frequency(w, "en"))
    KINDS.write_text(json.dumps(found, indent=0) + "\n")
    print(f"{sum(map(bool, found))} of {len(found)} classes have a kind; written to {KINDS}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
