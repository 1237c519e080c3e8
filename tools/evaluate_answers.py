"""python -m tools.evaluate_answers: how good the assistant's answers are, through the real Engine, greedy.

Measures, on the question set in tools/answer_set.py (issue 12's answer-quality targets):
- trivia: 30 simple factual questions (capitals, science, geography, arithmetic word problems, history, everyday
  facts), each graded by accepted regexes matched case-insensitively in the answer (where a wrong value of the same
  kind is easy to state beside the right one, the first value the answer states decides);
- table: 4 questions about an attached CSV of product prices (highest, lowest, row count, average), answerable from
  the statistics assistant.documents computes for the model ("largest 97.5", ...);
- Korean: 5 questions asked in Korean, counted right when the fact is right AND the answer is mostly Hangul
  (Hangul letters >= 50% of all letters);
- multi-turn: 12 English user turns of small talk in one conversation; "English" when the last 3 answers still are;
- followups: 23 conversations of two or three turns (tools/followup_set.py) mixing photos, screenshots, tables and
  language switches, each graded by its rules, and no answer may say it cannot see the picture it was given;
- spoken: the trivia questions read by a voice the speech adapter never trained on (espeak-ng en-us-nyc+m4) and asked
  aloud, natively (the speech adapter, no transcription) and through Whisper (cascade), graded as trivia.

Run: `.venv/bin/python -m tools.evaluate_answers [--llm NAME] [--runtime torch|llama.cpp] [--parts trivia,table]
[--json]` (every EngineConfig field is a flag). Answers get the app's token budget (--max-new-tokens). It prints each
answer (shortened) with pass/fail, then a summary; --json prints one JSON object with every answer instead.
Importable: TRIVIA/TABLE/KOREAN/SMALL_TALK, grade(), hangul_share(), is_english(), run(engine).
"""

from __future__ import annotations

import json
import os
import platform
import re
import tempfile
import time
from dataclasses import asdict
from pathlib import Path
from typing import Callable

from assistant.cli import Parser, run_command
from assistant.conversation import Backend, Done, Error, FilePart, ImagePart, Message, TextPart, TokenDelta
from assistant.engine import EngineConfig, create_engine
from assistant.prompt import hangul_share
from models.decoders.sampling import SamplingOptions
from models.flags import add_dataclass_flags, from_flags
from tools.answer_set import KOREAN, SMALL_TALK, TABLE, TABLE_CSV, TRIVIA, Question
from tools.followup_set import FOLLOWUPS, NEVER_SAID, TABLES, Turn

__all__ = ["TRIVIA", "TABLE", "KOREAN", "SMALL_TALK", "grade", "hangul_share", "is_english", "run"]

PARTS = ("trivia", "table", "korean", "multi_turn", "followups", "spoken")
DEFAULT_PARTS = PARTS[:4]  # "followups" needs the gcompris photos, "spoken" synthesizes 30 clips: asked by name
SPOKEN_VOICE = "espeak:en-us-nyc+m4"  # held out of the speech adapter's training (models.training.data.speech_data)
# The budget the app answers with: a model that works a sum out step by step must get to say the number (at 64
# tokens, 4 of the 1.5B's 5 arithmetic misses were cut off mid-working).
MAX_NEW_TOKENS = SamplingOptions().max_new_tokens
HANGUL_MIN = 0.5
LAST_TURNS = 3  # the multi-turn check looks at this many final answers

# Function words that mark a language; no word is in two lists (English "die", French "a" are left out).
_ENGLISH = set("the and is are you to of it that for with this your can be have if or some what will on they we my "
               "there here not do".split())
_OTHER = set("le la les des est et vous je une pour dans pas sont avec du au nous mais aussi votre bonjour merci très "
             "el los las es y para con una por del muy pero der das und ist nicht ein eine mit ich zu auch".split())


def _first(patterns, answer: str) -> int | None:
    starts = [m.start() for m in (re.search(p, answer, re.IGNORECASE) for p in patterns) if m]
    return min(starts) if starts else None


