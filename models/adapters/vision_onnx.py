"""The bundled vision tower and its grounded adapter on onnxruntime: an image question without torch.

Importing torch costs ~1.3 s on a 2-core CPU, more than the rest of a cold image question together. The shipped image
adapters are grounded (models.adapters.grounded): they turn the tower's patch tokens into class probabilities and
flat-shape scores, and those into the LLM's own token ids. That arithmetic, with EfficientNet-Lite0 before it, is
exported once per adapter into the content-keyed weight cache (set-up does it; torch is needed only then) and run here
by onnxruntime (~0.1 s to import). The ids are spelled by the same code torch's path uses
(models.adapters.grounded_spelling).

Only the bundled tower with a grounded adapter without spatial tokens runs here; anything else runs on torch.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from models.adapters.config import AdapterConfig, read_config
from models.adapters.grounded_spelling import UNKNOWN, phrase_ids, seen_shapes, spelled_ids
from models.encoders.tower_input import SIZE, pixels
from models.weights.cache import content_key, convert_once, sha256

TOWER = "efficientnet-lite0"
TARGET = "grounded.onnx"
EXPORT = 1  # bumped when the exported graph changes, so old exports are not reused
TABLES = ("names", "phrases", "colour_words", "shape_words")


def runs_here(vision: str, cfg: AdapterConfig) -> bool:
    """Whether an image adapter for a tower setting can run on onnxruntime (the bundled tower, grounded, no spatial
    tokens)."""
    return vision == TOWER == cfg.encoder and cfg.grounded > 0 and cfg.classes > 0 and not cfg.hidden_dim


def export(tower_weights: Path, adapter: Path, out: Path) -> None:
    """Write the tower and the adapter's heads as one ONNX graph: pixels (1, 3, 224, 224) -> probs (1, C) and, for an
    adapter that sees drawn shapes, shapes (1, colours, shapes + 1) and presence (1, colours). Needs torch."""
    import torch

    from models.adapters.projector import load_adapter
    from models.device import Placement
    from models.encoders.vision import load_efficientnet

    encoder = load_efficientnet(tower_weights, Placement(torch.device("cpu"), torch.float32))
    cfg = read_config(adapter)
    grounded = load_adapter(adapter, encoder.name, cfg.llm, encoder.dim, cfg.out_dim,
                            vocab=torch.zeros(1, cfg.out_dim)).float()

    class Heads(torch.nn.Module):
        def forward(self, x):
            tokens = encoder.tokens_fn(encoder.tower, x)
            probs = grounded.probabilities(tokens)
            if not cfg.shapes:
                return probs
            _, shapes, presence = grounded.shape_logits(tokens)
            return probs, shapes, presence

    names = ["probs"] + (["shapes", "presence"] if cfg.shapes else [])
    with torch.inference_mode():
        torch.onnx.export(Heads().eval(), (torch.zeros(1, 3, SIZE, SIZE),), str(out), dynamo=False,
                          input_names=["pixels"], output_names=names, opset_version=17)


def exported(adapter: Path) -> Path:
    """The ONNX graph of the bundled tower and this adapter, exported once into the weight cache (keyed by the
    tower package's files, the adapter's content and EXPORT), shared by every checkout."""
    from models.weights.catalog import cache_dir, source_files, source_inputs

    inputs = source_inputs(TOWER) + [{"adapter": adapter.name, "sha256": sha256(adapter / "model.safetensors"),
                                      "config": sha256(adapter / "config.json"), "export": EXPORT}]
    key = content_key(inputs, TARGET)
    return convert_once(cache_dir() / f"{TOWER}-onnx", key, inputs, TARGET,
                        lambda out: export(source_files(TOWER)[0], adapter, out))


@dataclass
class OnnxPicture:
    """The tower and a grounded adapter on onnxruntime: an image -> the LLM token ids describing it."""

    cfg: AdapterConfig
    session: object  # onnxruntime.InferenceSession
    tables: dict[str, np.ndarray]

    @property
    def unknown_ids(self) -> list[int]:
        """The ids spelled for a picture the classifier cannot place (an internal phrase, not the picture's content)."""
        return phrase_ids(self.tables, UNKNOWN)

    def spell(self, image: Image.Image) -> list[int]:
        """The LLM token ids a grounded adapter describes one image by (as GroundedProjector.spelled)."""
        out = self.session.run(None, {"pixels": pixels(image)[None]})
        objects = seen_shapes(out[1][0], out[2][0], self.cfg.shapes) if self.cfg.shapes else []
        return spelled_ids(self.tables, out[0][0], objects, self.cfg.grounded, self.cfg.sure, self.cfg.floor)


def load(adapter: Path, cfg: AdapterConfig, threads: int = 0, graph: Path | None = None) -> OnnxPicture:
    """An adapter directory's exported graph (`graph`, else the cache's, exported first if it lacks it) and its id
    tables."""
    import onnxruntime
    from safetensors.numpy import load_file

    options = onnxruntime.SessionOptions()
    if threads:
        options.intra_op_num_threads = threads
    session = onnxruntime.InferenceSession(str(graph or exported(adapter)), options, providers=["CPUExecutionProvider"])
    stored = load_file(adapter / "model.safetensors")
    return OnnxPicture(cfg, session, {n: stored[n] for n in TABLES if n in stored})
