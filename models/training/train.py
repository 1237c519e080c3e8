"""python -m models.training.train: train an image or speech adapter; encoders and the LLM stay frozen.

LLaVA-style: the adapter's soft tokens are spliced into a chat-templated prompt and trained with the LLM's
next-token loss on the answer only. Runs on CPU (small budgets), one GPU (bf16 autocast), or several GPUs with
`torchrun --nproc_per_node N -m models.training.train ...` (DistributedDataParallel over the adapter).
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import math
import os
import random
import time
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.distributed as dist
from tqdm import tqdm

from models.adapters.projector import (SPELLING_ALPHABET, TRANSCRIBE_PROMPT, AdapterConfig, CTCHead, adapter_dir,
                                       build_projector, save_adapter, spellable)
from models.decoders.chat import Media, joined
from models.decoders.llm import LLM
from models.device import choose_placement
from models.flags import add_dataclass_flags, from_flags
from models.weights.catalog import cache_dir, resolve

@dataclass(frozen=True)
class TrainConfig:
    """Everything a run needs; saved beside its checkpoints."""

    modality: str = "image"  # "image" | "speech"
    encoder: str = "efficientnet-lite0"  # vision tower or Whisper name
    llm: str = "smollm2-135m-instruct"
    hidden_dim: int = 1024
    stack: int = 1  # speech: encoder frames per soft token
    ctc: int = 0  # speech: 1 = CTC adapter (one soft token per emitted LLM token; see adapters.CTCProjector)
    objective: str = "llm"  # "llm": next-token loss through the frozen LLM; "ctc": CTC on transcripts (ctc=1)
    spell: int = 0  # speech, objective ctc: 1 = a spelling adapter (CTC over characters; adapters.SpellingProjector)
    recurrent: int = 384  # spell: the width of each direction of its LSTM
    data_seeds: str = ""  # speech: train on the clips of several seeds together ("1,2,3", `utterances` each); "": seed
    init: str = ""  # start from the weights of this adapter directory (same shape), e.g. a CTC-trained one
    steps: int = 300
    batch: int = 8
    lr: float = 1e-3
    warmup: int = 30
    weight_decay: float = 0.0
    seed: int = 0
    scenes: int = 2000  # procedural training scenes (image)
    easy_vqa: int = 4000  # easy-vqa training images (image)
    pseudo_photos: int = 0  # image: pseudo-photo feature maps from the tower's ImageNet classifier (CapDec-style)
    utterances: int = 3000  # synthetic training utterances (speech)
    channels: float = 0.0  # speech: the share of them through a room or a telephone line (speech_data.CHANNELS)
    behaviour: int = 1  # speech: also train "spoken question -> the answer the LLM gives it typed" (1) or not (0)
    checkpoint_every: int = 50
    device: str = "auto"
    out: str = ""  # default: where the engine looks for it (adapters.adapter_dir)


def lr_factor(step: int, cfg: TrainConfig) -> float:
    """Linear warmup, then cosine decay to 10% of the peak."""
    if step < cfg.warmup:
        return (step + 1) / cfg.warmup
    return cosine_decay((step - cfg.warmup) / max(1, cfg.steps - cfg.warmup))


def cosine_decay(progress: float) -> float:
    """1 at progress 0, down half a cosine to 0.1 at progress 1 and after."""
    return 0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * min(1.0, max(0.0, progress))))


def build_batch(llm: LLM, counts: list[int], questions: list[str], answers: list[str]):
    """Token ids (B, L), labels (B, L; -100 outside answers), attention mask and media mask for one batch.

    counts: the number of soft tokens each example's media block has.
    """
    rows = []
    for n, q, a in zip(counts, questions, answers):
        ids, index = llm.prompt_ids([{"role": "user", "content": joined([Media(0), q] if q else [Media(0)])}], [n])
        target = llm.text_ids(a) + [llm.end_of_turn_id]
        rows.append((ids + target, [-100] * len(ids) + target, [i >= 0 for i in index] + [False] * len(target)))
    width = max(len(r[0]) for r in rows)
    pad = llm.pad_id

    def padded(values, fill):
        return torch.tensor([v + [fill] * (width - len(v)) for v in values])

    ids = padded([r[0] for r in rows], pad)
    labels = padded([r[1] for r in rows], -100)
    media = padded([r[2] for r in rows], False)
    attention = padded([[1] * len(r[0]) for r in rows], 0)
    return ids, labels, attention, media


def adapter_loss(llm: LLM, projector: torch.nn.Module, features: list[torch.Tensor], questions,
                 answers) -> torch.Tensor:
    """Next-token loss on the answers, with the adapter's soft tokens spliced into each prompt."""
    device = llm.placement.device
    per_example = [projector(f.to(device).float()[None])[0] for f in features]
    ids, labels, attention, media = (t.to(device) for t in build_batch(llm, [len(s) for s in per_example],
                                                                        questions, answers))
    embeds = llm.embed(ids, media, torch.cat(per_example))  # soft tokens (sum N, H) spliced in: (B, L, H)
    with torch.autocast(device.type, dtype=torch.bfloat16, enabled=device.type == "cuda"):
        return llm.model(inputs_embeds=embeds, attention_mask=attention, labels=labels).loss