def grade(answer: str, accepted: tuple[str, ...] | list[str], rejected: tuple[str, ...] | list[str] = ()) -> bool:
    """Whether any accepted regex matches the answer, case-insensitively, anywhere in it, and no rejected regex
    (a wrong value of the same kind) matches before it: the first value the answer states decides."""
    right = _first(accepted, answer)
    wrong = _first(rejected, answer)
    return right is not None and (wrong is None or right <= wrong)


def is_english(text: str) -> bool:
    """Whether text reads as English: almost all letters ASCII, and English function words outnumbering French,
    Spanish and German ones at least two to one (a short answer with none of either counts as English)."""
    letters = [ch for ch in text if ch.isalpha()]
    if not letters or sum(ch.isascii() for ch in letters) / len(letters) < 0.9:
        return False
    words = re.findall(r"[^\W\d_]+", text.lower())
    english = sum(w in _ENGLISH for w in words)
    other = sum(w in _OTHER for w in words)
    return other * 2 <= english


def ask(engine: Backend, conversation: list[Message], max_new_tokens: int, voice_mode: str = "cascade") -> str:
    """The engine's greedy answer to the conversation's last message (raises on an Error event)."""
    options = SamplingOptions(temperature=0, max_new_tokens=max_new_tokens)
    pieces: list[str] = []
    for event in engine.respond(conversation, options, voice_mode):
        if isinstance(event, TokenDelta):
            pieces.append(event.text)
        elif isinstance(event, Done):
            return event.answer
        elif isinstance(event, Error):
            raise RuntimeError(f"{conversation[-1].text!r}: {event.message}")
    return "".join(pieces)  # a backend that ends without Done still answered this much


def _graded(engine: Backend, questions: list[Question], make: Callable[[Question], list[Message]], part: str,
            report: Callable[[str], None], max_new_tokens: int) -> dict:
    rows = []
    for q in questions:
        answer = ask(engine, make(q), max_new_tokens)
        row = {"question": q.text, "answer": answer, "passed": grade(answer, q.accepted, q.rejected)}
        if part == "korean":
            row["fact"] = row["passed"]
            row["hangul_share"] = round(hangul_share(answer), 2)
            row["passed"] = row["fact"] and row["hangul_share"] >= HANGUL_MIN
        rows.append(row)
        extra = f" hangul {row['hangul_share']:.2f}" if part == "korean" else ""
        report(f"  [{'pass' if row['passed'] else 'FAIL'}{extra}] {q.text} -> {shorten(answer)}")
    result = {"passed": sum(r["passed"] for r in rows), "total": len(rows), "rows": rows}
    if part == "korean":
        result["fact"] = sum(r["fact"] for r in rows)
        result["hangul_ok"] = sum(r["hangul_share"] >= HANGUL_MIN for r in rows)
    return result


def _multi_turn(engine: Backend, report: Callable[[str], None], max_new_tokens: int) -> dict:
    conversation: list[Message] = []
    turns = []
    for text in SMALL_TALK:
        conversation.append(Message.user(text))
        answer = ask(engine, conversation, max_new_tokens)
        conversation.append(Message.assistant(answer))
        turns.append({"question": text, "answer": answer, "english": is_english(answer)})
        report(f"  [{'en' if turns[-1]['english'] else 'NOT EN'}] {text} -> {shorten(answer)}")
    return {"english": all(t["english"] for t in turns[-LAST_TURNS:]),
            "english_turns": sum(t["english"] for t in turns), "total": len(turns), "turns": turns}


