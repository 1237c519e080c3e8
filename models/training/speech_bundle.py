"""python -m models.training.speech_bundle: train a CTC speech adapter on a lent GPU machine from a small carried
bundle.

A CTC speech adapter's cost is its data (synthesis and Whisper encoding), and encoder features are far too big to
carry to a GPU machine (64 MiB a call). So `prepare` (here) writes what a machine with no speech tools, no weights
and no network needs to make the data itself, about 57 MB for 120,000 clips:
- the training utterances (speech_data.training_utterances), each with its transcript as the adapter's units (the
  LLM's token ids, or a spelling adapter's characters), and the held-out evaluation clips models.training.evaluate uses;
- for an adapter over the LLM's tokens, the LLM's input embeddings as the GGUF's own Q8_0 blocks, dequantized there
  to exactly the values used here (a spelling adapter needs none);
- Whisper's encoder in int8 with a float16 scale per 16 weights (its features are within 1.4-3.5% of fp32's);
- the adapter to start from.
`train` (there) synthesizes on every core but two (espeak-ng and sox, which the bundle's caller puts on PATH),
encodes each clip on the GPU as it arrives, and trains on whatever has arrived, logging word error rates on held-out
voices against clips and steps, until its time budget is spent. It writes the adapter (fp16), train.json and the
curve to --out after every evaluation, so a run cut short still returns its last state.
"""

from __future__ import annotations

import argparse
import copy
import dataclasses
import json
import io
import lzma
import os
import random
import shutil
import threading
import time
from multiprocessing import get_context
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import load_file

from models.adapters.config import read_config
from models.adapters.projector import CTCHead, build_projector, save_adapter
from models.training.data.speech_data import (Utterance, _synthesize_or_none, open_vocabulary_split, split,
                                              training_utterances, utterances, word_error_rate, wordnet_sentences)
from models.training.train import cosine_decay

EVAL_CLIPS = 100  # per held-out set, drawn as models.training.evaluate draws its sets (its first 40 are the same clips)


def prepare(bundle: Path, n: int, seed: int, init: Path, llm_name: str, whisper_name: str) -> None:
    """Write the bundle directory (see the module docstring)."""
    from models.decoders.llm import LLM
    from models.device import choose_placement
    from models.encoders.speech import load_whisper
    from models.weights.catalog import resolve

    bundle.mkdir(parents=True, exist_ok=True)
    llm = LLM.load(llm_name, resolve(llm_name, "llm").path, choose_placement("cpu"))
    _, held_sentences, train_voices, held_voices = split()  # the held-out sets models.training.evaluate uses
    espeak = [v for v in train_voices if v.startswith("espeak:")]  # flite is too big to carry
    utts = training_utterances(n, espeak, seed)
    cfg = read_config(init)
    open_test = open_vocabulary_split(wordnet_sentences())[1]
    sets = {"train": utts,
            "held_out": utterances(held_sentences, held_voices, EVAL_CLIPS, seed=99),
            "open_vocabulary": utterances(open_test, held_voices, EVAL_CLIPS, seed=98)}
    vocab = llm.model.get_input_embeddings().weight.detach()
    projector = build_projector(cfg, vocab)  # what its units are (targets)
    ids = {t: projector.targets(t, llm.text_ids) for t in sorted({u.text for us in sets.values() for u in us})}
    rows = {name: [[*dataclasses.astuple(u), ids[u.text]] for u in us] for name, us in sets.items()}
    (bundle / "utterances.json.xz").write_bytes(lzma.compress(json.dumps(rows).encode()))
    if not cfg.alphabet:
        _bundle_vocab(bundle, llm, llm_name, vocab)

    r = resolve(whisper_name, "whisper")
    model = load_whisper(r.path, choose_placement("cpu"))
    buffer = io.BytesIO()
    torch.save({"dims": dataclasses.asdict(model.dims), "encoder": quantize_int8(model.encoder.state_dict())}, buffer)
    (bundle / "encoder_int8.pt.xz").write_bytes(lzma.compress(buffer.getvalue(), preset=9 | lzma.PRESET_EXTREME))
    (bundle / "manifest.json").write_text(json.dumps(
        {"llm": llm.name, "encoder": r.name, "vocab_shape": list(vocab.shape), "init": str(init), "seed": seed,
         "utterances": n, "voices": len(espeak), "distinct_texts": len({u.text for u in utts}),
         "hidden_dim": cfg.hidden_dim, "stack": cfg.stack, "alphabet": cfg.alphabet}, indent=1))
    for name in ("config.json", "model.safetensors"):
        (bundle / f"init-{name}").write_bytes((init / name).read_bytes())


