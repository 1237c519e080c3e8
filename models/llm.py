"""The decoder LLM: one-time GGUF export, loading, and chat-templated prompts with media placeholders."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import torch
from transformers import AutoModelForCausalLM, AutoTokenizer, PreTrainedModel, PreTrainedTokenizerBase

from models.device import Placement

# A media slot in a chat message's text: "<|media:3|>" is replaced by the 3rd feature block's tokens.
MEDIA_MARK = "<|media:{}|>"
_MEDIA_RE = re.compile(r"<\|media:(\d+)\|>")


def export_gguf(gguf: Path, out_dir: Path, desc: str = "") -> None:
    """Dequantize a GGUF file once into a transformers directory (safetensors + tokenizer + chat template)."""
    from tqdm import tqdm

    with tqdm(total=2, desc=f"{desc}: exporting GGUF to safetensors") as bar:
        tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
        model = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name, dtype=torch.float32)
        bar.update(1)
        model.save_pretrained(out_dir, safe_serialization=True)
        tokenizer.save_pretrained(out_dir)
        bar.update(1)


@dataclass
class LLM:
    """A causal LM with its tokenizer, placed on a device."""

    name: str
    model: PreTrainedModel
    tokenizer: PreTrainedTokenizerBase
    placement: Placement

    @classmethod
    def load(cls, name: str, path: Path | str, placement: Placement, int8: bool = False) -> "LLM":
        """Load from a transformers directory or hub id; the model is frozen and in eval mode.

        int8 (CPU only): dynamic int8 quantization of every Linear. Decoding on a small CPU is bound by memory
        bandwidth, so this is ~2.5x faster, at a visible cost in answer quality for a 135M model.
        """
        tokenizer = AutoTokenizer.from_pretrained(path)
        if tokenizer.chat_template is None:
            raise ValueError(f"{path}: tokenizer has no chat template")
        model = AutoModelForCausalLM.from_pretrained(path, dtype=placement.dtype)
        model.to(placement.device).eval().requires_grad_(False)
        if int8:
            if placement.device.type != "cpu":
                raise ValueError("int8 quantization is for CPU inference; on a GPU the model runs in bf16")
            import warnings

            from torch.ao.quantization import quantize_dynamic

            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # torch.ao's eager quantization warns it is moving to torchao
                model = quantize_dynamic(model, {torch.nn.Linear}, dtype=torch.qint8)
        return cls(name, model, tokenizer, placement)

    @property
    def hidden_size(self) -> int:
        """Width of the token embeddings that adapters must produce."""
        return self.model.get_input_embeddings().embedding_dim

    @property
    def eos_ids(self) -> set[int]:
        """Token ids that end an answer (eos and the chat template's end-of-turn)."""
        ids = {self.tokenizer.eos_token_id}
        for tok in ("<|im_end|>", "<|endoftext|>", "<|eot_id|>"):
            tid = self.tokenizer.convert_tokens_to_ids(tok)
            if isinstance(tid, int) and tid != self.tokenizer.unk_token_id:
                ids.add(tid)
        return {i for i in ids if i is not None}

    def prompt_ids(self, messages: list[dict], media_lengths: list[int]) -> tuple[list[int], list[int]]:
        """Chat-template messages and tokenize them, expanding each media mark into its slot tokens.

        messages: [{"role", "content": str}] where content may hold MEDIA_MARK.format(i).
        media_lengths[i]: how many soft tokens feature block i occupies.
        Returns (ids, media_index) where media_index[p] is the block index at position p, or -1 for text.
        """
        text = self.tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
        pad = self.tokenizer.pad_token_id if self.tokenizer.pad_token_id is not None else 0
        ids: list[int] = []
        media_index: list[int] = []
        pieces = _MEDIA_RE.split(text)  # text, index, text, index, ..., text
        for i, piece in enumerate(pieces):
            if i % 2:
                block = int(piece)
                if block >= len(media_lengths):
                    raise ValueError(f"prompt names media block {block} but only {len(media_lengths)} exist")
                ids += [pad] * media_lengths[block]
                media_index += [block] * media_lengths[block]
            elif piece:
                chunk = self.tokenizer.encode(piece, add_special_tokens=False)
                ids += chunk
                media_index += [-1] * len(chunk)
        return ids, media_index
