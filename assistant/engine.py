"""The Engine: one respond() path from a conversation to streamed events, used by every front end."""

from __future__ import annotations

import logging
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import closing, suppress
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterator

from assistant.conversation import (AudioPart, Backend, Done, Error, ErrorKind, Event, FilePart, ImagePart, Message,
                                    TextPart, Timings, TokenDelta, Transcript)
from assistant.media import LRU, SAMPLE_RATE, UserInputError, digest, load_audio, load_image, read_bytes
from assistant.prompt import BuiltPrompt, MediaBlock, as_picture, build_prompt, is_empty, is_picture
from assistant.speech_out import Sentences
from models.adapters.config import TRANSCRIBE_PROMPT, AdapterMismatchError, adapter_dir, read_config
from models.decoders.chat import position_keys
from models.decoders.runtime import RUNTIMES, Decoder, llm_name, load_decoder
from models.decoders.sampling import Pending, SamplingOptions, unstepped
from models.device import DEVICES, Placement, choose_placement
from models.encoders.ocr import ENGINES as OCR_ENGINES
from models.weights import native_libs
from models.weights.catalog import DEFAULTS, TIERS, MissingWeightsError, canonical, resolve

if TYPE_CHECKING:  # imported where first loaded: a text question on llama.cpp imports no torch, whisper or vision
    import numpy as np
    import torch

    from assistant.documents import Document, Table
    from assistant.table_query import Database as TableDatabase
    from models.adapters.projector import Projector
    from models.adapters.vision_onnx import OnnxPicture
    from models.encoders.ocr import Reader
    from models.encoders.speech import SpeechEncoder, Transcriber
    from models.encoders.vision import VisionEncoder

log = logging.getLogger(__name__)
QUANTIZE = ("none", "int8")


@dataclass(frozen=True)
class Ahead:
    """A rehearsal's answer so far: for the request that asks the same prompt of the same model, sampled the same
    way, next (a sample drawn a moment early is as good a sample)."""

    llm: str
    keys: list
    options: SamplingOptions
    tokens: list[int]
    text: str
    finished: bool  # it ended on its own: the whole answer

    def serves(self, llm: str, keys: list, options: SamplingOptions) -> bool:
        """Whether this answers that request."""
        return (llm, keys) == (self.llm, self.keys) and options.max_new_tokens > len(self.tokens) and \
            replace(options, max_new_tokens=1) == replace(self.options, max_new_tokens=1, ahead=False)


@dataclass(frozen=True)
class EngineConfig:
    """Which models to run and where. Adapters default to models/trained/<modality>--<encoder>--<llm>/."""

    llm: str = DEFAULTS["llm"]
    whisper: str = DEFAULTS["whisper"]
    vision: str = DEFAULTS["vision"]
    image_adapter: str = ""
    speech_adapter: str = ""
    device: str = "auto"
    # "llama.cpp" runs a GGUF as shipped on the CPU; "torch" runs transformers weights (GPU, training, hub models);
    # "auto" picks llama.cpp for a GGUF unless a CUDA GPU is there to use.
    runtime: str = "auto"
    # "int8": dynamic int8 Linear weights on CPU for the LLM and Whisper's decoder (faster, weaker answers, and
    # words that may differ between CPUs); "none" gives the same transcript on any x86-64 CPU.
    quantize: str = "none"
    ocr: str = "tesseract"  # the engine that reads the text in images (models.encoders.ocr.ENGINES)
    system_prompt: str = ""
    threads: int = 0  # CPU threads for torch and llama.cpp; 0: torch's default, and every core for llama.cpp
    # Answers llama.cpp decodes together (a slot each; the API's requests past it wait their turn). The window's
    # question gets a slot beyond these, so it never waits behind the API's. Each slot past the first adds
    # SLOT_CONTEXT cells to the KV cache (the 1.5B: ~56 MB a slot). See README, "Serving many at once".
    parallel: int = 4
    max_file_mb: int = 20  # documents over this are refused
    max_pdf_pages: int = 300
    remote_url: str = ""  # an OpenAI-compatible endpoint (e.g. vLLM): answers come from there instead
    remote_model: str = ""  # its model id ("" = the first it lists)
    remote_key: str = ""

    def __post_init__(self):
        # Checked once when the options are made, so every front end refuses bad values before loading anything.
        if self.device not in DEVICES:
            raise ValueError(f"device must be one of {', '.join(DEVICES)}, not {self.device!r}")
        if self.runtime not in RUNTIMES:
            raise ValueError(f"runtime must be one of {', '.join(RUNTIMES)}, not {self.runtime!r}")
        if self.ocr not in OCR_ENGINES:
            raise ValueError(f"ocr must be one of {', '.join(OCR_ENGINES)}, not {self.ocr!r}")
        if self.quantize not in QUANTIZE:
            raise ValueError(f"quantize must be one of {', '.join(QUANTIZE)}, not {self.quantize!r}")
        if not 0 <= self.threads <= 4096:  # torch's int32 thread count; more than any machine has
            raise ValueError(f"threads must be 0 (torch's default) to 4096, not {self.threads}")
        if not 1 <= self.parallel <= 64:
            raise ValueError(f"parallel must be 1 to 64, not {self.parallel}")
        if self.max_file_mb < 1 or self.max_pdf_pages < 1:
            raise ValueError(f"max_file_mb and max_pdf_pages must be at least 1, not {self.max_file_mb} "
                             f"and {self.max_pdf_pages}")


