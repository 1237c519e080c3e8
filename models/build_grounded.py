"""python -m models.build_grounded: write a grounded image adapter (models.grounded) for an LLM. Nothing is trained:
the names come from the vision tower's ImageNet classifier, the tokens from the LLM's own embeddings; the thresholds
were chosen on the gcompris training split (see docs/EVALUATION.md)."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

from models.adapters import AdapterConfig, Projector, adapter_dir, save_adapter
from models.grounded import build_grounded


@dataclass(frozen=True)
class GroundConfig:
    """What `python -m models.build_grounded` builds: a grounded adapter for one LLM (no gradient training)."""

    llm: str = "qwen2.5-coder-1.5b-instruct"
    runtime: str = "auto"  # the runtime whose tokenizer and embeddings are read ("auto": llama.cpp for a GGUF)
    encoder: str = "efficientnet-lite0"
    k: int = 3  # most class names offered as guesses
    sure: float = 0.5
    floor: float = 0.15
    spatial: str = ""  # a trained adapter directory for the same LLM whose MLP gives spatial tokens after the names
    device: str = "cpu"
    threads: int = 0
    quantize: str = "none"
    out: str = ""  # default: models/trained/image--<encoder>--<llm>/


def build(cfg: GroundConfig) -> Path:
    """Write config.json, model.safetensors and train.json of a grounded adapter; returns its directory."""
    from safetensors.torch import load_file

    from models.data.pseudo_photos import class_names, classifier_rows
    from models.device import choose_placement
    from models.runtime import load_decoder
    from models.vision import load_vision
    from models.weights import resolve

    placement = choose_placement(cfg.device)
    llm = load_decoder(cfg, lambda: placement)
    encoder = load_vision(cfg.encoder, resolve(cfg.encoder, "vision").path, placement)
    rows = classifier_rows(encoder)
    if rows is None:
        raise ValueError(f"{encoder.name} has no classifier head to ground names in (an ImageNet tower is needed)")
    spatial, hidden = None, 0
    if cfg.spatial:
        spatial_cfg = AdapterConfig(**json.loads((Path(cfg.spatial) / "config.json").read_text()))
        spatial = Projector(spatial_cfg)
        spatial.load_state_dict(load_file(Path(cfg.spatial) / "model.safetensors"), strict=True)
        hidden = spatial_cfg.hidden_dim
    acfg = AdapterConfig("image", encoder.name, llm.name, encoder.dim, llm.hidden_size, hidden, grounded=cfg.k,
                         sure=cfg.sure, floor=cfg.floor)
    vocab = llm.vocab()
    proj = build_grounded(acfg, vocab, rows, encoder.tower._fc.bias.detach().float().cpu(),
                          lambda text: llm.tokenize(text, False), class_names(), spatial)
    out = adapter_dir("image", encoder.name, llm.name, cfg.out)
    save_adapter(proj, out)
    (out / "train.json").write_text(json.dumps({**asdict(cfg), "training": "none: the names come from the tower's "
                                                "ImageNet classifier, the tokens from the LLM's own embeddings"},
                                               indent=2))
    return out


def main(argv: list[str] | None = None) -> int:
    """Flags are generated from GroundConfig's fields."""
    import argparse

    from models.flags import add_dataclass_flags, from_flags

    parser = argparse.ArgumentParser(prog="python -m models.build_grounded", description=__doc__.splitlines()[0])
    add_dataclass_flags(parser, GroundConfig)
    print(f"adapter written to {build(from_flags(GroundConfig, parser.parse_args(argv)))}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
