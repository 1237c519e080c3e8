"""tools.evaluate_answers without weights: the grading rules, the question set, and run() over a scripted engine."""

import json

import pytest

from assistant.conversation import Done, Error, FilePart, TokenDelta
from tools import evaluate_answers as ev
from tools.answer_set import TABLE_CSV


def test_grade_accepts_right_and_wordy_answers_and_refuses_wrong_ones():
    gold = (r"\bAu\b",)
    assert ev.grade("Au", gold)
    assert ev.grade("The chemical symbol for gold is Au, from the Latin aurum.", gold)
    assert ev.grade("the symbol is au", gold)  # case-insensitive
    assert not ev.grade("The chemical symbol for gold is Ag.", gold)
    assert not ev.grade("Gold is written Aurum in Latin.", gold)  # "Au" inside a word is not the symbol
    assert ev.grade("Kiev", (r"\bkyiv\b", r"\bkiev\b"))  # any accepted pattern will do


def test_the_first_value_stated_decides():
    lowest, war = ev.TABLE[1], next(q for q in ev.TRIVIA if "World War II" in q.text)
    assert not ev.grade("The lowest price is $29.85. The highest was $12.4 with a minimum of 3.25.", lowest.accepted,
                        lowest.rejected)
    assert ev.grade("The lowest price is 3.25 (notebook); the highest is 97.5.", lowest.accepted, lowest.rejected)
    assert not ev.grade("In 2019 the United States ended the war with Japan's surrender in 1945.", war.accepted,
                        war.rejected)
    assert ev.grade("It lasted from 1939 to 1945.", war.accepted, war.rejected)
    assert ev.grade("Paris, not Lyon.", ("paris",), ("lyon",))
    assert not ev.grade("Lyon, not Paris.", ("paris",), ("lyon",))


def test_numeric_patterns_do_not_match_inside_other_numbers():
    highest = ev.TABLE[0].accepted
    assert ev.grade("The highest price is $97.50.", highest)
    assert not ev.grade("The highest price is 197.5.", highest)
    assert not ev.grade("The highest price is $14.43.", highest)
    assert ev.grade("The table has 10.", ev.TABLE[2].accepted) and not ev.grade("It has 10.5.", ev.TABLE[2].accepted)
    planets = next(q for q in ev.TRIVIA if "planets" in q.text).accepted
    assert not ev.grade("There are 18 planets.", planets) and not ev.grade("There are 9 planets.", planets)


def test_a_worked_answer_counts_by_its_result():
    shirt = next(q for q in ev.TRIVIA if "shirt" in q.text).accepted
    assert ev.grade("```output\n10.0\n```\nThe sale price of the shirt is \\(\\boxed{10}\\).", shirt)
    assert ev.grade("The sale price is ten dollars.", shirt) and ev.grade("It costs $10.", shirt)
    assert not ev.grade("The sale price is $15, a 25% saving.", shirt)
    assert not ev.grade("You save 10 % so it costs $18.", shirt) and not ev.grade("It costs $10.50.", shirt)


def test_hangul_share():
    assert ev.hangul_share("서울입니다.") == 1.0
    assert ev.hangul_share("What is the capital of Korea?") == 0.0
    assert ev.hangul_share("") == 0.0
    assert ev.hangul_share("서울 Seoul") == pytest.approx(2 / 7)
    assert ev.hangul_share("100도 입니다!!!") == 1.0  # digits and punctuation are not letters


def test_is_english():
    assert ev.is_english("Sure! Bring some sandwiches and fruit for the picnic.")
    assert ev.is_english("Okay.")
    assert not ev.is_english("Bien sûr ! Vous pouvez apporter des sandwichs et des fruits pour le pique-nique.")
    assert not ev.is_english("Je pense que c'est une bonne idée pour vous et votre famille")  # no accents needed
    assert not ev.is_english("한국의 수도는 서울입니다.")
    assert not ev.is_english("")