def run(engine: Backend, parts: tuple[str, ...] = DEFAULT_PARTS, report: Callable[[str], None] = lambda line: None,
        max_new_tokens: int = MAX_NEW_TOKENS) -> dict:
    """Ask every question of the chosen parts through engine.respond (greedy), one fresh conversation each (the
    multi-turn part is one conversation). Returns {part: {"passed", "total", "rows", ...}}; report gets a line
    per answer as it comes."""
    results: dict = {}
    if "trivia" in parts:
        report("trivia")
        results["trivia"] = _graded(engine, TRIVIA, lambda q: [Message.user(q.text)], "trivia", report, max_new_tokens)
    if "table" in parts:
        report("table (prices.csv attached)")
        with tempfile.TemporaryDirectory() as tmp:
            csv = Path(tmp) / "prices.csv"
            csv.write_text(TABLE_CSV)
            results["table"] = _graded(engine, TABLE, lambda q: [Message("user", (FilePart(csv), TextPart(q.text)))],
                                       "table", report, max_new_tokens)
    if "korean" in parts:
        report("korean")
        results["korean"] = _graded(engine, KOREAN, lambda q: [Message.user(q.text)], "korean", report, max_new_tokens)
    if "multi_turn" in parts:
        report(f"multi-turn ({len(SMALL_TALK)} turns, one conversation)")
        results["multi_turn"] = _multi_turn(engine, report, max_new_tokens)
    if "followups" in parts:
        report(f"followups ({len(FOLLOWUPS)} conversations)")
        results["followups"] = _followups(engine, report, max_new_tokens)
    if "spoken" in parts:
        results["spoken"] = _spoken(engine, report, max_new_tokens)
    return results


def turn_passes(turn: Turn, answer: str) -> bool:
    """Whether an answer keeps a follow-up turn's rules (tools.followup_set): never NEVER_SAID; when graded, every
    accepted pattern, no rejected one, the language asked for."""
    if any(re.search(p, answer, re.IGNORECASE) for p in NEVER_SAID):
        return False
    if any(not re.search(p, answer, re.IGNORECASE) for p in turn.accepted):
        return False
    if any(re.search(p, answer, re.IGNORECASE) for p in turn.rejected):
        return False
    return {"": True, "en": is_english(answer), "ko": hangul_share(answer) >= HANGUL_MIN}[turn.language]


def _attachment(spec: str, folder: Path):
    """The part a turn attaches: a gcompris photo, a screenshot of tools.screenshot_set (as PNG), a table file."""
    kind, _, name = spec.partition(":")
    if kind == "photo":
        from models.training.data.gcompris import photo_dir

        path = next(photo_dir().glob(name + ".*"))
        return ImagePart(path, path.name)
    if kind == "shot":
        from tools.screenshot_set import shots

        path = folder / f"{name}.png"
        path.write_bytes(next(s for s in shots() if s.name == name).png())
        return ImagePart(path, path.name)
    path = folder / name
    path.write_text(TABLES[name])
    return FilePart(path)


def _followups(engine: Backend, report: Callable[[str], None], max_new_tokens: int) -> dict:
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for convo in FOLLOWUPS:
            conversation: list[Message] = []
            turns = []
            for turn in convo.turns:
                parts = ((_attachment(turn.attach, Path(tmp)),) if turn.attach else ()) + (TextPart(turn.text),)
                conversation.append(Message("user", parts))
                answer = ask(engine, conversation, max_new_tokens)
                conversation.append(Message.assistant(answer))
                turns.append({"question": turn.text, "answer": answer, "passed": turn_passes(turn, answer)})
            passed = all(t["passed"] for t in turns)
            rows.append({"name": convo.name, "kind": convo.kind, "passed": passed, "turns": turns})
            report(f"  [{'pass' if passed else 'FAIL'}] {convo.name}: "
                   + " || ".join(f"{'' if t['passed'] else '!'}{shorten(t['answer'], 70)}" for t in turns))
    kinds = {k: f"{sum(r['passed'] for r in rows if r['kind'] == k)}/{sum(r['kind'] == k for r in rows)}"
             for k in dict.fromkeys(r["kind"] for r in rows)}
    return {"passed": sum(r["passed"] for r in rows), "total": len(rows), "kinds": kinds, "rows": rows}


