"""The decoder LLM on torch: loading, and chat-templated prompts with media placeholders (the one-time GGUF export
to a transformers directory is models.weights.gguf_export)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import torch
from transformers import AutoModelForCausalLM, AutoTokenizer, PreTrainedModel, PreTrainedTokenizerBase

from models.decoders.chat import Tokenizer, chat_prompt_ids
from models.device import Placement


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

    def _known(self, token: str) -> int | None:
        """The id of a token string the vocabulary has (None when it maps to unk)."""
        tid = self.tokenizer.convert_tokens_to_ids(token)
        return tid if isinstance(tid, int) and tid != self.tokenizer.unk_token_id else None

    @property
    def end_of_turn_id(self) -> int:
        """The token that closes a turn in the chat template (ChatML's, Llama 3's), else eos: training ends each
        answer with it, so the model learns to stop where generation stops."""
        return next((t for t in map(self._known, ("<|im_end|>", "<|eot_id|>")) if t is not None),
                    self.tokenizer.eos_token_id)

    @property
    def eos_ids(self) -> set[int]:
        """Token ids that end an answer (eos, the end of turn, and a base model's end of text)."""
        ids = {self.tokenizer.eos_token_id, self.end_of_turn_id, self._known("<|endoftext|>")}
        return {i for i in ids if i is not None}

    @property
    def pad_id(self) -> int:
        """The id that fills media slots and pads batches (the tokenizer's pad, else 0)."""
        return self.tokenizer.pad_token_id if self.tokenizer.pad_token_id is not None else 0

    @cached_property
    def _control(self) -> re.Pattern | None:
        """Every added or special token string of the tokenizer (longest first), as one pattern."""
        names = set(self.tokenizer.get_added_vocab()) | set(self.tokenizer.all_special_tokens)
        names = sorted((n for n in names if n), key=len, reverse=True)
        return re.compile("|".join(map(re.escape, names))) if names else None

    def text_ids(self, text: str) -> list[int]:
        """Token ids for `text` as plain data: a control-token string inside it is split so it cannot match.

        Added tokens are matched before the tokenizer's normal segmentation, so "<|im_end|>" in a user's text would
        otherwise become the real end-of-turn token. Each occurrence is tokenized as its first character and the
        rest, neither of which is a control token (the rest is checked again, recursively).
        """
        ids: list[int] = []
        start = 0
        for match in self._control.finditer(text) if self._control else ():
            ids += self._encode(text[start : match.start()]) + self._encode(match.group()[0])
            ids += self.text_ids(match.group()[1:])
            start = match.end()
        return ids + self._encode(text[start:])

    def _encode(self, text: str) -> list[int]:
        return self.tokenizer.encode(text, add_special_tokens=False) if text else []

    def prompt_ids(self, messages: list[dict], media_lengths: list[int]) -> tuple[list[int], list[int]]:
        """(ids, media_index) of chat-templated messages with media slots expanded (see models.decoders.chat)."""
        return chat_prompt_ids(self.chat_tokenizer, messages, media_lengths)

    @cached_property
    def chat_tokenizer(self) -> Tokenizer:
        """The tokenizer as chat_prompt_ids uses it: the template's text with control tokens, content as data."""
        render = lambda m: self.tokenizer.apply_chat_template(m, tokenize=False, add_generation_prompt=True)  # noqa: E731
        return Tokenizer(self.name, render, self._encode, self.text_ids, self.pad_id)

    @torch.inference_mode()
    def log_likelihoods(self, sequences: list[list[int]], start: int) -> list[float]:
        """For each token sequence, the summed log-probability of its tokens from position `start` on, each given
        those before it (one padded batch)."""
        device = self.placement.device
        width = max(map(len, sequences))
        ids = torch.tensor([s + [self.pad_id] * (width - len(s)) for s in sequences], device=device)
        mask = torch.tensor([[1] * len(s) + [0] * (width - len(s)) for s in sequences], device=device)
        logits = self.model(input_ids=ids, attention_mask=mask).logits[:, :-1].float()  # (B, L - 1, V)
        picked = logits.gather(-1, ids[:, 1:, None])[..., 0] - logits.logsumexp(-1)  # log P(token p + 1 | ..p)
        keep = torch.arange(1, width, device=device)[None] >= start
        return (picked * (keep & mask[:, 1:].bool())).sum(-1).tolist()

    def embed(self, ids, media_mask=None, media: torch.Tensor | None = None) -> torch.Tensor:
        """Input embeddings (B, L, H) of token ids (B, L), with media soft tokens in their placeholder positions.

        media_mask: (B, L) bool, True at placeholder positions (from prompt_ids' media_index >= 0); media: (M, H),
        the soft tokens of every slot in prompt order. The engine, training and evaluation all build their input
        here, so an adapter trains on exactly what it sees at inference.
        """
        device = self.placement.device
        embeds = self.model.get_input_embeddings()(torch.as_tensor(ids, device=device))  # (B, L, H)
        if media is None:
            return embeds
        return splice(embeds, torch.as_tensor(media_mask, device=device), media)


def splice(text_embeds: torch.Tensor, media_mask: torch.Tensor, media: torch.Tensor) -> torch.Tensor:
    """Fill placeholder positions with media embeddings.

    text_embeds: (B, L, H) token embeddings of the prompt; media_mask: (B, L) bool, True at placeholder slots;
    media: (M, H), the soft tokens of every media block in prompt order (M == media_mask.sum()).
    """
    if int(media_mask.sum()) != media.shape[0]:
        raise ValueError(f"{int(media_mask.sum())} placeholder slots but {media.shape[0]} media tokens")
    out = text_embeds.clone()
    out[media_mask] = media.to(out.dtype)
    return out
