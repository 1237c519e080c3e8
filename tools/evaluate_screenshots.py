"""python -m tools.evaluate_screenshots: how well the assistant reads pictures of text (issue 24's targets).

On the screenshot set of tools/screenshot_set.py (rendered here; evaluation only, never tuned on), it measures:
- ocr: for each OCR engine (models.encoders.ocr.ENGINES, those installed), the character error rate of the text read
against
  what was drawn (whitespace and " | " cell marks count as one space; by kind and language), seconds to load, and
  seconds per picture (mean, slowest, and on full-HD pictures);
- photos: the check for text (models.encoders.ocr.find_text) on the gcompris photographs: how many it sends to OCR, and
ms;
- answers: each question asked as a pasted picture through the real Engine (greedy), graded by the accepted
  regexes; the first token of each full-HD picture's question against the same question typed (cold caches).

Run: `.venv/bin/python -m tools.evaluate_screenshots [--parts ocr,photos,answers] [--engines tesseract,easyocr]
[--limit N] [--json]` (every EngineConfig field is a flag: --ocr chooses the engine the answers use).
"""

from __future__ import annotations

import json
import os
import re
import statistics
import time
from dataclasses import asdict

from assistant.cli import Parser, run_command
from assistant.conversation import Done, Error, ImagePart, Message, TextPart
from assistant.engine import Engine, EngineConfig
from models.decoders.sampling import SamplingOptions
from models.encoders.ocr import ENGINES, Reader, find_text
from models.flags import add_dataclass_flags, from_flags
from models.weights.catalog import MissingWeightsError
from tools.bench_runtimes import cpu_name
from tools.screenshot_set import Shot, shots

PARTS = ("ocr", "photos", "answers")
FULL_HD = (1920, 1080)


def normalized(text: str) -> str:
    """Text compared for the error rate: cell marks and runs of whitespace as one space, curly quotes straight."""
    text = text.replace(" | ", " ").replace("\u2018", "'").replace("\u2019", "'").replace("\u201c", '"')
    return re.sub(r"\s+", " ", text.replace("\u201d", '"')).strip()


def edit_distance(a: str, b: str) -> int:
    """Levenshtein distance between two strings (characters)."""
    row = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        prev, row[0] = row[0], i
        for j, cb in enumerate(b, 1):
            prev, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, prev + (ca != cb))
    return row[-1]


def cer(read: list[str], truth: tuple[str, ...]) -> float:
    """Character error rate of lines read against the true lines (edit distance / true length)."""
    want = normalized("\n".join(truth))
    return edit_distance(normalized("\n".join(read)), want) / max(1, len(want))


def measure_engine(name: str, items: list[Shot]) -> dict:
    """One engine's error rate and speed on the set (raises MissingWeightsError when it is not installed)."""
    start = time.perf_counter()
    reader = Reader(name)
    reader.read(items[0].image())  # the first read also waits for a worker to start: counted as loading
    out = {"engine": name, "load_s": round(time.perf_counter() - start, 2), "shots": []}
    for shot in [s for s in items if s.lines]:  # the window's own screenshots have no true lines: answers only
        image = shot.image()
        start = time.perf_counter()
        lines = reader.read(image)
        seconds = time.perf_counter() - start
        out["shots"].append({"name": shot.name, "kind": shot.kind, "lang": shot.lang, "size": shot.size,
                             "cer": round(cer(lines, shot.lines), 4), "s": round(seconds, 3), "read": lines})
    rows = out["shots"]

    def mean_cer(keep) -> float | None:
        chosen = [r["cer"] for r in rows if keep(r)]
        return round(statistics.mean(chosen), 4) if chosen else None
    out["cer"] = mean_cer(lambda r: True)
    out["cer_en"], out["cer_ko"] = mean_cer(lambda r: r["lang"] == "en"), mean_cer(lambda r: r["lang"] == "ko")
    out["by_kind"] = {k: mean_cer(lambda r, k=k: r["kind"] == k) for k in sorted({r["kind"] for r in rows})}
    out["mean_s"] = round(statistics.mean(r["s"] for r in rows), 3)
    out["max_s"] = round(max(r["s"] for r in rows), 3)
    hd = [r["s"] for r in rows if tuple(r["size"]) == FULL_HD]
    out["full_hd_median_s"] = round(statistics.median(hd), 3) if hd else None
    return out


def measure_photos(limit: int) -> dict:
    """How often the text check sends a gcompris photograph to OCR, and what the check costs."""
    import numpy as np
    from PIL import Image

    from models.training.data.gcompris import photos

    paths = [p.path for p in photos()][:limit]
    flagged, ms = [], []
    for path in paths:
        gray = np.asarray(Image.open(path).convert("L"))
        start = time.perf_counter()
        area = find_text(gray)
        ms.append((time.perf_counter() - start) * 1000)
        if area is not None:
            flagged.append(path.name)
    return {"photos": len(paths), "sent_to_ocr": len(flagged), "flagged": flagged,
            "check_ms_median": round(statistics.median(ms), 1), "check_ms_max": round(max(ms), 1)}


def _ask(engine: Engine, message: Message, options: SamplingOptions) -> Done:
    engine.reset_cache()  # cold: no reused prefix, no cached picture
    for event in engine.respond([message], options):
        if isinstance(event, Error):
            raise RuntimeError(event.message)
        if isinstance(event, Done):
            return event
    raise RuntimeError("no answer")


