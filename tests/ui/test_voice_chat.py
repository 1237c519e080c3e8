"""The hands-free voice chat through the real window: a real person's voice (alsa-utils' clips) played into the
virtual microphone, Silero's voice detection, the answer read aloud by the real voices, barge-in."""

from dataclasses import replace

import numpy as np
import pytest
from PySide6.QtCore import Qt

from assistant.media import SAMPLE_RATE, load_audio, to_wav
from assistant.settings import Settings
from models.training.data.real_speech import ALSA
from tests.ui.conftest import FakeEngine, wait_idle

LONG_ANSWER = " ".join(["This is a long answer that keeps going so there is time to talk over it."] * 6)


@pytest.fixture
def said(tmp_path):
    """A person saying "front center, rear center" (two of alsa-utils' clips), as a WAV file to play."""
    if not (ALSA / "Front_Center.wav").exists():
        pytest.skip("alsa-utils' clips are not installed")
    speech = np.concatenate([load_audio(ALSA / "Front_Center.wav"), np.zeros(SAMPLE_RATE // 4, np.float32),
                             load_audio(ALSA / "Rear_Center.wav")])
    path = tmp_path / "said.wav"
    path.write_bytes(to_wav(speech))
    return path


@pytest.fixture
def chat(make_window, microphone):
    """A window whose microphone is the virtual one, and a function that starts its voice chat."""
    if microphone is None:
        pytest.skip("PulseAudio is not installed: no virtual microphone")

    def make(engine, **settings):
        w = make_window(engine, Settings(microphone=microphone.device_id, **settings))
        w.composer.converse_button.click()
        assert w.voice_chat.on and w.voice_chat.ears.listening
        return w
    return make


def questions(w):
    return [m for m in w.session.messages() if m.role == "user"]


def test_a_voice_chat_listens_answers_aloud_and_listens_again(chat, qtbot, microphone, said):
    fake = FakeEngine(answer="Paris is the capital of France.")
    w = chat(fake)
    assert "listening" in w.status_text.text()
    assert not w.settings.read_aloud  # spoken anyway: it is a voice chat
    microphone.play(said)
    qtbot.waitUntil(lambda: len(fake.seen) == 1, timeout=15_000)
    asked = questions(w)[0]
    assert asked.attachments and asked.attachments[0].kind == "audio"  # the utterance, kept with the question
    heard = load_audio(asked.attachments[0].path)
    assert 1.5 < len(heard) / SAMPLE_RATE < 5  # the whole of what was said, not the silence around it
    qtbot.waitUntil(lambda: len(w.voice_chat.first_audio) == 1, timeout=30_000)  # its answer was spoken
    assert 0 < w.voice_chat.first_audio[0] < 30
    qtbot.waitUntil(lambda: not w.busy and not w.speaking, timeout=30_000)
    assert "listening" in w.status_text.text()
    assert w.session.info().title == "what is the capital of France"  # titled by what was heard
    microphone.play(said)  # and it listens again, no key held
    qtbot.waitUntil(lambda: len(fake.seen) == 2, timeout=15_000)
    w.composer.converse_button.click()
    assert not w.voice_chat.on and not w.voice_chat.ears.listening


def test_pauses_are_rehearsed_out_of_sight_and_what_is_asked_is_the_whole_utterance(chat, qtbot, microphone, said):
    """At a pause the words so far are rehearsed (transcribed and prefilled ahead: nothing stored, shown or spoken);
    a rehearsal of words the speaker went on from is never asked; the question asked is the rehearsed audio exactly,
    so the engine finds its transcript and prompt cached."""
    fake = FakeEngine(answer="Paris is the capital of France.")
    w = chat(fake)
    microphone.play(said)
    qtbot.waitUntil(lambda: len(fake.seen) == 1, timeout=15_000)
    asked = load_audio(questions(w)[0].attachments[0].path)
    rehearsed = [load_audio(c[-1].parts[0].source) for c, _, _ in fake.rehearsed]
    assert rehearsed and np.array_equal(rehearsed[-1], asked)
    assert all(len(r) < len(asked) for r in rehearsed[:-1])  # "front center" before the speaker went on
    assert all(options.ahead for _, options, _ in fake.rehearsed)  # its tokens serve the question, if it is asked
    qtbot.waitUntil(lambda: len(w.voice_chat.first_audio) == 1, timeout=30_000)
    qtbot.waitUntil(lambda: not w.busy and not w.speaking, timeout=30_000)
    assert len(w.voice_chat.first_audio) == 1  # one answer spoken: the question's, none of a rehearsal's
    assert [(m.role, m.text) for m in w.session.messages()] == [("user", ""), ("assistant", fake.answer)]


def test_words_heard_ahead_that_sound_finished_end_the_pause_sooner(chat, monkeypatch):
    w = chat(FakeEngine())
    hurried = []
    monkeypatch.setattr(w.voice_chat.ears, "hurry", hurried.append)
    for text, pause in [("What is the capital of Japan?", 1), ("so the thing is", 2), ("Tell me more.", 3),
                        ("한국의 수도는 어디입니까?", 4), ("and then", 5)]:
        w.voice_chat.heard_ahead(text, pause)
    assert hurried == [1, 3, 4]


def test_talking_over_the_answer_stops_it_and_asks_the_new_question(chat, qtbot, microphone, said):
    fake = FakeEngine(answer=LONG_ANSWER, delay=0.08)
    w = chat(fake)
    microphone.play(said)
    qtbot.waitUntil(lambda: w.speaking, timeout=30_000)  # the first sentence is spoken while the rest streams
    first = w.session.answer.id
    microphone.play(said)
    qtbot.waitUntil(lambda: len(fake.seen) == 2, timeout=15_000)
    stopped = next(m for m in w.session.messages() if m.id == first)
    assert stopped.status == "stopped" and len(stopped.text) < len(LONG_ANSWER)
    assert len(questions(w)) == 2
    w.stop()
    wait_idle(qtbot, w)


def test_a_sound_over_the_answer_holds_its_speech_at_once_and_a_cough_lets_it_go_on(chat, qtbot):
    fake = FakeEngine(answer=LONG_ANSWER, delay=0.05)
    w = chat(fake)
    w._ask_aloud(to_wav(np.zeros(SAMPLE_RATE, np.float32)))
    qtbot.waitUntil(lambda: w.speaking and w.reader.player.written > 0, timeout=30_000)
    player = w.reader.player
    w.voice_chat.ears.onset.emit()  # the first frame that may be someone talking
    assert player.held and w.speaking
    fed = player.fed
    qtbot.wait(200)
    assert player.fed == fed  # its place is kept
    w.voice_chat.ears.false_start.emit()  # it was a cough: the sentence goes on from there
    assert not player.held
    qtbot.waitUntil(lambda: player.fed > fed, timeout=10_000)
    w.voice_chat.ears.onset.emit()
    w.voice_chat.ears.speech_started.emit()  # it was talking: the answer and its speech stop
    assert not w.speaking and not player.held
    wait_idle(qtbot, w)
    assert w.session.messages()[-1].status == "stopped"


def test_with_barge_in_off_it_does_not_listen_while_speaking(chat, qtbot, microphone, said):
    fake = FakeEngine(answer=LONG_ANSWER, delay=0.05)
    w = chat(fake, barge_in=False)
    microphone.play(said)
    qtbot.waitUntil(lambda: w.speaking, timeout=30_000)
    assert w.voice_chat.ears.mode == "deaf"
    microphone.play(said, wait=True)
    qtbot.wait(1500)
    assert len(fake.seen) == 1 and w.speaking  # not interrupted, not asked again
    w.stop()
    wait_idle(qtbot, w)


def test_the_voice_chat_waits_for_the_models_and_f9_toggles_it(make_window, qtbot, microphone):
    if microphone is None:
        pytest.skip("PulseAudio is not installed: no virtual microphone")
    w = make_window(FakeEngine(load_delay=3), Settings(microphone=microphone.device_id), load=False)
    w.load_models()
    w.composer.converse_button.click()
    assert not w.voice_chat.on and not w.composer.converse_button.isChecked()
    assert "loading" in w.status_text.text()
    qtbot.waitUntil(lambda: w.ready, timeout=10_000)
    qtbot.keyClick(w.composer.input, Qt.Key_F9)
    assert w.voice_chat.on and w.composer.converse_button.isChecked()
    w.composer.start_recording()  # push-to-talk cannot take the microphone from the voice chat
    assert not w.composer.recorder.recording
    qtbot.keyClick(w.composer.input, Qt.Key_F9)
    assert not w.voice_chat.on and not w.voice_chat.ears.listening and "ended" in w.status_text.text()


def test_a_microphone_that_cannot_open_ends_the_voice_chat_with_a_message(make_window, monkeypatch):
    from PySide6.QtMultimedia import QMediaDevices

    monkeypatch.setattr(QMediaDevices, "audioInputs", staticmethod(lambda: []))
    w = make_window(FakeEngine())
    w.apply_settings(replace(w.settings, microphone=""))
    w.composer.converse_button.click()
    assert not w.voice_chat.on and not w.composer.converse_button.isChecked()
    assert "No microphone" in w.status_text.text()


def test_a_korean_voice_chat_speaks_its_korean_answer(make_window, qtbot, microphone, said):
    """The Korean UI's voice chat: its status in Korean, the Korean answer read aloud (by espeak-ng)."""
    if microphone is None:
        pytest.skip("PulseAudio is not installed: no virtual microphone")
    fake = FakeEngine(answer="서울은 한국의 수도입니다.")
    w = make_window(fake, Settings(microphone=microphone.device_id))
    w.apply_settings(replace(w.settings, language="ko"))
    try:
        w.composer.converse_button.click()
        assert "듣는 중" in w.status_text.text() and w.composer.converse_button.text() == "음성 대화 (F9)"
        microphone.play(said)
        qtbot.waitUntil(lambda: len(w.voice_chat.first_audio) == 1, timeout=30_000)
        assert w.reader.speaker.engine_for(fake.answer) == "espeak"
        qtbot.waitUntil(lambda: not w.busy and not w.speaking, timeout=30_000)
        w.composer.converse_button.click()
        assert "음성 대화가 끝났습니다" in w.status_text.text()
    finally:
        w.apply_settings(replace(w.settings, language="en"))
