"""python -m models.evaluate: score a trained image adapter on held-out data and write docs/EVALUATION.md rows.

Image metrics: easy-vqa test accuracy, colour and shape accuracy on held-out procedural scenes (another seed), and
the answers for the sample photos shipped with scikit-image. Answers are generated greedily, exactly as the
assistant would, and scored by the first answer-vocabulary word they contain.
"""

from __future__ import annotations

import argparse
import json
import platform
import random
import re
import time
from pathlib import Path

import torch
from transformers import DynamicCache

from models.adapters import Projector, load_adapter, splice
from models.data.scenes import COLOURS, SHAPES
from models.device import choose_placement
from models.generation import SamplingOptions, TokenStream
from models.llm import LLM, MEDIA_MARK
from models.weights import cache_dir, resolve

GREEDY = SamplingOptions(temperature=0, max_new_tokens=24, repetition_penalty=1.0)
PHOTOS = ("chelsea", "coffee", "astronaut", "rocket")


def answer(llm: LLM, projector: Projector, features: torch.Tensor, question: str) -> str:
    """Greedy answer to a question about (T, D) features, through the same prompt shape as the assistant."""
    soft = projector(features.float()[None].to(llm.placement.device))[0]  # (N, H)
    ids, index = llm.prompt_ids([{"role": "user", "content": f"{MEDIA_MARK.format(0)}\n{question}"}], [soft.shape[0]])
    embeds = llm.model.get_input_embeddings()(torch.tensor([ids], device=llm.placement.device))
    embeds = splice(embeds, torch.tensor([index], device=embeds.device) >= 0, soft)
    stream = TokenStream(llm.model, embeds, DynamicCache(), GREEDY, llm.eos_ids,
                         lambda t: llm.tokenizer.decode(t, skip_special_tokens=True))
    return "".join(stream).strip()


def first_word_of(text: str, vocabulary: set[str]) -> str | None:
    """The first word of text that belongs to vocabulary (answers are judged by it)."""
    for word in re.findall(r"[a-z]+", text.lower()):
        if word in vocabulary:
            return word
    return None


def score(llm, projector, bank, examples, vocabulary: set[str], limit: int, seed: int = 0) -> tuple[float, list]:
    """Accuracy over up to `limit` examples whose expected answer word is in vocabulary."""
    pool = [e for e in examples if first_word_of(e.answer, vocabulary)]
    picked = random.Random(seed).sample(pool, min(limit, len(pool)))
    rows = []
    for e in picked:
        got = answer(llm, projector, bank[e.feature], e.question)
        rows.append((e.question, e.answer, got, first_word_of(got, vocabulary) == first_word_of(e.answer, vocabulary)))
    return sum(r[3] for r in rows) / max(1, len(rows)), rows


def evaluate_image(adapter: Path, encoder_name: str, llm_name: str, limit: int, device: str) -> dict:
    """All image metrics for one adapter."""
    from models.data.image_data import HELD_OUT_SEED, easy_vqa_examples, scene_examples
    from models.vision import load_vision

    placement = choose_placement(device)
    llm = LLM.load(llm_name, resolve(llm_name, "llm").path, placement)
    encoder = load_vision(encoder_name, resolve(encoder_name, "vision").path, placement)
    projector = load_adapter(adapter, encoder.name, llm.name, encoder.dim, llm.hidden_size).to(placement.device)
    features = cache_dir() / "features"
    results: dict = {}
    import easy_vqa

    vqa_vocab = set(easy_vqa.get_answers())
    bank, exs = easy_vqa_examples(encoder, "test", features)
    results["easy_vqa_test_accuracy"], results["easy_vqa_rows"] = score(llm, projector, bank, exs, vqa_vocab, limit)
    bank, exs = scene_examples(encoder, 300, HELD_OUT_SEED, features)
    colour_qs = [e for e in exs if e.question.startswith("What color")]
    shape_qs = [e for e in exs if e.question.startswith("What shape")]
    results["scene_colour_accuracy"], results["scene_colour_rows"] = score(llm, projector, bank, colour_qs,
                                                                           set(COLOURS), limit)
    results["scene_shape_accuracy"], results["scene_shape_rows"] = score(llm, projector, bank, shape_qs,
                                                                         set(SHAPES), limit)
    results["photos"] = photo_answers(llm, projector, encoder)
    return results


def photo_answers(llm, projector, encoder) -> dict[str, str]:
    """What the adapter says about scikit-image's sample photos (real photographs, none seen in training)."""
    try:
        from skimage import data
    except ImportError:
        return {}
    from PIL import Image

    out = {}
    for name in PHOTOS:
        img = Image.fromarray(getattr(data, name)()).convert("RGB")
        out[name] = answer(llm, projector, encoder.encode([img])[0], "What is in this picture?")
    return out


def main(argv: list[str] | None = None) -> int:
    """Evaluate and print a JSON summary (and the table rows for docs/EVALUATION.md)."""
    parser = argparse.ArgumentParser(prog="python -m models.evaluate")
    parser.add_argument("--modality", choices=("image",), default="image")
    parser.add_argument("--encoder", default="efficientnet-lite0")
    parser.add_argument("--llm", default="smollm2-135m-instruct")
    parser.add_argument("--adapter", type=Path)
    parser.add_argument("--limit", type=int, default=200, help="questions per metric")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--json", type=Path, help="also write the full results (with every answer) here")
    args = parser.parse_args(argv)
    from models.train import TRAINED_ROOT

    adapter = args.adapter or TRAINED_ROOT / f"{args.modality}--{args.encoder}--{args.llm}"
    start = time.perf_counter()
    results = evaluate_image(adapter, args.encoder, args.llm, args.limit, args.device)
    results["wall_s"] = round(time.perf_counter() - start, 1)
    results["hardware"] = platform.machine() + (", cuda" if torch.cuda.is_available() else ", cpu")
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))
    summary = {k: v for k, v in results.items() if not k.endswith("_rows")}
    print(json.dumps(summary, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