def measure_answers(engine: Engine, items: list[Shot], options: SamplingOptions, report) -> dict:
    """Each question asked about its picture; on full-HD pictures, the first token against the question typed."""
    rows = []
    for shot in items:
        done = _ask(engine, Message("user", (ImagePart(shot.png(), f"{shot.name}.png"), TextPart(shot.question))),
                    options)
        right = any(re.search(p, done.answer, re.IGNORECASE) for p in shot.answers)
        row = {"name": shot.name, "kind": shot.kind, "lang": shot.lang, "right": right, "answer": done.answer,
               "ttft_ms": done.timings.ttft_ms, "prompt_tokens": done.timings.prompt_tokens}
        if shot.size == FULL_HD:
            typed = _ask(engine, Message("user", (TextPart(shot.question),)), options)
            row["typed_ttft_ms"] = typed.timings.ttft_ms
        rows.append(row)
        report(f"{'PASS' if right else 'FAIL'} {shot.name}: {done.answer[:90]!r} ({done.timings.ttft_ms:.0f} ms)")
    deltas = [r["ttft_ms"] - r["typed_ttft_ms"] for r in rows if "typed_ttft_ms" in r]
    return {"right": sum(r["right"] for r in rows), "total": len(rows),
            "by_kind": {k: f"{sum(r['right'] for r in rows if r['kind'] == k)}/{sum(r['kind'] == k for r in rows)}"
                        for k in sorted({r["kind"] for r in rows})},
            "full_hd_ttft_delta_ms_median": round(statistics.median(deltas)) if deltas else None,
            "full_hd_ttft_ms_median": round(statistics.median(r["ttft_ms"] for r in rows if "typed_ttft_ms" in r))
            if deltas else None, "rows": rows}


def summary(results: dict) -> str:
    """The tables the docs quote."""
    lines = []
    if "ocr" in results:
        lines.append("| engine | load s | CER all | CER en | CER ko | s / picture (mean) | slowest | full-HD median |"
                     "\n|---|---|---|---|---|---|---|---|")
        for e in results["ocr"]:
            if "missing" in e:
                lines.append(f"| {e['engine']} | not installed: {e['missing']} |")
                continue
            lines.append(f"| {e['engine']} | {e['load_s']} | {e['cer']:.1%} | {e['cer_en']:.1%} | "
                         f"{'-' if e['cer_ko'] is None else format(e['cer_ko'], '.1%')} | {e['mean_s']} | "
                         f"{e['max_s']} | {e['full_hd_median_s']} |")
    if "photos" in results:
        p = results["photos"]
        lines.append(f"\nphotos sent to OCR: {p['sent_to_ocr']}/{p['photos']} (check {p['check_ms_median']} ms "
                     f"median, {p['check_ms_max']} max)")
    if "answers" in results:
        a = results["answers"]
        lines.append(f"\nanswered from the picture's text: {a['right']}/{a['total']} ({a['by_kind']}); full-HD first "
                     f"token {a['full_hd_ttft_ms_median']} ms, {a['full_hd_ttft_delta_ms_median']:+} ms vs typed")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Print the tables (or, with --json, one JSON object with every reading and answer)."""
    parser = Parser(prog="python -m tools.evaluate_screenshots", description="reading text in pictures")
    parser.add_argument("--parts", default=",".join(PARTS), help="comma-separated, from: " + ", ".join(PARTS))
    parser.add_argument("--engines", default=",".join(ENGINES), help="OCR engines to measure")
    parser.add_argument("--limit", type=int, default=0, help="the first N pictures only (0: all)")
    parser.add_argument("--max-new-tokens", type=int, default=SamplingOptions.max_new_tokens,
                        help="per answer (default: the app's)")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of the tables")
    add_dataclass_flags(parser, EngineConfig)
    args = parser.parse_args(argv)
    parts = [p for p in args.parts.split(",") if p]
    if set(parts) - set(PARTS):
        parser.error(f"--parts takes some of {', '.join(PARTS)}, not {args.parts!r}")

    def evaluate() -> int:
        items = shots()[: args.limit or None]
        report = (lambda line: None) if args.json else lambda line: print(line, flush=True)
        results: dict = {"machine": f"{cpu_name()}, {os.cpu_count()} cores", "pictures": len(items)}
        if "ocr" in parts:
            results["ocr"] = []
            for name in [e for e in args.engines.split(",") if e]:
                try:
                    results["ocr"].append(measure_engine(name, items))
                except MissingWeightsError as e:
                    results["ocr"].append({"engine": name, "missing": str(e)})
                report(summary({"ocr": results["ocr"][-1:]}).splitlines()[-1])
        if "photos" in parts:
            results["photos"] = measure_photos(args.limit or 10_000)
        if "answers" in parts:
            config = from_flags(EngineConfig, args)
            engine = Engine(config)
            engine.preload(vision=True)
            options = SamplingOptions(temperature=0, max_new_tokens=args.max_new_tokens)
            results["answers"] = measure_answers(engine, items, options, report)
            results["config"] = {k: v for k, v in asdict(config).items() if k != "remote_key"}
        print(json.dumps(results, ensure_ascii=False) if args.json else f"\n{results['machine']}\n{summary(results)}")
        return 0

    return run_command(evaluate)


if __name__ == "__main__":
    raise SystemExit(main())
