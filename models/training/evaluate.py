"""python -m models.training.evaluate: score a trained adapter on held-out data.

Speech metrics: word error rate of transcription through the adapter on held-out voices and sentences (as they are,
then through rooms and a telephone line), on sentences with a word never heard, and on human speech
(models.training.data.real_speech: alsa-utils' clips; warzone2100's narration and ktuberling's words where installed);
and spoken questions answered natively against the same questions typed.
Image metrics (models.training.evaluate_image, through the runtime the assistant uses): easy-vqa test accuracy, colour
and shape accuracy on held-out procedural scenes (another seed), naming the held-out gcompris photographs, and the
answers for the reserved sample photos of scikit-image and matplotlib. Answers are generated greedily, exactly as
the assistant would, and scored by the first answer-vocabulary word they contain (or, for photos, a naming word).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import platform
import re
import time
from pathlib import Path

import torch
from transformers import DynamicCache

from models.adapters.projector import TRANSCRIBE_PROMPT, CTCHead, Projector, adapter_dir, load_adapter
from models.device import choose_placement
from models.training.data.real_speech import installed
from models.training.data.speech_data import FACT_QUESTIONS, word_error_rate  # noqa: F401 (re-exported)
from models.decoders.chat import Media, joined
from models.decoders.generation import TokenStream, TorchLLM
from models.decoders.llm import LLM
from models.decoders.runtime import llm_name
from models.decoders.sampling import SamplingOptions
from models.training.evaluate_image import evaluate_image, first_word_of  # noqa: F401 (re-exported)
from models.weights.catalog import resolve

GREEDY = SamplingOptions(temperature=0, max_new_tokens=24, repetition_penalty=1.0)


def answer(llm: LLM, projector: Projector, features: torch.Tensor, question: str, max_new_tokens: int = 24,
           scorer: TorchLLM | None = None, heard_text: str | None = None) -> str:
    """Greedy answer to a question about (T, D) features, through the same prompt as the assistant: a CTC adapter's
    transcript (heard_text when already decided) as the LLM's own tokens (assistant.engine.speech_tokens), another
    adapter's soft tokens."""
    features = features.float()[None].to(llm.placement.device)
    if isinstance(projector, CTCHead):
        if heard_text is None:
            heard_text = projector.hear(features, scorer or TorchLLM(llm))
        spelled, soft = llm.text_ids(heard_text or "..."), None
    else:
        spelled, soft = None, projector(features)[0]  # (N, H)
    n = len(spelled) if soft is None else soft.shape[0]
    ids, index = llm.prompt_ids([{"role": "user", "content": joined([Media(0), question])}], [n])
    if soft is not None:
        return _greedy(llm, llm.embed([ids], [[i >= 0 for i in index]], soft), max_new_tokens)
    it = iter(spelled)
    return _greedy(llm, llm.embed([[next(it) if i >= 0 else t for t, i in zip(ids, index)]]), max_new_tokens)


def _greedy(llm: LLM, embeds: torch.Tensor, max_new_tokens: int = 24) -> str:
    """The greedy answer after prompt embeddings (1, L, H)."""
    options = dataclasses.replace(GREEDY, max_new_tokens=max_new_tokens)
    stream = TokenStream(options, llm.eos_ids, lambda t: llm.tokenizer.decode(t, skip_special_tokens=True), [], None,
                         model=llm.model, embeds=embeds, cache=DynamicCache())
    return "".join(stream).strip()


NUMBER_WORDS = {"7": "seven", "4": "four"}


def _mentions(text: str, word: str) -> bool:
    words = re.findall(r"[a-z0-9]+", text.lower())
    return word in [NUMBER_WORDS.get(w, w) for w in words]


REAL_SETS = {"alsa": "real_clips", "warzone": "real_narration", "ktuberling": "real_words"}  # result names


