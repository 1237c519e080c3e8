"""A remote backend: the same respond() as the Engine, answered by any OpenAI-compatible endpoint (vLLM, this
project's own server, ...). Images and recordings travel as content parts; documents as quoted text."""

from __future__ import annotations

import base64
import io
import re
import threading
import time
from collections.abc import Callable, Iterator

from assistant.conversation import AudioPart, Done, Error, Event, FilePart, ImagePart, Message, Timings, TokenDelta
from assistant.documents import PICTURE
from assistant.media import LRU, UserInputError, digest, load_audio, load_image, read_bytes, to_wav
from assistant.prompt import Rendered, render
from assistant.retrieval import quote_file, quote_picture
from models.decoders.sampling import SamplingOptions
from models.weights.catalog import MissingWeightsError


# Strings that chat templates use as control tokens (ChatML and Llama 3 "<|...|>", DeepSeek's full-width bars,
# Llama 2 / Mistral "[INST]", "<<SYS>>" and "<s>", Gemma's turns). The far end tokenizes what we send with its own
# tokenizer, which would parse these as real tokens; a word joiner after the first character keeps the text as
# it reads but no longer matches any of them.
_CONTROL = re.compile(r"<\|[^|<>\s]{1,64}\|>|<｜[^｜<>\s]{1,64}｜>|\[/?INST\]|<</?SYS>>|</?s>|<(?:start|end)_of_turn>"
                      r"|<(?:bos|eos|pad|unk)>", re.IGNORECASE)
WORD_JOINER = "\u2060"


def plain(text: str) -> str:
    """Text with every control-token string broken by a word joiner, so a remote tokenizer reads it as text."""
    return _CONTROL.sub(lambda m: m.group()[0] + WORD_JOINER + plain(m.group()[1:]), text)


def _image_url(part: ImagePart) -> str:
    data = read_bytes(part.source)
    image = load_image(part.source)  # refuses what the far end could not decode either
    mime = {"PNG": "image/png", "JPEG": "image/jpeg", "GIF": "image/gif", "WEBP": "image/webp"}.get(
        image.format or "", "")
    if not mime:  # re-encode anything else as PNG
        buf = io.BytesIO()
        image.convert("RGB").save(buf, "PNG")
        data, mime = buf.getvalue(), "image/png"
    return f"data:{mime};base64,{base64.b64encode(data).decode()}"


def _audio(part: AudioPart) -> dict:
    data = read_bytes(part.source)
    if data[:4] == b"RIFF" or data[:3] == b"ID3" or data[:2] in (b"\xff\xfb", b"\xff\xf3"):
        fmt = "wav" if data[:4] == b"RIFF" else "mp3"
    else:  # other formats: decode with ffmpeg and send 16 kHz WAV
        data, fmt = to_wav(load_audio(part.source)), "wav"
    return {"type": "input_audio", "input_audio": {"data": base64.b64encode(data).decode(), "format": fmt}}


class OpenAIParts:
    """The render Target for an OpenAI-compatible endpoint: content parts, every text sent plain(). An image goes as
    itself and, when it shows text, as that text read here (lines_of: the image's lines), since a far end may see
    pictures less well than it reads."""

    def __init__(self, lines_of: Callable[[ImagePart], list[str]] | None = None):
        self.lines_of = lines_of

    def text(self, text: str) -> list[dict]:
        """A text part."""
        return [{"type": "text", "text": plain(text)}]

    def image(self, part: ImagePart, question: str, budget: int) -> tuple[list[dict], list[str]]:
        """An image_url part holding the image as a data URL, then its text quoted (when it shows any)."""
        seen = [{"type": "image_url", "image_url": {"url": _image_url(part)}}]
        if self.lines_of is None:
            return seen, []
        text, cited = quote_picture(self.lines_of(part), part.label or PICTURE, question, budget)
        return seen + (self.text(text) if text else []), cited

    def audio(self, part: AudioPart) -> list[dict]:
        """An input_audio part."""
        return [_audio(part)]

    def file(self, part: FilePart, question: str, budget: int) -> tuple[list[dict], list[str]]:
        """The quoted document as a text part (read without the Engine's models)."""
        text, cited = quote_file(part.path, part.label, question, budget)
        return self.text(text), cited

    def content(self, role: str, parts: list[dict]) -> str | list[dict]:
        """Content parts; a message of text only as one string, which every server reads (llama-cpp-python's
        answered a question sent as a text part with an empty reply)."""
        if all(x["type"] == "text" for x in parts):
            return "\n".join(x["text"] for x in parts)
        return parts


