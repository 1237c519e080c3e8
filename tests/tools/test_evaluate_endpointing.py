"""The endpointing evaluation's rules on scripted voice detection: a pause that sounds finished ends the utterance
sooner, and a clip heard as two utterances counts as cut off."""

import numpy as np

from assistant.vad import FRAME, Listener, VadOptions
from tests.assistant.test_vad import Scripted
from tools.evaluate_endpointing import TAIL_S, endpoint, summarize

SPEECH, GAP = [0.9] * 20, [0.1] * 16  # 0.64 s of speech, then a 0.51 s pause: past early_end_ms, short of the end


def clip(probs):
    return np.full(len(probs) * FRAME, 0.01, np.float32)


def listener(probs):
    return Listener(VadOptions(), Scripted(probs + [0.0] * int(TAIL_S * 16000 / FRAME)))


def test_a_pause_after_finished_words_ends_the_utterance_there_and_the_speaker_is_cut_off():
    probs = SPEECH + GAP + SPEECH
    asked = []
    fixed = endpoint(clip(probs), None, listener(probs))
    hurried = endpoint(clip(probs), lambda audio: asked.append(len(audio)) or "Turn left.", listener(probs))
    assert len(fixed.trailing) == 1 and not fixed.cut_off  # 0.51 s is a breath, under the fixed 0.7 s end
    assert hurried.cut_off and hurried.hurried == ["Turn left.", "Turn left."] and len(asked) == 2
    assert hurried.trailing[0] < fixed.trailing[0]  # and the last utterance ended sooner too


def test_unfinished_words_keep_the_fixed_pause_and_the_summary_counts_cut_offs():
    probs = SPEECH + GAP + SPEECH
    unfinished = endpoint(clip(probs), lambda audio: "Turn left and", listener(probs))
    assert not unfinished.cut_off and not unfinished.hurried
    cut = endpoint(clip(probs), lambda audio: "Turn left.", listener(probs))
    row = summarize([("a", unfinished), ("b", cut)])
    assert (row["clips"], row["cut_off"], row["cut_off_rate"], row["cut_clips"]) == (2, 1, 0.5, ["b"])
    assert row["hurried"] == 1 and row["pauses_talked_on"] == 1  # the unfinished clip talked on after its pause