def evaluate_speech(adapter: Path, whisper_name: str, llm_name: str, limit: int, device: str) -> dict:
    """Adapter WER on held-out synthetic voices and on real recordings, and spoken-vs-typed question accuracy."""
    from models.encoders.speech import SpeechEncoder, Transcriber, load_whisper
    from models.training.data.speech_data import Utterance, split, synthesize, utterances

    placement = choose_placement(device)
    llm = LLM.load(llm_name, resolve(llm_name, "llm").path, placement)
    r = resolve(whisper_name, "whisper")
    encoder = SpeechEncoder(load_whisper(r.path, placement), r.name)
    whisper_only = Transcriber(encoder)
    projector = load_adapter(adapter, encoder.name, llm.name, encoder.dim, llm.hidden_size,
                             vocab=llm.model.get_input_embeddings().weight).to(placement.device)
    _, held_sentences, _, held_voices = split(0)
    ctc = isinstance(projector, CTCHead)
    scorer = TorchLLM(llm)
    results: dict = {}

    def own(feats: torch.Tensor) -> dict:
        """A CTC adapter's transcripts: greedy (the adapter alone) and heard (its beam rescored by the LLM)."""
        if not ctc:
            return {}
        heard_text = projector.hear(feats.float()[None].to(llm.placement.device), scorer)
        return {"ctc": ctc_transcript(llm, projector, feats), "heard": heard_text}

    def wer(rows: list[dict], key: str) -> float | None:
        return sum(word_error_rate(r["text"], r[key]) for r in rows) / len(rows) if rows and key in rows[0] else None

    rows = []
    for i, u in enumerate(utterances(held_sentences, held_voices, limit, seed=99)):
        audio = synthesize(u, 10_000 + i)
        feats = encoder.encode(audio)[0]
        mine = own(feats)
        got = answer(llm, projector, feats, TRANSCRIBE_PROMPT, 64, scorer, mine.get("heard"))
        rows.append({"text": u.text, "voice": u.voice, "llm": got, "whisper": whisper_only(audio), **mine})
    # Open vocabulary: held-out voices reading WordNet sentences each with a word no training sentence has.
    from models.training.data.speech_data import open_vocabulary_split, wordnet_sentences

    open_test = open_vocabulary_split(wordnet_sentences())[1]
    open_rows = []
    for i, u in enumerate(utterances(open_test, held_voices, limit if open_test and ctc else 0, seed=98)):
        open_rows.append({"text": u.text, "voice": u.voice, **own(encoder.encode(synthesize(u, 20_000 + i))[0])})
    # The same held-out voices and sentences, each clip through a room or a telephone line (speech_data.CHANNELS).
    channel_rows = []
    for i, u in enumerate(utterances(held_sentences, held_voices, limit, seed=97, channels=1.0)):
        audio = synthesize(u, 30_000 + i)
        channel_rows.append({"text": u.text, "voice": u.voice, "channel": u.channel, "whisper": whisper_only(audio),
                             **own(encoder.encode(audio)[0])})
    # Human speech (models.training.data.real_speech): alsa-utils' clips also through the LLM; the narration and the
    # single words, where installed, by the adapter and Whisper only.
    real = {name: [] for name in REAL_SETS}
    for set_name, clips in installed(list(REAL_SETS)).items():
        for text, audio in clips:
            feats = encoder.encode(audio)[0]
            mine = own(feats)
            through = ({"llm": answer(llm, projector, feats, TRANSCRIBE_PROMPT, 64, scorer, mine.get("heard"))}
                       if set_name == "alsa" else {})
            real[set_name].append({"text": text, **through, "whisper": whisper_only(audio), **mine})
    for name, rs in (("held_out_voices", rows), ("open_vocabulary", open_rows), ("rooms_and_phones", channel_rows),
                     *((REAL_SETS[n], rs) for n, rs in real.items())):
        for key, label in (("llm", "wer"), ("whisper", "whisper_wer"), ("ctc", "ctc_wer"), ("heard", "heard_wer")):
            if wer(rs, key) is not None:
                results[f"{name}_{label}"] = wer(rs, key)
        results[f"{name}_rows"] = rs
    typed = spoken = 0
    qa_rows = []
    for i, (q, word) in enumerate(FACT_QUESTIONS):
        typed_answer = _typed(llm, q)
        feats = encoder.encode(synthesize(Utterance(q, "espeak:en-us+f3", 1.0, 50, float("inf"), 0.0), i))[0]
        spoken_answer = answer(llm, projector, feats, "", scorer=scorer)
        typed += _mentions(typed_answer, word)
        spoken += _mentions(spoken_answer, word)
        qa_rows.append((q, typed_answer, spoken_answer))
    results["typed_accuracy"] = typed / len(FACT_QUESTIONS)
    results["spoken_accuracy"] = spoken / len(FACT_QUESTIONS)
    results["spoken_vs_typed"] = spoken / max(1, typed)
    results["qa_rows"] = qa_rows
    return results


def ctc_transcript(llm: LLM, projector: Projector, features: torch.Tensor) -> str | None:
    """A CTC adapter's greedy transcript (each frame's best unit, no LLM): the adapter alone, as training tracks it."""
    if not isinstance(projector, CTCHead):
        return None
    return projector.spell(projector.heard_ids(features.float()[None].to(llm.placement.device)), llm.tokenizer.decode)


def _typed(llm: LLM, question: str) -> str:
    ids, _ = llm.prompt_ids([{"role": "user", "content": question}], [])
    return _greedy(llm, llm.embed([ids]))


def main(argv: list[str] | None = None) -> int:
    """Evaluate and print a JSON summary (and the table rows for docs/EVALUATION.md)."""
    parser = argparse.ArgumentParser(prog="python -m models.training.evaluate")
    parser.add_argument("--modality", choices=("image", "speech"), default="image")
    parser.add_argument("--encoder", default="", help="default: efficientnet-lite0 (image), whisper-base (speech)")
    parser.add_argument("--llm", default="smollm2-135m-instruct", help="a bundled name or tier (fast, quality)")
    parser.add_argument("--runtime", default="auto", help="image: auto (as the assistant picks), llama.cpp or torch")
    parser.add_argument("--parts", default="gcompris,photos,vqa,scenes", help="image: which metrics to run")
    parser.add_argument("--adapter", type=Path)
    parser.add_argument("--limit", type=int, default=200, help="questions per metric")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--json", type=Path, help="also write the full results (with every answer) here")
    args = parser.parse_args(argv)
    encoder = args.encoder or ("efficientnet-lite0" if args.modality == "image" else "whisper-base")
    llm = llm_name(args.llm)
    adapter = args.adapter or adapter_dir(args.modality, encoder, llm)
    start = time.perf_counter()
    if args.modality == "image":
        results = evaluate_image(adapter, encoder, llm, args.limit, args.device, args.runtime,
                                 tuple(args.parts.split(",")))
    else:
        results = evaluate_speech(adapter, encoder, llm, args.limit, args.device)
    results["wall_s"] = round(time.perf_counter() - start, 1)
    results["hardware"] = platform.machine() + (", cuda" if torch.cuda.is_available() else ", cpu")
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))
    summary = {k: v for k, v in results.items() if not k.endswith("_rows")}
    print(json.dumps(summary, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