def ctc_loss(llm: LLM, projector: CTCHead, features: list[torch.Tensor], texts: list[str]) -> torch.Tensor:
    """CTC between the adapter's per-frame scores and each transcript's units (the LLM's tokens, or characters)."""
    return projector.loss(features, [projector.targets(t, llm.text_ids) for t in texts])


def load_data(cfg: TrainConfig, placement, llm: LLM):
    """(feature bank, examples, encoder name, encoder dim) for the configured modality."""
    if cfg.modality == "image":
        from models.encoders.vision import load_vision
        from models.training.data.image_data import TRAIN_SEED, easy_vqa_examples, mix, scene_examples

        encoder = load_vision(cfg.encoder, resolve(cfg.encoder, "vision").path, placement)
        sources = [scene_examples(encoder, cfg.scenes, TRAIN_SEED, cache_dir() / "features")]
        if cfg.easy_vqa:
            sources.append(easy_vqa_examples(encoder, "train", cache_dir() / "features", cfg.easy_vqa))
        if cfg.pseudo_photos:
            from models.training.data.pseudo_photos import pseudo_photo_examples

            sources.append(pseudo_photo_examples(encoder, cfg.pseudo_photos, cfg.seed))
        bank, examples = mix(sources, cfg.seed)
        return bank, examples, encoder.name, encoder.dim
    if cfg.modality == "speech":
        return _speech_data(cfg, placement, llm)
    raise ValueError(f"modality {cfg.modality!r} is not trainable (image or speech)")


def _speech_data(cfg: TrainConfig, placement, llm: LLM):
    """Alignment (recording -> transcript) and behaviour (spoken question -> the typed answer) examples."""
    from models.encoders.speech import SpeechEncoder, load_whisper
    from models.training.data.example import Example
    from models.training.data.speech_data import encode_utterances, split, training_utterances, typed_answers

    r = resolve(cfg.encoder, "whisper")
    encoder = SpeechEncoder(load_whisper(r.path, placement), r.name)
    features = cache_dir() / "features"
    utts, bank = [], []
    for seed in [int(s) for s in cfg.data_seeds.split(",")] if cfg.data_seeds else [cfg.seed]:
        part = training_utterances(cfg.utterances, split()[2], seed, cfg.channels)
        key = hashlib.sha256(repr(part).encode()).hexdigest()[:16]  # the clips themselves name the cache
        bank += encode_utterances(encoder, part, features / f"speech-{r.name}-{key}", seed)
        utts += part
    # A spelling adapter skips transcripts with digits: how "3" is said is not in the text.
    examples = [Example(i, TRANSCRIBE_PROMPT, u.text) for i, u in enumerate(utts)
                if len(bank[i]) and (not cfg.spell or spellable(u.text))]
    if cfg.behaviour and cfg.objective == "llm":
        typed = typed_answers(llm, [u.text for u in utts], features / f"typed-{llm.name}.json")
        examples += [Example(i, "", typed[u.text]) for i, u in enumerate(utts) if typed[u.text] and len(bank[i])]
    random.Random(cfg.seed).shuffle(examples)
    return bank, examples, encoder.name, encoder.dim