@pytest.mark.parametrize("question", ev.TRIVIA + ev.TABLE + ev.KOREAN, ids=lambda q: q.text)
def test_each_sample_answer_is_accepted(question):
    assert question.accepted and ev.grade(question.sample, question.accepted, question.rejected)
    assert not ev.grade("I don't know.", question.accepted, question.rejected)


def test_question_set_shape():
    assert len(ev.TRIVIA) == 30 and len({q.text for q in ev.TRIVIA}) == 30
    assert len({q.topic for q in ev.TRIVIA}) >= 5
    assert 3 <= len(ev.KOREAN) <= 5 and all(ev.hangul_share(q.text) > 0.5 for q in ev.KOREAN)
    assert all(ev.hangul_share(q.sample) >= ev.HANGUL_MIN for q in ev.KOREAN)
    assert len(ev.SMALL_TALK) == 12 and all(ev.is_english(t) for t in ev.SMALL_TALK)


def test_trivia_avoids_the_speech_training_questions():
    from models.training.data.speech_data import FACT_QUESTIONS

    held = {q.lower() for q, _ in FACT_QUESTIONS}
    assert not held & {q.text.lower() for q in ev.TRIVIA}


class ScriptedEngine:
    """Answers each user message from a function of (its text, whether a file is attached, the turn number),
    streamed as two TokenDeltas and a Done, as the Engine does."""

    def __init__(self, answer):
        self.answer = answer
        self.seen = []

    def respond(self, conversation, options, voice_mode="cascade", cancel=None, leave_out_unreadable=False):
        assert options.temperature == 0
        self.max_new_tokens = options.max_new_tokens
        last = conversation[-1]
        self.seen.append(list(conversation))
        text = self.answer(last.text, any(isinstance(p, FilePart) for p in last.parts),
                           sum(m.role == "user" for m in conversation))
        yield TokenDelta(text[: len(text) // 2])
        yield TokenDelta(text[len(text) // 2 :])
        yield Done(text, "stop")

    parallel = 1

    def model_names(self):
        return {"llm": "scripted"}


def test_run_counts_with_a_scripted_engine():
    samples = {q.text: q.sample for q in ev.TRIVIA + ev.KOREAN}
    wrong = {ev.TRIVIA[0].text, ev.TRIVIA[5].text, ev.TRIVIA[29].text}
    english_fact = ev.KOREAN[0].text  # right fact, but answered in English: not counted

    def answer(text, has_file, turn):
        if has_file:
            return {"What is the highest price?": "The highest price is 97.5."}.get(text, "I cannot tell.")
        if text in wrong:
            return "I am not sure, sorry."
        if text == english_fact:
            return "The capital of South Korea is 서울 (Seoul), a very large city."
        if text in samples:
            return samples[text]
        return "Sure, here are some ideas." if turn < 11 else "Bien sûr, voici des idées pour vous et votre famille."

    engine = ScriptedEngine(answer)
    results = ev.run(engine)
    assert (results["trivia"]["passed"], results["trivia"]["total"]) == (27, 30)
    assert (results["table"]["passed"], results["table"]["total"]) == (1, 4)
    k = results["korean"]
    assert (k["passed"], k["fact"], k["hangul_ok"], k["total"]) == (4, 5, 4, 5)
    m = results["multi_turn"]
    assert m["english"] is False and m["english_turns"] == 10 and m["total"] == 12
    # the 12 turns are one growing conversation; the table questions carry the CSV
    assert len(engine.seen[-1]) == 23
    table_convo = engine.seen[30]
    assert any(isinstance(p, FilePart) and p.path.name == "prices.csv" for p in table_convo[-1].parts)
    assert "summary" not in results and "trivia" in ev.summary(results) and "no" in ev.summary(results)


def test_run_reports_each_answer_and_runs_only_the_parts_asked():
    lines = []
    results = ev.run(ScriptedEngine(lambda text, has_file, turn: "Hello there."), ("multi_turn",), lines.append)
    assert set(results) == {"multi_turn"} and results["multi_turn"]["english"] is True
    assert len([line for line in lines if line.startswith("  [en]")]) == 12


def test_an_error_event_stops_the_run():
    class Failing:
        def respond(self, conversation, options, voice_mode="cascade", cancel=None, leave_out_unreadable=False):
            yield Error("no model")

    with pytest.raises(RuntimeError, match="no model"):
        ev.run(Failing(), ("trivia",))


def test_table_csv_statistics_match_the_accepted_answers():
    from assistant.documents import table_facts
    import csv
    import io

    rows = list(csv.reader(io.StringIO(TABLE_CSV)))
    facts = table_facts("prices.csv", rows[0], rows[1:])
    assert "10 data rows" in facts and "smallest 3.25 (product notebook), largest 97.5 (product headphones), average 29.85" in facts


def test_json_and_usage(capsys, monkeypatch):
    with pytest.raises(SystemExit) as e:
        ev.main(["--parts", "trivia,bogus"])
    assert e.value.code == 2
    engine = ScriptedEngine(lambda text, has_file, turn: "Moscow" if "Russia" in text else "?")
    engine.preload = lambda **kw: None
    monkeypatch.setattr(ev, "create_engine", lambda config: engine)
    assert ev.main(["--parts", "trivia", "--json", "--quantize", "int8", "--max-new-tokens", "7"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert engine.max_new_tokens == 7 and out["max_new_tokens"] == 7
    assert out["trivia"]["passed"] == 1 and out["config"]["quantize"] == "int8" and "remote_key" not in out["config"]


def test_spoken_trivia_is_asked_aloud_natively_and_through_whisper(monkeypatch):
    import numpy as np

    import models.training.data.speech_data as sd
    from assistant.conversation import AudioPart
    from assistant.media import load_audio

    voices = []
    monkeypatch.setattr(sd, "synthesize", lambda u, seed=0: voices.append(u.voice) or np.zeros(8000, np.float32))
    samples = iter([q.sample for q in ev.TRIVIA] * 2)

    class Engine:
        modes = []

        def respond(self, conversation, options, voice_mode="cascade", cancel=None, leave_out_unreadable=False):
            audio = [p for p in conversation[-1].parts if isinstance(p, AudioPart)]
            assert len(audio) == 1 and len(load_audio(audio[0].source)) == 8000  # the clip, as a WAV file
            self.modes.append(voice_mode)
            answer = next(samples)
            yield Done(answer if voice_mode == "cascade" else "I did not catch that.", "stop")

    results = ev.run(Engine(), ("spoken",))["spoken"]
    assert (results["native"]["passed"], results["cascade"]["passed"], results["cascade"]["total"]) == (0, 30, 30)
    assert Engine.modes == ["native"] * 30 + ["cascade"] * 30 and set(voices) == {ev.SPOKEN_VOICE}
    assert ev.SPOKEN_VOICE.split(":")[1] in sd.HELD_OUT_VOICES and "spoken" in ev.summary({"spoken": results})


def test_every_follow_up_rule_accepts_its_sample_and_rejects_a_refusal():
    from tools.evaluate_answers import turn_passes
    from tools.followup_set import FOLLOWUPS, TABLES

    assert len(FOLLOWUPS) >= 20 and {f.kind for f in FOLLOWUPS} == {"photo", "screenshot", "table", "language"}
    for convo in FOLLOWUPS:
        assert any(t.graded for t in convo.turns) and len(convo.turns) >= 2, convo.name
        for turn in convo.turns:
            assert not turn.attach.startswith("table:") or turn.attach[6:] in TABLES
            if turn.graded and turn.accepted:
                assert turn_passes(turn, turn.sample), (convo.name, turn.text)
            assert not turn_passes(turn, "I'm sorry, but as an AI language model, I cannot view images."), convo.name
    horse = next(f for f in FOLLOWUPS if f.name == "photo-horse-count").turns[1]
    assert not turn_passes(horse, "There are 5 horses and the sky is blue.")
    assert not turn_passes(next(f for f in FOLLOWUPS if f.name == "lang-ko-then-en").turns[1],
                           "서울에는 약 950만 명이 살고 있습니다.")  # right fact, wrong language