def _bundle_vocab(bundle: Path, llm, llm_name: str, vocab: torch.Tensor) -> None:
    """The LLM's token pieces and its input embeddings as the GGUF's own Q8_0 blocks, checked to dequantize exactly."""
    import gguf

    from models.weights.catalog import resolve_gguf

    pieces = [llm.tokenizer.decode([i]) for i in range(vocab.shape[0])]
    (bundle / "pieces.json.xz").write_bytes(lzma.compress(json.dumps(pieces).encode()))
    tensor = next(t for t in gguf.GGUFReader(resolve_gguf(llm_name)).tensors if t.name == "token_embd.weight")
    if tensor.tensor_type != gguf.GGMLQuantizationType.Q8_0:
        raise SystemExit(f"the bundle carries Q8_0 embeddings; this GGUF's are {tensor.tensor_type.name}")
    blocks = np.asarray(tensor.data, dtype=np.uint8).reshape(-1, 34)
    if not torch.equal(dequantize_q8_0(blocks, tuple(vocab.shape)), vocab.float()):
        raise SystemExit("the GGUF's Q8_0 embeddings do not dequantize to the LLM's embeddings")
    _save_xz(bundle / "vocab_q8_0.npy.xz", blocks)


def dequantize_q8_0(blocks: np.ndarray, shape: tuple[int, int]) -> torch.Tensor:
    """GGML Q8_0 blocks (N, 34 bytes: an fp16 scale d, then 32 int8 q) -> float32 d * q, as gguf-py (and so
    transformers) dequantizes them."""
    d = blocks[:, 0:2].copy().view(np.float16).astype(np.float32)
    q = blocks[:, 2:34].copy().view(np.int8).astype(np.float32)
    return torch.from_numpy((d * q).reshape(shape))


def _save_xz(path: Path, array: np.ndarray) -> None:
    buffer = io.BytesIO()
    np.save(buffer, array)
    path.write_bytes(lzma.compress(buffer.getvalue(), preset=9 | lzma.PRESET_EXTREME))


def _load_xz(path: Path) -> np.ndarray:
    return np.load(io.BytesIO(lzma.decompress(path.read_bytes())))


GROUP = 16  # weights per int8 scale: every matrix row and convolution kernel of Whisper divides into 16s


