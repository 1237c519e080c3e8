"""Image metrics for `python -m models.training.evaluate --modality image`, through the runtime the assistant uses.

The LLM runs as the Engine runs it (models.decoders.runtime.load_decoder: llama.cpp for a bundled GGUF on a CPU, or
torch), with the same chat template, media slots and greedy sampling. Metrics: easy-vqa test accuracy; colour and shape
on held-out procedural scenes (another seed); the held-out half of the gcompris photographs, "What is in this
picture?", judged by whether the answer names the main object; and the six reserved sample photographs of
scikit-image and matplotlib (reported, never trained or tuned on).
"""

from __future__ import annotations

import dataclasses
import hashlib
import random
import re
from collections import Counter
from pathlib import Path

import torch

from models.decoders.chat import Media, joined, position_keys
from models.decoders.sampling import SamplingOptions

GREEDY = SamplingOptions(temperature=0, max_new_tokens=24, repetition_penalty=1.0)
NAMING_QUESTION = "What is in this picture?"
# Real photographs shipped with scikit-image and matplotlib (reserved: none seen in training or tuning) and words that
# name their main object; an answer names it if it contains one of them.
PHOTOS = {"chelsea": {"cat", "tabby", "kitten"}, "coffee": {"coffee", "espresso", "cup", "mug"},
          "astronaut": {"astronaut", "person", "man", "woman", "spacesuit"},
          "rocket": {"rocket", "missile", "projectile", "shuttle"},
          "motorcycle": {"motorcycle", "motorbike", "moped", "scooter", "bike"},
          "grace_hopper": {"woman", "person", "lady", "officer", "uniform"}}


@dataclasses.dataclass(frozen=True)
class DecoderChoice:
    """What models.decoders.runtime.load_decoder reads from an engine config."""

    llm: str
    runtime: str = "auto"
    device: str = "auto"
    threads: int = 0
    quantize: str = "none"


class Asker:
    """Greedy answers about (T, D) image features from one decoder and adapter, as the assistant builds the prompt."""

    def __init__(self, decoder, projector, max_new_tokens: int = 24):
        self.decoder, self.projector = decoder, projector
        self.options = dataclasses.replace(GREEDY, max_new_tokens=max_new_tokens)

    @torch.inference_mode()
    def __call__(self, features: torch.Tensor, question: str) -> str:
        """The answer to `question` about one image's features."""
        device = next(iter([*self.projector.parameters(), *self.projector.buffers()])).device
        soft = self.projector(features.float()[None].to(device))[0]  # (N, H)
        ids, index = self.decoder.prompt_ids([{"role": "user", "content": joined([Media(0), question])}],
                                             [soft.shape[0]])
        key = hashlib.sha1(soft.float().cpu().numpy().tobytes()).hexdigest()  # the KV cache reuses equal prefixes
        stream = self.decoder.generate(ids, index, position_keys(ids, index, [key]), soft, self.options)
        return "".join(stream).strip()


def first_word_of(text: str, vocabulary: set[str]) -> str | None:
    """The first word of text that belongs to vocabulary (answers are judged by it)."""
    for word in re.findall(r"[a-z]+", text.lower()):
        if word in vocabulary:
            return word
    return None


def score(ask: Asker, bank, examples, vocabularies: list[set[str]], limit: int,
          seed: int = 0) -> tuple[float, list]:
    """Accuracy over up to `limit` examples whose expected answer word is in one of the vocabularies (colours,
    shapes, yes/no): an answer is judged by its first word of the expected word's vocabulary, so "a green circle"
    answers a shape question with "circle"."""
    def vocabulary(answer: str) -> set[str]:
        return next((v for v in vocabularies if first_word_of(answer, v)), set())

    pool = [e for e in examples if vocabulary(e.answer)]
    picked = random.Random(seed).sample(pool, min(limit, len(pool)))
    rows = []
    for e in picked:
        got = ask(bank[e.feature], e.question)
        words = vocabulary(e.answer)
        rows.append((e.question, e.answer, got, first_word_of(got, words) == first_word_of(e.answer, words)))
    return sum(r[3] for r in rows) / max(1, len(rows)), rows