def train(cfg: TrainConfig) -> Path:
    """Run (or resume) training and write the adapter; returns its directory."""
    if cfg.objective not in ("llm", "ctc") or (cfg.objective == "ctc" and not cfg.ctc):
        raise ValueError("objective is 'llm' or 'ctc'; 'ctc' needs --ctc 1")
    if cfg.spell and (cfg.objective != "ctc" or cfg.stack != 1):  # refused before any data is made
        raise ValueError("a spelling adapter (--spell 1) trains with --objective ctc --ctc 1 --stack 1")
    distributed = int(os.environ.get("WORLD_SIZE", "1")) > 1
    rank = 0
    if distributed:
        dist.init_process_group("nccl" if torch.cuda.is_available() else "gloo")
        rank = dist.get_rank()
        if torch.cuda.is_available():
            torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", 0)))
    torch.manual_seed(cfg.seed + rank)
    placement = choose_placement(cfg.device)
    llm = LLM.load(cfg.llm, resolve(cfg.llm, "llm").path, placement)
    bank, examples, enc_name, enc_dim = load_data(cfg, placement, llm)
    acfg = AdapterConfig(cfg.modality, enc_name, llm.name, enc_dim, llm.hidden_size, cfg.hidden_dim, cfg.stack,
                         bool(cfg.ctc), alphabet=SPELLING_ALPHABET if cfg.spell else "",
                         recurrent=cfg.recurrent if cfg.spell else 0)
    projector = build_projector(acfg, llm.model.get_input_embeddings().weight)
    if cfg.init:
        from safetensors.torch import load_file

        projector.load_state_dict(load_file(Path(cfg.init) / "model.safetensors"), strict=True)
    projector = projector.to(placement.device)
    # CTC scores come from projector.ctc_logits, which DDP's forward hooks do not see: average gradients by hand.
    ddp = distributed and cfg.objective == "llm"
    model = torch.nn.parallel.DistributedDataParallel(projector) if ddp else projector
    opt = torch.optim.AdamW(projector.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: lr_factor(s, cfg))
    out = adapter_dir(cfg.modality, cfg.encoder, cfg.llm, cfg.out)
    ckpt = out / "checkpoint.pt"
    start = 0
    if ckpt.exists():
        state = torch.load(ckpt, map_location=placement.device, weights_only=True)
        projector.load_state_dict(state["projector"])
        opt.load_state_dict(state["optimizer"])
        sched.load_state_dict(state["scheduler"])
        start = state["step"]
    rng = random.Random(cfg.seed * 1000 + rank + start)
    bar = tqdm(range(start, cfg.steps), desc=f"training {cfg.modality} adapter", disable=rank != 0,
               initial=start, total=cfg.steps)
    began = time.perf_counter()
    for step in bar:
        batch = rng.sample(examples, cfg.batch)
        feats = [bank[e.feature] for e in batch]
        if cfg.objective == "ctc":
            loss = ctc_loss(llm, projector, feats, [e.answer for e in batch])
        else:
            loss = adapter_loss(llm, model, feats, [e.question for e in batch], [e.answer for e in batch])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        if distributed and not ddp:
            for p in projector.parameters():
                if p.grad is not None:
                    dist.all_reduce(p.grad)
                    p.grad /= dist.get_world_size()
        torch.nn.utils.clip_grad_norm_(projector.parameters(), 1.0)
        opt.step()
        sched.step()
        bar.set_postfix(loss=f"{loss.item():.3f}", lr=f"{sched.get_last_lr()[0]:.2e}")
        if rank == 0 and ((step + 1) % cfg.checkpoint_every == 0 or step + 1 == cfg.steps):
            out.mkdir(parents=True, exist_ok=True)
            torch.save({"projector": projector.state_dict(), "optimizer": opt.state_dict(),
                        "scheduler": sched.state_dict(), "step": step + 1}, ckpt)
    if rank == 0:
        save_adapter(projector.eval(), out)
        (out / "train.json").write_text(__import__("json").dumps(
            {**dataclasses.asdict(cfg), "wall_s": round(time.perf_counter() - began, 1),
             "device": str(placement.device), "final_loss": round(loss.item(), 4)}, indent=2))
    if distributed:
        dist.destroy_process_group()
    return out


def main(argv: list[str] | None = None) -> int:
    """Flags are generated from TrainConfig's fields."""
    parser = argparse.ArgumentParser(prog="python -m models.training.train", description=__doc__.splitlines()[0])
    add_dataclass_flags(parser, TrainConfig)
    print(f"adapter written to {train(from_flags(TrainConfig, parser.parse_args(argv)))}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
