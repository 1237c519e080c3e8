"""Image training/evaluation examples with cached tower features: procedural scenes and easy-vqa."""

from __future__ import annotations

import hashlib
import random
from pathlib import Path

import torch
from PIL import Image
from tqdm import tqdm

from models.encoders.vision import VisionEncoder
from models.training.data.example import Example
from models.training.data.scenes import scene_dataset

TRAIN_SEED, HELD_OUT_SEED = 1, 2  # held-out scenes come from another seed: other layouts, same vocabulary


def encode_images(encoder: VisionEncoder, images: list, cache: Path, batch: int = 32) -> torch.Tensor:
    """(N, T, D) fp16 features for images (PIL or paths), cached on disk under the encoder's name."""
    if cache.exists():
        return torch.load(cache, weights_only=True)
    rows = []
    for i in tqdm(range(0, len(images), batch), desc=f"encoding images with {encoder.name}"):
        chunk = [im if isinstance(im, Image.Image) else Image.open(im) for im in images[i : i + batch]]
        rows.append(encoder.encode(chunk).half().cpu())
    bank = torch.cat(rows)
    cache.parent.mkdir(parents=True, exist_ok=True)
    torch.save(bank, cache)
    return bank


def _key(*parts) -> str:
    return hashlib.sha1(repr(parts).encode()).hexdigest()[:12]


def scene_examples(encoder: VisionEncoder, n: int, seed: int, cache_dir: Path) -> tuple[torch.Tensor, list[Example]]:
    """Procedural scenes: every question of every scene becomes an example."""
    data = scene_dataset(n, seed)
    bank = encode_images(encoder, [s.render() for s, _ in data],
                         cache_dir / f"scenes-{encoder.name.replace(':', '_')}-{_key(n, seed)}.pt")
    examples = [Example(i, q, a) for i, (_, qa) in enumerate(data) for q, a in qa]
    return bank, examples


def easy_vqa_examples(encoder: VisionEncoder, split: str, cache_dir: Path,
                      limit: int | None = None) -> tuple[torch.Tensor, list[Example]]:
    """easy-vqa's questions (split 'train' or 'test'); answers are single words, made into sentences' first word."""
    import easy_vqa

    texts, answers, image_ids = (easy_vqa.get_train_questions() if split == "train" else easy_vqa.get_test_questions())
    paths = easy_vqa.get_train_image_paths() if split == "train" else easy_vqa.get_test_image_paths()
    ids = sorted(paths)[:limit] if limit else sorted(paths)
    row = {image_id: i for i, image_id in enumerate(ids)}
    bank = encode_images(encoder, [paths[i] for i in ids],
                         cache_dir / f"easyvqa-{split}-{encoder.name.replace(':', '_')}-{len(ids)}.pt")
    examples = [Example(row[i], q, a.capitalize() + ".") for q, a, i in zip(texts, answers, image_ids) if i in row]
    return bank, examples


def mix(sources: list[tuple[torch.Tensor, list[Example]]], seed: int = 0) -> tuple[torch.Tensor, list[Example]]:
    """Concatenate feature banks and re-index their examples; shuffled reproducibly."""
    banks, examples, offset = [], [], 0
    for bank, exs in sources:
        banks.append(bank)
        examples += [Example(e.feature + offset, e.question, e.answer) for e in exs]
        offset += bank.shape[0]
    random.Random(seed).shuffle(examples)
    return torch.cat(banks), examples