def gcompris_naming(ask: Asker, encoder) -> dict:
    """Every held-out gcompris photograph: share named, per group, and answers that state a wrong name plainly."""
    from PIL import Image

    from models.training.data.gcompris import names, photos

    held = [p for p in photos() if p.held_out]
    rows, groups = [], Counter()
    for p in held:
        said = ask(encoder.encode([Image.open(p.path)])[0], NAMING_QUESTION)
        rows.append({"photo": p.path.name, "group": p.group, "label": p.label, "answer": said,
                     "named": names(said, p), "hedged": _hedged(said)})
        groups[(p.group.split("_")[0] if p.group.startswith("monuments") else p.group, rows[-1]["named"])] += 1
    named = sum(r["named"] for r in rows)
    wrong_plain = sum(not r["named"] and not r["hedged"] for r in rows)
    per_group = {g: f"{groups[(g, True)]}/{groups[(g, True)] + groups[(g, False)]}" for g, _ in sorted(groups)}
    return {"gcompris_named": named / max(1, len(rows)), "gcompris_count": len(rows),
            "gcompris_wrong_stated": wrong_plain / max(1, len(rows)), "gcompris_groups": per_group,
            "gcompris_rows": rows}


def _hedged(answer: str) -> bool:
    """Whether an answer marks itself as a guess or says it cannot tell (not a confident claim)."""
    return bool(re.search(r"\b(possibly|maybe|might|may|could|appears?|seems?|likely|unsure|not sure|cannot|can't|"
                          r"could not|unable|not (be )?identified|unclear|difficult)\b", answer.lower()))


def photo_images() -> dict:
    """The reserved sample photographs as PIL images (those whose package is installed)."""
    from PIL import Image

    out = {}
    try:
        from skimage import data

        for name in ("chelsea", "coffee", "astronaut", "rocket"):
            out[name] = Image.fromarray(getattr(data, name)()).convert("RGB")
        out["motorcycle"] = Image.fromarray(data.stereo_motorcycle()[0]).convert("RGB")
    except ImportError:
        pass
    try:
        from matplotlib import cbook

        with cbook.get_sample_data("grace_hopper.jpg") as f:
            out["grace_hopper"] = Image.open(f).convert("RGB")
    except (ImportError, OSError, ValueError):
        pass
    return out


def photo_answers(ask: Asker, encoder) -> dict:
    """What the adapter says about the reserved sample photos, and whether it names the main object."""
    rows = {}
    for name, img in photo_images().items():
        said = ask(encoder.encode([img])[0], NAMING_QUESTION)
        rows[name] = {"answer": said, "named": bool(set(re.findall(r"[a-z]+", said.lower())) & PHOTOS[name])}
    return rows


def evaluate_image(adapter: Path, encoder_name: str, llm_name: str, limit: int, device: str,
                   runtime: str = "auto", parts: tuple[str, ...] = ("gcompris", "photos", "vqa", "scenes")) -> dict:
    """The image metrics named in `parts` for one adapter, on the runtime the assistant would pick."""
    from models.adapters.patch_words import SHAPE_WORDS
    from models.adapters.projector import load_adapter
    from models.decoders.runtime import load_decoder
    from models.device import choose_placement
    from models.encoders.vision import load_vision
    from models.training.data.image_data import HELD_OUT_SEED, easy_vqa_examples, scene_examples
    from models.training.data.scenes import COLOURS, SHAPES
    from models.weights.catalog import cache_dir, resolve

    placement = choose_placement(device)
    decoder = load_decoder(DecoderChoice(llm_name, runtime, device), lambda: placement)
    encoder = load_vision(encoder_name, resolve(encoder_name, "vision").path, placement)
    # The adapter sits beside the encoder, as in the Engine; llama.cpp takes its rows as fp32 on the CPU itself.
    projector = load_adapter(adapter, encoder.name, decoder.name, encoder.dim, decoder.hidden_size,
                             vocab=decoder.vocab).to(placement.device, placement.dtype)
    ask = Asker(decoder, projector)
    results: dict = {"llm": decoder.name, "runtime": type(decoder).__name__}
    if "gcompris" in parts:
        results.update(gcompris_naming(ask, encoder))
    if "photos" in parts:
        results["photos"] = photo_answers(ask, encoder)
        results["photos_named"] = f"{sum(r['named'] for r in results['photos'].values())}/{len(results['photos'])}"
    features = cache_dir() / "features"
    if "vqa" in parts:
        import easy_vqa

        bank, exs = easy_vqa_examples(encoder, "test", features)
        answers = set(easy_vqa.get_answers())
        kinds = [{"yes", "no"}, answers & set(SHAPE_WORDS)]
        results["easy_vqa_test_accuracy"], results["easy_vqa_rows"] = score(ask, bank, exs,
                                                                            [*kinds, answers - set().union(*kinds)],
                                                                            limit)
    if "scenes" in parts:
        bank, exs = scene_examples(encoder, 300, HELD_OUT_SEED, features)
        for what, words in (("colour", COLOURS), ("shape", SHAPES)):
            qs = [e for e in exs if e.question.startswith("What color" if what == "colour" else "What shape")]
            results[f"scene_{what}_accuracy"], results[f"scene_{what}_rows"] = score(ask, bank, qs, [set(words)],
                                                                                     limit)
    return results