def create_engine(config: EngineConfig = EngineConfig(), progress: Callable[[str], None] | None = None) -> Backend:
    """The local Engine, or a RemoteEngine when config.remote_url is set; both answer respond() the same way."""
    if config.remote_url:
        from assistant.remote import RemoteEngine

        return RemoteEngine(config.remote_url, config.remote_model, config.remote_key, config.system_prompt)
    return Engine(config, progress)


def _windows(audio: np.ndarray, seconds: int = 30) -> list[np.ndarray]:
    """A recording in the windows Whisper's encoder takes (30 s), leaving out a last one under 0.1 s."""
    size = seconds * SAMPLE_RATE
    return [audio[i : i + size] for i in range(0, len(audio), size) if len(audio[i : i + size]) >= SAMPLE_RATE // 10]


def _spell_media(ids: list[int], media_index: list[int], media: list[MediaBlock]):
    """Media slots whose soft tokens are exactly LLM tokens become those tokens: one prompt batch instead of three
    (each llama.cpp batch reads every weight once, ~0.1 s for the 1.5B on 2 cores). The rest keep their soft tokens,
    renumbered."""
    if not any(b.ids is not None for b in media):
        return ids, media_index, media
    kept = [i for i, b in enumerate(media) if b.ids is None]
    renumber = {old: new for new, old in enumerate(kept)}
    ids, index, seen = list(ids), list(media_index), [0] * len(media)
    for p, b in enumerate(media_index):
        if b >= 0 and media[b].ids is not None:
            ids[p], index[p] = media[b].ids[seen[b]], -1
            seen[b] += 1
        elif b >= 0:
            index[p] = renumber[b]
    return ids, index, [media[i] for i in kept]


class Engine:
    """Owns the models. respond() is not reentrant: front ends call it from one worker thread."""

    def __init__(self, config: EngineConfig = EngineConfig(), progress: Callable[[str], None] | None = None):
        self.config = config
        self.progress = progress or (lambda msg: None)
        self._placement: Placement | None = None
        self.load_seconds: dict[str, float] = {}
        self._decoders: dict[str, Decoder] = {}  # LLM setting -> loaded decoder
        self._reader: Decoder | None = None  # the LLM answering the current question (see reader_for)
        self._speech: SpeechEncoder | None = None
        self._transcriber: Transcriber | None = None
        self._vision: VisionEncoder | None = None
        self._adapters: dict[str, Projector] = {}
        self._pictures: dict[str, OnnxPicture | None] = {}  # LLM name -> tower and adapter on onnxruntime, or None
        self._media = LRU(64)  # content hash -> soft tokens / transcript
        self._ahead: Ahead | None = None  # the last rehearsal's answer so far (SamplingOptions.ahead)
        self._documents = LRU(16)  # content hash -> Document
        self._table_db: tuple[list[Table], TableDatabase] | None = None  # the last tables and their SQLite copy
        self._embeddings = LRU(4096)  # chunk text hash -> embedding
        self._embedder = None
        self._ocr = None
        self._reading: dict[str, Future] = {}  # picture text being read while its image is encoded (by text key)
        self._read_ahead = ThreadPoolExecutor(1, thread_name_prefix="read-ahead")  # its thread starts on first use

    # ---- lazily loaded models -------------------------------------------------------------------------
    def _timed(self, role: str, loader: Callable):
        from models.weights.cache import converting

        self.progress(f"loading {role} model")
        start = time.perf_counter()
        token = converting.set(lambda name: self.progress(f"preparing {name}"))  # a first run converts, once
        try:
            value = loader()
        finally:
            converting.reset(token)
        self.load_seconds[role] = time.perf_counter() - start
        return value

    @property
    def placement(self) -> Placement:
        """Where the torch models run (chosen on first use: a text question on llama.cpp never imports torch)."""
        if self._placement is None:
            if self.config.threads:
                import torch

                torch.set_num_threads(self.config.threads)
            self._placement = choose_placement(self.config.device)
        return self._placement

    @property
    def parallel(self) -> int:
        """How many answers it decodes together (the llama.cpp runtime's slots, less the window's own)."""
        return self.config.parallel

    @property
    def llm(self) -> Decoder:
        """The configured decoder LLM on its runtime (loaded on first use)."""
        return self._decoder(self.config.llm)

    def _decoder(self, name: str) -> Decoder:
        if name not in self._decoders:
            config = replace(self.config, llm=name)
            self._decoders[name] = self._timed("llm", lambda: load_decoder(config, lambda: self.placement))
        return self._decoders[name]

    def reader_for(self, conversation: list[Message], native_voice: bool) -> Decoder:
        """The LLM that answers: the configured one, unless the conversation holds media (an image, native voice)
        it has no trained adapter for while the fast tier has one. Adapters are trained per LLM; until the default
        tier has its own, its media questions go to the fast tier rather than failing. Native voice needs no adapter
        of its own where the fast tier's is a CTC adapter: what that one hears is handed over as text (see
        speech_tokens)."""
        needs = {"image" for m in conversation for p in m.parts if is_picture(p)}
        if native_voice and any(isinstance(p, AudioPart) for m in conversation for p in m.parts) and not (
                self._installed("speech", self.config.llm) or self._speech_spells()):
            needs.add("speech")
        fast = TIERS["fast"]
        if all(self._installed(m, self.config.llm) for m in needs) or not all(self._installed(m, fast) for m in needs):
            return self.llm
        return self._decoder(fast)

    def _speech_spells(self, llm: str | None = None) -> bool:
        """Whether the speech adapter into an LLM setting (the fast tier's by default) is a CTC adapter, whose hearing
        any LLM can be handed as text."""
        try:
            return read_config(self._adapter_config("speech", llm or TIERS["fast"]).parent).ctc
        except (OSError, ValueError, TypeError):
            return False

    @property
    def speech(self) -> SpeechEncoder:
        """The frozen Whisper model and encoder wrapper (loaded on first use)."""
        if self._speech is None:
            def load():
                # whisper is imported only when audio needs it
                from models.encoders.speech import SpeechEncoder, load_whisper

                r = resolve(self.config.whisper, "whisper")
                return SpeechEncoder(load_whisper(r.path, self.placement), r.name)
            self._speech = self._timed("whisper", load)
        return self._speech

    @property
    def transcriber(self) -> Transcriber:
        """Whisper's own decoding rules; fp32 unless config.quantize is "int8" on CPU (see Transcriber)."""
        if self._transcriber is None:
            from models.encoders.speech import Transcriber  # whisper is imported only when audio needs it

            int8 = self.config.quantize == "int8" and self.placement.device.type == "cpu"
            self._transcriber = Transcriber(self.speech, int8=int8)
        return self._transcriber

    @property
    def vision(self) -> VisionEncoder:
        """The frozen vision tower (loaded on first use)."""
        if self._vision is None:
            def load():
                # the vision towers are imported only when an image needs them
                from models.encoders.vision import load_vision

                r = resolve(self.config.vision, "vision")
                return load_vision(self.config.vision, r.path, self.placement)
            self._vision = self._timed("vision", load)
        return self._vision

    def adapter(self, modality: str, llm: Decoder | None = None) -> Projector:
        """The trained projector for image or speech into the answering LLM (or `llm`), refused with a clear message
        if missing or mismatched."""
        llm = llm or self._reader or self.llm
        if (modality, llm.name) not in self._adapters:
            encoder = self.vision if modality == "image" else self.speech
            override = self.config.image_adapter if modality == "image" else self.config.speech_adapter
            directory = adapter_dir(modality, encoder.name, llm.name, override)
            if not (directory / "config.json").exists():
                what = "image questions need an image" if modality == "image" else "native voice needs a speech"
                hint = "" if modality == "image" else "; use --voice-mode cascade"
                raise UserInputError(f"{what} adapter for {encoder.name} -> {llm.name}; "
                                     f"none is installed at {directory}{hint}")
            from models.adapters.projector import load_adapter

            proj = load_adapter(directory, encoder.name, llm.name, encoder.dim, llm.hidden_size, vocab=llm.vocab)
            self._adapters[(modality, llm.name)] = proj.to(self.placement.device, self.placement.dtype)
        return self._adapters[(modality, llm.name)]

    def picture(self, llm: Decoder | None = None) -> OnnxPicture | None:
        """The vision tower and the image adapter into `llm` (the answering one) on onnxruntime, where they can run
        there (the bundled tower with a grounded adapter: models.adapters.vision_onnx), so an image question imports no
        torch; else None (torch's tower and adapter answer)."""
        llm = llm or self._reader or self.llm
        if llm.name not in self._pictures:
            self._pictures[llm.name] = None
            path = self._adapter_config("image", llm.name)
            try:
                cfg = read_config(path.parent)
            except (OSError, ValueError, TypeError):
                return None  # none or broken: adapter() says so clearly
            from models.adapters import vision_onnx

            if (vision_onnx.runs_here(canonical(self.config.vision), cfg) and cfg.llm == llm.name
                    and cfg.out_dim == llm.hidden_size):
                try:
                    self._pictures[llm.name] = self._timed(
                        "vision", lambda: vision_onnx.load(path.parent, cfg, self.config.threads))
                except Exception as e:  # noqa: BLE001 - the export or onnxruntime failed: torch's path still answers
                    log.warning("the vision tower on onnxruntime is unavailable (%s); torch runs it", e)
        return self._pictures[llm.name]

    def has_adapter(self, modality: str) -> bool:
        """Whether this engine can read the modality natively: an adapter into the configured LLM, or into the fast
        tier it falls back to, is installed (does not load encoders)."""
        return self._installed(modality, self.config.llm) or self._installed(modality, TIERS["fast"])

    def _installed(self, modality: str, llm: str) -> bool:
        return self._adapter_config(modality, llm).exists()

    def _adapter_config(self, modality: str, llm: str) -> Path:
        """The config.json of the adapter for a modality into an LLM setting, both named as adapters are keyed
        (a local model by its file name), without loading either."""
        encoder = self.config.vision if modality == "image" else self.config.whisper
        override = self.config.image_adapter if modality == "image" else self.config.speech_adapter
        return adapter_dir(modality, llm_name(encoder), llm_name(llm), override) / "config.json"

    def preload(self, speech: bool = False, vision: bool = False) -> None:
        """Load models now (front ends call this at start-up) instead of on the first question that needs them."""
        self.llm
        torch_vision = vision and self.picture(self.llm) is None
        if speech or torch_vision:  # their libraries load with the GIL released: a window's event loop keeps running
            native_libs.preload("torch")
        if speech:
            native_libs.preload("whisper")
            self.transcriber
        if torch_vision:
            self.vision
        if vision:
            self._timed("OCR", lambda: self.reader.engine)  # Tesseract's worker starts, loads as the user types

    def reset_cache(self) -> None:
        """Forget the cached prompt prefix and media encodings (the next answer starts cold)."""
        for decoder in self._decoders.values():
            decoder.reset()
        self._media.clear()
        self._reading.clear()

    # ---- media ----------------------------------------------------------------------------------------
    def _cached(self, key: str, compute: Callable):
        if key not in self._media:
            self._media.put(key, compute())
        return self._media[key]

    def image_tokens(self, part: ImagePart) -> MediaBlock:
        """Soft tokens (N, H) for an image."""
        data = read_bytes(part.source)
        key = f"img:{(self._reader or self.llm).name}:{digest(data)}"  # soft tokens differ per adapter
        def compute():
            image = load_image(part.source)  # bad input is reported before a missing adapter
            self._start_reading(data)
            picture = self.picture()
            if picture is not None:
                ids = picture.spell(image)
                return None, ids, ids != picture.unknown_ids
            adapter, features = self.adapter("image"), self.vision.encode([image])
            ids = adapter.spelled(features)
            if ids is None:
                return adapter(features)[0], None, True
            return None, ids, ids != adapter.unknown_ids  # only a grounded adapter spells ids
        return MediaBlock(key, *self._cached(key, compute))

    def speech_tokens(self, part: AudioPart) -> MediaBlock:
        """A recording through the speech adapter: what a CTC adapter heard, as the answering LLM's tokens; another
        adapter's soft tokens (N, H)."""
        data = read_bytes(part.source)
        key = f"wav:{(self._reader or self.llm).name}:{digest(data)}"
        def compute():
            # Whisper's encoder hears 30 s at most: a longer recording is heard window by window, as cascade does.
            features = [self.speech.encode(w) for w in _windows(load_audio(part.source))]  # each (1, T, D)
            llm = self._reader or self.llm
            if self._installed("speech", llm.name) and not self._speech_spells(llm.name):
                import torch

                return torch.cat([self.adapter("speech")(f)[0] for f in features]), None
            # A CTC adapter (this LLM's, else the fast tier's) hears the words as characters (the shipped one) or its
            # LLM's tokens; that LLM picks among the transcripts its beam allows (models.adapters.ctc_decode), and the
            # text reaches the answering LLM as its own tokens. Only the adapter's head and a rescoring pass run.
            owner = llm if self._installed("speech", llm.name) else self._decoder(TIERS["fast"])
            adapter = self.adapter("speech", owner)
            heard = " ".join(filter(None, (adapter.hear(f, owner) for f in features)))
            return None, llm.tokenize(heard or "...", special=False)
        return MediaBlock(key, *self._cached(key, compute))

    def _heard_natively(self, part: AudioPart) -> str | None:
        """The text native voice handed the LLM for a recording (a CTC adapter's hearing; the block is cached by the
        prompt just built), or None where it got soft tokens."""
        block = self.speech_tokens(part)
        return (self._reader or self.llm).detokenize(block.ids) if block.ids is not None else None

    def transcribe_audio(self, source) -> str:
        """Whisper transcription of a recording (cached by content), 30 s windows for long audio."""
        data = read_bytes(source)
        def compute():
            return " ".join(t for t in map(self.transcriber, _windows(load_audio(source))) if t).strip()
        return self._cached("txt:" + digest(data), compute)

    # ---- documents ------------------------------------------------------------------------------------
    def document(self, part: FilePart, question: str, budget: int) -> tuple[str, list[str]]:
        """A dropped file as quoted prompt text fitted to `budget` characters, and the parts it cites."""
        from assistant.retrieval import fit

        return fit(self._read(part), question, budget, self.embed)

    def _read(self, part: FilePart) -> Document:
        from assistant.documents import Limits, read

        data = read_bytes(part.path)
        size = self.config.max_file_mb * 1024 * 1024
        limits = Limits(max_bytes=size, max_pages=self.config.max_pdf_pages, max_chars=size)
        key = f"doc:{digest(data)}:{part.label}:{limits}"
        doc = self._documents.get(key)
        if doc is None:
            doc = read(part.path, limits, ocr=self.ocr, transcribe=self.transcribe_audio, data=data, name=part.label)
            self._documents.put(key, doc)
        return doc

    def tables(self, conversation: list[Message], pictures: bool = True) -> list[Table]:
        """The tables attached anywhere in the conversation: files' and, with `pictures`, those a picture shows (a
        receipt, a pasted sheet: documents.picture_tables); an unreadable one is left out, as the prompt leaves it."""
        from assistant.documents import PICTURE, kind_for, picture_tables

        found = []
        for part in (p for m in conversation if m.role == "user" for p in m.parts):
            with suppress(UserInputError):
                if (picture := as_picture(part)) is not None:
                    if pictures:
                        self.image_tokens(picture)  # the tower's work (kept for the prompt) while its text is read
                        found += picture_tables(picture.label or PICTURE, self.picture_lines(picture))
                elif isinstance(part, FilePart) and kind_for(Path(part.label or str(part.path))) in ("table", "xlsx"):
                    found += self._read(part).tables
        return found

    def computed(self, conversation: list[Message], cancel=None) -> tuple[str, str]:
        """The table-query step (assistant.table_query) for the last question, when tables are attached: the note
        its turn ends with and the source it cites; ("", "") when there is nothing to compute or the query fails."""
        from assistant import table_query

        asked = [m.text for m in conversation if m.role == "user" and m.text.strip()]
        tables = self.tables(conversation, pictures=table_query.asks_to_compute(asked[-1])) if asked else []
        db = self._database(tables) if tables else None
        if not db:
            return "", ""
        writer = [Message("system", (TextPart(table_query.WRITER),)),
                  Message("user", (TextPart(table_query.request(db, asked[-1], asked[:-1])),))]
        prompt = build_prompt(writer, None, None, None, None, native_voice=False)
        options = SamplingOptions(temperature=0, repetition_penalty=1.0,
                                  max_new_tokens=table_query.MAX_QUERY_TOKENS)
        with self.llm.aside(), unstepped():  # the conversation's cached prefix stays for the answer
            events = list(self._generate(prompt, options, cancel, time.perf_counter(), self.llm))
        sql = table_query.query_of("".join(e.text for e in events if isinstance(e, TokenDelta)))
        if sql is None:
            return "", ""
        try:
            names, rows = db.run(sql)
            if (top := table_query.one_extreme(asked[-1], sql, rows)) is not None:
                sql, (names, rows) = top, db.run(top)
        except table_query.QueryError as e:
            log.info("table query dropped (%s): %s", e, sql)
            return "", ""
        labels = [t.label for t in db.tables]
        return table_query.note(labels, sql, names, rows), table_query.source(labels, sql)

    def _database(self, tables: list[Table]) -> TableDatabase:
        """The tables' SQLite copy: the last one is kept, so a conversation's follow-ups do not copy them again."""
        from assistant.table_query import Database

        held = self._table_db
        if held is not None and len(held[0]) == len(tables) and all(a is b for a, b in zip(held[0], tables)):
            return held[1]
        if held is not None:
            held[1].close()
        self._table_db = (tables, Database(tables))
        return self._table_db[1]

    def embed(self, texts: list[str]) -> torch.Tensor:
        """MiniLM sentence embeddings (loaded on first use, cached per text)."""
        if self._embedder is None:
            from models.encoders.embeddings import Embedder

            self._embedder = self._timed("embedding", lambda: Embedder())
        keys = [digest(t.encode()) for t in texts]
        missing = {k: t for k, t in zip(keys, texts) if k not in self._embeddings}
        if missing:
            for k, v in zip(missing, self._embedder.encode(list(missing.values()))):
                self._embeddings.put(k, v)
        import torch  # MiniLM runs on torch

        return torch.stack([self._embeddings[k] for k in keys])

    @property
    def reader(self) -> Reader:
        """The OCR reader of text in images (config.ocr; loaded on first use)."""
        if self._ocr is None:
            from models.encoders.ocr import Reader

            # Only EasyOCR runs on torch: asking the placement for Tesseract would import torch for nothing.
            gpu = self.config.ocr == "easyocr" and self.placement.device.type == "cuda"
            self._ocr = Reader(self.config.ocr, gpu)  # its engine loads on the first picture with text
        return self._ocr

    def ocr(self, image_bytes: bytes) -> list[str]:
        """Lines of text in an encoded image (for documents.read)."""
        return self.reader.read(load_image(image_bytes))

    def _text_key(self, data: bytes) -> str:
        return f"ocr:{self.config.ocr}:{digest(data)}"

    def _start_reading(self, data: bytes) -> None:
        """Start reading an image's text beside the vision tower (Tesseract works in its own process: ~0.1 s of a
        screenshot's wait overlaps); picture_lines collects it."""
        key = self._text_key(data)
        if key not in self._media and key not in self._reading:
            self._reading[key] = self._read_ahead.submit(lambda: self.reader.read(load_image(data)))

    def picture_lines(self, part: ImagePart) -> list[str]:
        """The text an image shows, lines in reading order ([] for none); cached by content."""
        data = read_bytes(part.source)
        key = self._text_key(data)
        reading = self._reading.pop(key, None)
        return self._cached(key, reading.result if reading else lambda: self.reader.read(load_image(data)))

    def picture_text(self, part: ImagePart, question: str, budget: int) -> tuple[str, list[str]]:
        """An image's text quoted for the prompt within `budget` characters, and the part it cites."""
        from assistant.documents import PICTURE
        from assistant.retrieval import quote_picture

        return quote_picture(self.picture_lines(part), part.label or PICTURE, question, budget, self.embed)

    def transcribe_with_adapter(self, source) -> str:
        """Transcription by the LLM from speech-adapter tokens (the adapter's alignment objective)."""
        convo = [Message("user", (AudioPart(source), TextPart(TRANSCRIBE_PROMPT)))]  # as the adapter was trained
        self._reader = self.reader_for(convo, native_voice=True)
        prompt = build_prompt(convo, "", self.image_tokens, self.speech_tokens,
                              lambda p: self.transcribe_audio(p.source), native_voice=True)
        return "".join(e.text for e in self._generate(prompt, SamplingOptions(temperature=0), None, time.perf_counter())
                       if isinstance(e, TokenDelta)).strip()

    # ---- responding -----------------------------------------------------------------------------------
    def respond(self, conversation: list[Message], options: SamplingOptions = SamplingOptions(),
                voice_mode: str = "cascade", cancel: threading.Event | None = None,
                leave_out_unreadable: bool = False) -> Iterator[Event | Pending]:
        """Stream the answer to the conversation's last user message as events; or, when the conversation ends with
        the assistant's answer to it, the rest of that answer (its continuation: only the new text streams).
        leave_out_unreadable: a damaged attachment of that message is left out (Done.left_out), not an Error.

        Yields Transcript (what was heard in the last message: cascade voice, or native voice through a CTC adapter),
        TokenDelta*, then Done; or Error with a one-line message. On a thread that steps the LLM's batches (the
        engine queue's), also Pending whenever the answer waits for the next step.
        """
        start = time.perf_counter()
        if voice_mode not in ("native", "cascade"):
            yield Error(f"voice mode must be native or cascade, not {voice_mode!r}")
            return
        continuing = len(conversation) >= 2 and [m.role for m in conversation[-2:]] == ["user", "assistant"]
        if not conversation or (conversation[-1].role != "user" and not continuing):
            yield Error("the conversation must end with a user message (or the answer to it, to continue)")
            return
        try:
            self._reader = self.reader_for(conversation, voice_mode == "native")

            after, computed_from = ("", "") if continuing else self.computed(conversation, cancel)
            prompt = build_prompt(conversation, self.config.system_prompt, self.image_tokens, self.speech_tokens,
                                  lambda p: self.transcribe_audio(p.source), native_voice=voice_mode == "native",
                                  document=self.document, leave_out_unreadable=leave_out_unreadable,
                                  picture_text=self.picture_text, after=after)
            if computed_from:
                prompt.sources.append(computed_from)
            audio = [p for p in conversation[-1].parts if isinstance(p, AudioPart)]
            if audio:
                heard = []
                for p in audio:
                    with suppress(UserInputError):  # an unreadable recording was left out of the prompt, and said so
                        heard.append(self.transcribe_audio(p.source) if voice_mode == "cascade"
                                     else self._heard_natively(p))
                if voice_mode == "cascade" or any(h is not None for h in heard):
                    yield Transcript(" ".join(h for h in heard if h is not None))
            if all(is_empty(m["content"]) for m in prompt.messages if m["role"] == "user"):
                yield Error("nothing to answer: the message is empty")
                return
            yield from self._generate(prompt, options, cancel, start)
        except (UserInputError, MissingWeightsError, AdapterMismatchError) as e:
            yield Error(str(e))
        except Exception as e:  # a front end must get an event, not a dead worker; the log keeps the traceback
            log.exception("respond failed")
            yield Error(f"internal error: {type(e).__name__}: {e}", ErrorKind.INTERNAL)

    def _generate(self, prompt: BuiltPrompt, options: SamplingOptions, cancel, start: float,
                  llm: Decoder | None = None) -> Iterator[Event | Pending]:
        llm = llm or self._reader or self.llm
        ids, media_index = llm.prompt_ids(prompt.messages, [len(b) for b in prompt.media])
        ids, media_index, prompt.media = _spell_media(ids, media_index, prompt.media)
        max_ctx = llm.context_length
        if len(ids) + options.max_new_tokens > max_ctx:
            yield Error(f"the conversation is too long for {llm.name}: {len(ids)} prompt tokens + "
                        f"{options.max_new_tokens} to generate > {max_ctx}; start a new conversation")
            return
        keys = position_keys(ids, media_index, [b.key for b in prompt.media])
        media = None
        if prompt.media:  # (M, H): every media position's soft token, in prompt order
            import torch

            media = torch.stack([prompt.media[b].embeds[keys[p][1]]
                                 for p, b in enumerate(media_index) if b >= 0])
        ahead, self._ahead = self._ahead, None  # a rehearsal's tokens serve the next request or none
        answer, first, before, prompt_tokens = [], None, [], len(ids)
        if ahead is not None and not options.ahead and ahead.serves(llm.name, keys, options):
            first, before = time.perf_counter(), ahead.tokens
            answer.append(ahead.text)
            yield TokenDelta(ahead.text)
            if ahead.finished:
                yield Done(ahead.text, "stop", Timings(ttft_ms=round((first - start) * 1000, 1), tokens=len(before),
                                                       prompt_tokens=prompt_tokens, reused_prompt_tokens=prompt_tokens),
                           self.model_names(llm), tuple(prompt.sources), tuple(prompt.left_out))
                return
            ids, media_index, keys = ids + before, media_index + [-1] * len(before), keys + before
            options = replace(options, max_new_tokens=options.max_new_tokens - len(before))
        stream = llm.generate(ids, media_index, keys, media, options, cancel)
        spoken = Sentences() if options.ahead else None  # a rehearsal decodes what speech starts with, no more
        with closing(iter(stream)) as deltas:
            for delta in deltas:
                if isinstance(delta, Pending):  # decoded with other answers' at the engine queue's next step
                    yield delta
                    continue
                if before and len(answer) == 1:  # the continuation's first words, after the rehearsal's
                    delta = _seam(llm, before, stream.tokens[0]) + delta
                first = first or time.perf_counter()
                answer.append(delta)
                yield TokenDelta(delta)
                if spoken is not None and spoken.feed(delta):
                    break
        end = time.perf_counter()
        if options.ahead:
            self._ahead = _ahead(llm, keys, options, stream)
        n, reused = len(before) + len(stream.tokens), min(stream.reused, prompt_tokens)
        decode_s = end - first if first else 0.0
        yield Done("".join(answer), stream.finish_reason or "stop", Timings(
            ttft_ms=round(((first or end) - start) * 1000, 1), total_ms=round((end - start) * 1000, 1), tokens=n,
            tokens_per_s=round((n - 1) / decode_s, 1) if n > 1 and decode_s > 0 else 0.0,
            prompt_tokens=prompt_tokens, reused_prompt_tokens=reused), self.model_names(llm), tuple(prompt.sources),
            tuple(prompt.left_out))

    def model_names(self, llm: Decoder | None = None) -> dict:
        """The models in use, by role (`llm`: the one that answered, when it was not the configured one)."""
        answered = llm.name if llm is not None and llm is not self.llm else canonical(self.config.llm)
        return {"llm": answered, "whisper": self.config.whisper, "vision": self.config.vision}


def _seam(llm: Decoder, before: list[int], token: int) -> str:
    """What a continuation decoded on its own loses at its start after `before` (a sentencepiece tokenizer drops
    the leading space of a text's first word): the text `token` adds there, less what it decodes to alone."""
    joined, alone = llm.detokenize(before + [token])[len(llm.detokenize(before)):], llm.detokenize([token])
    return joined[: len(joined) - len(alone)] if joined.endswith(alone) else ""


def _ahead(llm: Decoder, keys: list, options: SamplingOptions, stream) -> Ahead | None:
    """What a rehearsal's stream leaves for the next request: its tokens, less any that end inside a character
    (the continuation's text starts at a token, so a character split across the two would be lost)."""
    if options.stop:  # a stop string's tokens are in stream.tokens but not in its text
        return None
    tokens = list(stream.tokens)
    while tokens and llm.detokenize(tokens).endswith("\ufffd"):
        tokens.pop()
    if not tokens:
        return None
    finished = len(tokens) == len(stream.tokens) and stream.finish_reason == "stop"
    return Ahead(llm.name, keys, options, tokens, llm.detokenize(tokens), finished)
