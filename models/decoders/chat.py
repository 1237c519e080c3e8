"""Chat prompts as token ids, for every runtime and without torch: message contents with out-of-band media slots, the
model's own chat template, and the rule that only the template's text may hold control tokens."""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from typing import Callable, Union


@dataclass(frozen=True)
class Media:
    """A media slot in a message's content, marked out of band: block `index`'s soft tokens go here. No string a
    user can type becomes one."""

    index: int


# A message's content: plain text, or text and media slots in order. Every piece of text is data: special-token
# strings inside it ("<|im_end|>", ...) are tokenized as plain characters, never as control tokens.
Content = Union[str, list[Union[str, Media]]]


def joined(chunks: list[str | Media], sep: str = "\n") -> Content:
    """Chunks joined by `sep` as one content: a plain string when there is no media, else text and Media in order."""
    out: list[str | Media] = []
    for i, chunk in enumerate(chunks):
        for piece in ([sep] if i else []) + [chunk]:
            if isinstance(piece, str) and out and isinstance(out[-1], str):
                out[-1] += piece
            else:
                out.append(piece)
    return "".join(out) if all(isinstance(c, str) for c in out) else out


@dataclass(frozen=True)
class Tokenizer:
    """What chat_prompt_ids needs from a runtime's tokenizer."""

    name: str
    render: Callable[[list[dict]], str]  # messages -> the chat template's text, with the generation prompt
    encode_template: Callable[[str], list[int]]  # template text, control tokens parsed
    encode_text: Callable[[str], list[int]]  # user or file text as data: control-token strings stay plain text
    pad_id: int  # fills media slots


def chat_prompt_ids(tok: Tokenizer, messages: list[dict], media_lengths: list[int]) -> tuple[list[int], list[int]]:
    """Chat-template messages and tokenize them, expanding each media slot into its placeholder positions.

    messages: [{"role", "content": Content}]; a Media(i) in a content list is feature block i.
    media_lengths[i]: how many soft tokens feature block i occupies.
    Returns (ids, media_index) where media_index[p] is the block index at position p, or -1 for text.

    Only the chat template's own text is tokenized with its control tokens; each message's content is rendered
    through the template as an unguessable slot and tokenized as plain data. When the last message is the
    assistant's, the prompt ends inside it (nothing after its content), so the model continues that answer.
    """
    nonce = secrets.token_hex(8)
    slots = [{**m, "content": f"\x00{nonce}:{i}\x00"} for i, m in enumerate(messages)]
    pieces = re.split(f"\x00{nonce}:(\\d+)\x00", tok.render(slots))  # template, message index, template, ...
    if sorted(int(p) for p in pieces[1::2]) != list(range(len(messages))):
        raise ValueError(f"{tok.name}: the chat template does not render each message's content exactly once")
    if messages and messages[-1]["role"] == "assistant":
        pieces[-1] = ""  # the end of its turn and the next turn's opening: the answer goes on instead
    ids: list[int] = []
    media_index: list[int] = []
    for i, piece in enumerate(pieces):
        if i % 2 == 0:  # the template's own text, control tokens included
            chunk = tok.encode_template(piece) if piece else []
            ids += chunk
            media_index += [-1] * len(chunk)
            continue
        content = messages[int(piece)]["content"]
        for item in [content] if isinstance(content, str) else content:
            if isinstance(item, Media):
                if not 0 <= item.index < len(media_lengths):
                    raise ValueError(f"prompt names media block {item.index} but only {len(media_lengths)} exist")
                ids += [tok.pad_id] * media_lengths[item.index]
                media_index += [item.index] * media_lengths[item.index]
            else:
                chunk = tok.encode_text(item) if item else []
                ids += chunk
                media_index += [-1] * len(chunk)
    return ids, media_index


def template_renderer(template: str, bos_token: str = "", eos_token: str = "") -> Callable[[list[dict]], str]:
    """A chat template (Jinja, as stored in a GGUF's tokenizer.chat_template) rendered the way transformers does:
    a sandboxed environment with trim_blocks/lstrip_blocks, loop controls, tojson and raise_exception."""
    import json
    from datetime import datetime

    from jinja2.ext import loopcontrols
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    def raise_exception(message):
        raise ValueError(f"chat template: {message}")

    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True, extensions=[loopcontrols])
    env.filters["tojson"] = lambda x, indent=None, **_: json.dumps(x, ensure_ascii=False, indent=indent)
    env.globals["raise_exception"] = raise_exception
    env.globals["strftime_now"] = lambda fmt: datetime.now().strftime(fmt)
    compiled = env.from_string(template)

    def render(messages: list[dict]) -> str:
        return compiled.render(messages=messages, add_generation_prompt=True, bos_token=bos_token,
                               eos_token=eos_token)

    return render


def position_keys(ids: list[int], media_index: list[int], media_keys: list[str]) -> list:
    """One key per prompt position, the same whenever the position's input is: its token id, or (the media block's
    content hash, offset in the block). A runtime keeps the KV cache of the longest prefix of equal keys."""
    offsets: dict[int, int] = {}
    keys: list = []
    for tid, block in zip(ids, media_index):
        if block < 0:
            keys.append(tid)
        else:
            offsets[block] = offsets.get(block, -1) + 1
            keys.append((media_keys[block], offsets[block]))
    return keys


def shared_prefix(cached: list, keys: list) -> int:
    """How many leading positions of `keys` the cache already holds, leaving at least one position to feed (the
    model needs one to produce the next logits)."""
    n, limit = 0, min(len(cached), len(keys) - 1)
    while n < limit and cached[n] == keys[n]:
        n += 1
    return n