def to_openai(conversation: list[Message], system_prompt: str = "", leave_out_unreadable: bool = False,
              lines_of: Callable[[ImagePart], list[str]] | None = None) -> Rendered:
    """The conversation as OpenAI chat messages with content parts, and what they cite (see prompt.render for
    leave_out_unreadable; lines_of reads an image's text)."""
    return render(conversation, system_prompt, OpenAIParts(lines_of), leave_out_unreadable)


class RemoteEngine:
    """respond() over an OpenAI-compatible endpoint; preload() checks that it answers."""

    parallel = 1  # one request at a time, as before: its respond() waits on the network, never on a batched step

    def __init__(self, base_url: str, model: str = "", api_key: str = "", system_prompt: str = "",
                 timeout: float = 120):
        import openai

        self.client = openai.OpenAI(base_url=base_url, api_key=api_key or "none", max_retries=0, timeout=timeout)
        self.base_url, self.model, self.system_prompt = base_url, model, system_prompt
        self._reader = None  # models.encoders.ocr.Reader, made on the first image
        self._lines = LRU(64)  # an image's digest: its lines

    def picture_lines(self, part: ImagePart) -> list[str]:
        """The text an image shows, read here (Tesseract; the last 64 images' lines kept by content)."""
        data = read_bytes(part.source)
        key = digest(data)
        if key not in self._lines:
            if self._reader is None:
                from models.encoders.ocr import Reader

                self._reader = Reader()
            self._lines.put(key, self._reader.read(load_image(data)))
        return self._lines[key]

    def preload(self, speech: bool = False, vision: bool = False) -> None:
        """Ask the endpoint for its models; pick the first if none was configured."""
        import openai

        try:
            models = [m.id for m in self.client.models.list().data]
        except openai.APIError as e:
            raise UserInputError(f"the remote endpoint {self.base_url} did not answer: {e}") from None
        if not self.model:
            if not models:
                raise UserInputError(f"the remote endpoint {self.base_url} lists no models")
            self.model = models[0]

    def model_names(self) -> dict:
        """The remote model, by role."""
        return {"llm": f"remote:{self.model}"}

    def has_adapter(self, modality: str) -> bool:
        """The far end decides what it understands."""
        return True

    def respond(self, conversation: list[Message], options: SamplingOptions = SamplingOptions(),
                voice_mode: str = "cascade", cancel: threading.Event | None = None,
                leave_out_unreadable: bool = False) -> Iterator[Event]:
        """Stream the remote answer as the Engine's events."""
        import openai

        start = time.perf_counter()
        try:
            rendered = to_openai(conversation, self.system_prompt, leave_out_unreadable, self.picture_lines)
            if not self.model:
                self.preload()
            kwargs = {"temperature": options.temperature, "top_p": options.top_p,
                      "max_tokens": options.max_new_tokens}
            if options.stop:
                kwargs["stop"] = list(options.stop)
            if options.seed is not None:
                kwargs["seed"] = options.seed
            stream = self.client.chat.completions.create(model=self.model, messages=rendered.messages, stream=True,
                                                         stream_options={"include_usage": True}, **kwargs)
            answer, first, finish, usage = [], None, "stop", None
            for chunk in stream:
                if cancel is not None and cancel.is_set():
                    stream.close()
                    finish = "cancelled"
                    break
                if chunk.usage is not None:
                    usage = chunk.usage
                for choice in chunk.choices:
                    if choice.delta.content:
                        first = first or time.perf_counter()
                        answer.append(choice.delta.content)
                        yield TokenDelta(choice.delta.content)
                    if choice.finish_reason:
                        finish = choice.finish_reason
            end = time.perf_counter()
            tokens = usage.completion_tokens if usage else len(answer)
            yield Done("".join(answer), finish, Timings(
                ttft_ms=round(((first or end) - start) * 1000, 1), total_ms=round((end - start) * 1000, 1),
                tokens=tokens, prompt_tokens=usage.prompt_tokens if usage else 0,
                tokens_per_s=round((tokens - 1) / (end - first), 1) if first and tokens > 1 and end > first else 0.0,
            ), self.model_names(), tuple(rendered.sources), tuple(rendered.left_out))
        except (UserInputError, MissingWeightsError) as e:
            yield Error(str(e))
        except openai.APIStatusError as e:
            message = (e.body or {}).get("message") if isinstance(e.body, dict) else None
            yield Error(f"the remote endpoint refused the request ({e.status_code}): {message or e}")
        except openai.APIError as e:
            yield Error(f"the remote endpoint {self.base_url} failed: {e}")
