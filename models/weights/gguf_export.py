"""A bundled GGUF dequantized once into a transformers directory, for the torch runtime and training (imports torch
and transformers only when it runs)."""

from __future__ import annotations

from pathlib import Path


def export_gguf(gguf: Path, out_dir: Path, desc: str = "") -> None:
    """Dequantize a GGUF file once into a transformers directory (safetensors + tokenizer + chat template)."""
    import torch
    from tqdm import tqdm
    from transformers import AutoModelForCausalLM, AutoTokenizer

    with tqdm(total=2, desc=f"{desc}: exporting GGUF to safetensors") as bar:
        tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
        model = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name, dtype=torch.float32)
        bar.update(1)
        model.save_pretrained(out_dir, safe_serialization=True)
        tokenizer.save_pretrained(out_dir)
        bar.update(1)