def _spoken(engine: Backend, report: Callable[[str], None], max_new_tokens: int) -> dict:
    from assistant.media import to_wav
    from models.training.data.speech_data import Utterance, synthesize

    out = {}
    with tempfile.TemporaryDirectory() as tmp:
        clips = {}
        for i, q in enumerate(TRIVIA):
            clips[q.text] = Path(tmp) / f"q{i}.wav"
            clips[q.text].write_bytes(to_wav(synthesize(Utterance(q.text, SPOKEN_VOICE, 1.0, 50, float("inf"), 0.0))))
        for mode in ("native", "cascade"):
            report(f"spoken ({mode})")
            rows = []
            for q in TRIVIA:
                answer = ask(engine, [Message.user(audio=clips[q.text])], max_new_tokens, mode)
                rows.append({"question": q.text, "answer": answer, "passed": grade(answer, q.accepted, q.rejected)})
                report(f"  [{'pass' if rows[-1]['passed'] else 'FAIL'}] {q.text} -> {shorten(answer)}")
            out[mode] = {"passed": sum(r["passed"] for r in rows), "total": len(rows), "rows": rows}
    return out


def shorten(text: str, width: int = 100) -> str:
    """One line of at most `width` characters."""
    line = " ".join(text.split())
    return line if len(line) <= width else line[: width - 3] + "..."


def summary(results: dict) -> str:
    """The summary table: one line per part that ran."""
    lines = []
    for part in ("trivia", "table", "followups"):
        if part in results:
            kinds = results[part].get("kinds")
            lines.append(f"{part:<11} {results[part]['passed']}/{results[part]['total']}" + (f" {kinds}" if kinds else ""))
    if "korean" in results:
        k = results["korean"]
        lines.append(f"{'korean':<11} {k['passed']}/{k['total']} (fact right {k['fact']}/{k['total']}, "
                     f"mostly Hangul {k['hangul_ok']}/{k['total']})")
    if "spoken" in results:
        sp = results["spoken"]
        lines.append(f"{'spoken':<11} native {sp['native']['passed']}/{sp['native']['total']}, "
                     f"cascade {sp['cascade']['passed']}/{sp['cascade']['total']}")
    if "multi_turn" in results:
        m = results["multi_turn"]
        lines.append(f"{'multi-turn':<11} English at the end: {'yes' if m['english'] else 'no'} "
                     f"({m['english_turns']}/{m['total']} turns English)")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Print each answer and the summary (or, with --json, one JSON object with every answer)."""
    parser = Parser(prog="python -m tools.evaluate_answers",
                    description="answer quality: trivia, a table question, Korean, multi-turn English")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of the table")
    parser.add_argument("--parts", default=",".join(DEFAULT_PARTS),
                        help="comma-separated, from: " + ", ".join(PARTS))
    parser.add_argument("--max-new-tokens", type=int, default=MAX_NEW_TOKENS, help="per answer (default: the app's)")
    add_dataclass_flags(parser, EngineConfig)
    args = parser.parse_args(argv)
    parts = tuple(p.strip() for p in args.parts.split(",") if p.strip())
    if args.max_new_tokens < 1:
        parser.error(f"--max-new-tokens must be at least 1, not {args.max_new_tokens}")
    if not parts or set(parts) - set(PARTS):
        parser.error(f"--parts takes some of {', '.join(PARTS)}, not {args.parts!r}")

    def evaluate() -> int:
        config = from_flags(EngineConfig, args)
        engine = create_engine(config)
        engine.preload()  # missing weights fail here, as one line, before any question
        start = time.perf_counter()
        report = (lambda line: None) if args.json else lambda line: print(line, flush=True)
        results = run(engine, parts, report, args.max_new_tokens)
        results["max_new_tokens"] = args.max_new_tokens
        results["models"] = engine.model_names()
        results["config"] = {k: v for k, v in asdict(config).items() if k != "remote_key"}
        results["machine"] = f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs"
        results["seconds"] = round(time.perf_counter() - start, 1)
        if args.json:
            print(json.dumps(results, ensure_ascii=False))
        else:
            print(f"\n{results['models'].get('llm', '?')} ({config.quantize}) on {results['machine']}, "
                  f"{results['seconds']} s\n{summary(results)}")
        return 0

    return run_command(evaluate)


if __name__ == "__main__":
    raise SystemExit(main())