def quantize_int8(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Matrices and convolutions as int8 with a float16 scale per GROUP consecutive weights ('<name>.scale'); the
    rest as float32. The positional embedding is left out: Whisper rebuilds the same sinusoids itself."""
    out = {}
    for name, w in state.items():
        if name == "positional_embedding":
            continue
        if w.dim() >= 2:
            groups = w.float().reshape(-1, GROUP)
            scale = (groups.abs().amax(dim=1, keepdim=True).clamp(min=1e-12) / 127).half()
            out[name] = torch.round(groups / scale.float()).to(torch.int8).reshape(w.shape)
            out[f"{name}.scale"] = scale
        else:
            out[name] = w.float()
    return out


def dequantize_int8(stored: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """The inverse of quantize_int8 (up to its rounding)."""
    return {name: ((w.float().reshape(-1, GROUP) * stored[f"{name}.scale"].float()).reshape(w.shape)
                   if w.dtype == torch.int8 else w)
            for name, w in stored.items() if not name.endswith(".scale")}


def load_encoder(bundle: Path, device: torch.device):
    """The bundle's Whisper encoder as a models.encoders.speech.SpeechEncoder (the decoder is left untrained and
    unused)."""
    from whisper.model import ModelDimensions, Whisper

    from models.encoders.speech import SpeechEncoder

    stored = torch.load(io.BytesIO(lzma.decompress((bundle / "encoder_int8.pt.xz").read_bytes())), weights_only=True)
    model = Whisper(ModelDimensions(**stored["dims"]))
    state = dequantize_int8(stored["encoder"])
    state["positional_embedding"] = model.encoder.positional_embedding
    model.encoder.load_state_dict(state, strict=True)
    return SpeechEncoder(model.to(device).float().eval().requires_grad_(False),
                         json.loads((bundle / "manifest.json").read_text())["encoder"])


def _rows(bundle: Path) -> dict[str, list[tuple[Utterance, list[int]]]]:
    data = json.loads(lzma.decompress((bundle / "utterances.json.xz").read_bytes()))
    return {name: [(Utterance(*row[:-1]), row[-1]) for row in rows] for name, rows in data.items()}  # units last


def lr_at(step: int, elapsed: float, budget: float, peak: float, warmup: int = 50) -> float:
    """Linear warmup over `warmup` steps, the peak until 60% of the time budget, then cosine down to 10% at its end."""
    if step < warmup:
        return peak * (step + 1) / warmup
    return peak * cosine_decay((elapsed / budget - 0.6) / 0.4)


def train(bundle: Path, out: Path, budget_s: float, batch: int, lr: float, workers: int, min_clips: int,
          eval_every: int, max_reuse: float) -> None:
    """Synthesize, encode and train at once within budget_s seconds; see the module docstring."""
    began = time.perf_counter()
    manifest = json.loads((bundle / "manifest.json").read_text())
    sets = _rows(bundle)
    if shutil.which("flite") is None:  # held-out flite voices are scored where flite is installed
        sets = {name: [(u, ids) for u, ids in rows if not u.voice.startswith("flite:")] for name, rows in sets.items()}
    seed = manifest["seed"]
    # Fork the synthesis workers before CUDA starts in this process.
    pool = get_context("fork").Pool(workers)
    evals = {name: [(u, ids, a) for (u, ids), a in
                    zip(sets[name], pool.map(_synthesize_or_none, [(u, base + i) for i, (u, _) in
                                                                    enumerate(sets[name])]))
                    if a is not None]
             for name, base in (("held_out", 10_000), ("open_vocabulary", 20_000))}
    stream = pool.imap(_synthesize_or_none, [(u, seed + i) for i, (u, _) in enumerate(sets["train"])], chunksize=4)

    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    encoder = load_encoder(bundle, device)
    cfg = read_config(bundle, "init-config.json")
    vocab, pieces = None, []
    if not cfg.alphabet:  # an adapter over the LLM's tokens
        vocab = dequantize_q8_0(_load_xz(bundle / "vocab_q8_0.npy.xz"), tuple(manifest["vocab_shape"])).to(device)
        pieces = json.loads(lzma.decompress((bundle / "pieces.json.xz").read_bytes()))
    projector = build_projector(cfg, vocab)
    projector.load_state_dict(load_file(bundle / "init-model.safetensors"), strict=True)
    projector = projector.to(device).train()
    opt = torch.optim.AdamW(projector.parameters(), lr=lr, weight_decay=0.0)
    eval_feats = {name: [(u.text, encoder.encode(a)[0]) for u, _, a in rows] for name, rows in evals.items()}

    bank: list[tuple[torch.Tensor, list[int]]] = []
    stop = threading.Event()
    failed = [0]

    def encode_stream() -> None:
        for (_, ids), audio in zip(sets["train"], stream):
            if stop.is_set():
                return
            if audio is None:
                failed[0] += 1
                continue
            if not ids:  # no spelling (a digit): not a training example
                continue
            bank.append((encoder.encode(audio)[0].half(), ids))

    feeder = threading.Thread(target=encode_stream, daemon=True)
    feeder.start()
    while len(bank) < min(max(min_clips, batch), len(sets["train"])) and feeder.is_alive():
        time.sleep(1)
    if len(bank) < batch:
        raise SystemExit(f"only {len(bank)} of the clips could be made, fewer than a batch ({failed[0]} failed)")
    curve: list[dict] = []
    rng = random.Random(seed)
    # Kept back for the last evaluation and writing the results.
    budget = budget_s - (time.perf_counter() - began) - min(40.0, budget_s / 10)
    start = time.perf_counter()
    step = 0
    losses: list[float] = []

    def evaluate() -> None:
        projector.eval()
        row = {"step": step, "clips": len(bank), "seconds": round(time.perf_counter() - began),
               "loss": round(sum(losses[-eval_every:]) / max(1, len(losses[-eval_every:])), 4)}
        for name, rows in eval_feats.items():
            heard = [projector.spell(projector.heard_ids(f[None]), lambda ids: "".join(pieces[i] for i in ids))
                     for _, f in rows]
            row[f"{name}_wer"] = (round(sum(word_error_rate(t, h) for (t, _), h in zip(rows, heard)) / len(rows), 4)
                                  if rows else None)  # none of its clips could be made here
        curve.append(row)
        print(json.dumps(row), flush=True)
        run = {"steps": step, "batch": batch, "lr": lr, "budget_s": budget_s, "max_reuse": max_reuse,
               "failed_clips": failed[0], "eval_clips": {k: len(v) for k, v in eval_feats.items()}}
        _write(out, projector, manifest, curve, run)
        projector.train()

    evaluate()
    while (elapsed := time.perf_counter() - start) < budget:
        if step * batch > max_reuse * len(bank) and feeder.is_alive():
            time.sleep(0.05)  # each clip is seen max_reuse times on average: leave the encoder the time
            continue
        for group in opt.param_groups:
            group["lr"] = lr_at(step, elapsed, budget, lr)
        picked = rng.sample(range(len(bank)), batch)
        loss = projector.loss([bank[k][0] for k in picked], [bank[k][1] for k in picked])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(projector.parameters(), 1.0)
        opt.step()
        losses.append(loss.item())
        step += 1
        if step % eval_every == 0:
            evaluate()
    stop.set()
    evaluate()
    pool.terminate()


def _write(out: Path, projector: CTCHead, manifest: dict, curve: list[dict], run: dict) -> None:
    out.mkdir(parents=True, exist_ok=True)
    save_adapter(copy.deepcopy(projector).half(), out / "adapter")  # a token adapter's vocab is never saved
    (out / "adapter" / "train.json").write_text(json.dumps(
        {"objective": "ctc", "bundle": manifest, **run, "device": torch.cuda.get_device_name() if
         torch.cuda.is_available() else "cpu", "stored": "fp16", "curve": curve}, indent=1))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m models.training.speech_bundle",
                                     description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("prepare", help="write the bundle (here)")
    p.add_argument("bundle", type=Path)
    p.add_argument("--utterances", type=int, default=150_000)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--llm", default="smollm2-135m-instruct")
    p.add_argument("--encoder", default="whisper-base")
    p.add_argument("--init", type=Path, help="default: the shipped adapter for --encoder and --llm")
    t = sub.add_parser("train", help="make the data and train (on the GPU machine)")
    t.add_argument("bundle", type=Path)
    t.add_argument("--out", type=Path, required=True)
    t.add_argument("--budget-s", type=float, default=480)
    t.add_argument("--batch", type=int, default=64)
    t.add_argument("--lr", type=float, default=5e-4)
    t.add_argument("--workers", type=int, default=max(1, (os.cpu_count() or 4) - 2))
    t.add_argument("--min-clips", type=int, default=2000, help="clips to have before the first step")
    t.add_argument("--eval-every", type=int, default=500)
    t.add_argument("--max-reuse", type=float, default=3.0,
                   help="train no faster than this many passes over the clips that have arrived")
    args = parser.parse_args(argv)
    if args.command == "prepare":
        from models.adapters.config import adapter_dir

        prepare(args.bundle, args.utterances, args.seed,
                args.init or adapter_dir("speech", args.encoder, args.llm), args.llm, args.encoder)
    else:
        train(args.bundle, args.out, args.budget_s, args.batch, args.lr, args.workers, args.min_clips,
              args.eval_every, args.max_reuse)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
