"""The main window's voice: answers read aloud (ui.read_aloud), recordings played, and the hands-free voice chat
(ui.voice_chat) asking, rehearsing and being stopped. A part of MainWindow (its strings are translated as the
window's)."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QCoreApplication, QUrl


translate = QCoreApplication.translate  # with the window's context: these strings are MainWindow's

class VoiceActions:
    """MainWindow's read-aloud, playback and voice chat (mixed into the window: it uses its widgets and session)."""

    @property
    def speaks_answers(self) -> bool:
        """Whether answers are read aloud as they stream: the setting says so, or a voice chat is on."""
        return self.settings.read_aloud or self.voice_chat.on

    def _reader(self):
        """The read-aloud queue (made on first use: it loads the voice and opens the sound output)."""
        if self.reader is None:
            from ui.read_aloud import ReadAloud

            self.reader = ReadAloud(self)
            self.reader.player.started.connect(self._on_sentence_started)
            self.reader.player.finished.connect(lambda: self.voice_chat.set_speaking(False))
            self.reader.failed.connect(
                lambda m: self.status_text.setText(
                    translate("MainWindow", "Could not read aloud: %1").replace("%1", m)))
            self.reader.warm()
        return self.reader

    @property
    def speaking(self) -> bool:
        """An answer is being read aloud (a sentence plays or waits to)."""
        return self.reader is not None and self.reader.speaking

    def read_aloud(self, text: str) -> None:
        """Speak an answer (offline voices); it starts as soon as its first sentence is synthesized."""
        self.stop_speaking()
        self.status_text.setText(translate("MainWindow", "Reading aloud…"))
        self._reader().read(text)

    def stop_speaking(self) -> None:
        """Silence: what is queued is dropped, what plays stops."""
        if self.reader is not None:
            self.reader.stop()
        self.voice_chat.set_speaking(False)

    def _on_sentence_started(self) -> None:
        self.voice_chat.set_speaking(True)
        self.voice_chat.sentence_started()

    def play_audio(self, path: Path) -> None:
        """Play a recording or audio attachment (reading aloud stops)."""
        from PySide6.QtMultimedia import QAudioOutput, QMediaPlayer

        self.stop_speaking()
        if self.player is None:
            self.player = QMediaPlayer(self)
            self.player.setAudioOutput(QAudioOutput(self.player))
        self.player.setSource(QUrl.fromLocalFile(str(path)))
        self.player.play()

    def set_voice_chat(self, on: bool) -> None:
        """The hands-free voice chat (ui.voice_chat): the app listens, answers aloud and listens again; talking over
        an answer stops it. The Voice chat button and F9 toggle it."""
        if on == self.voice_chat.on:
            return
        if not on:
            self.voice_chat.stop()
            self.composer.level.hide()
            return
        if not self.ready:
            wait = translate("MainWindow", "The models are still loading; start the voice chat when they are ready")
            self.status_text.setText(wait)
        elif self.composer.recorder.recording:  # push-to-talk is let go of: the voice chat takes the microphone
            self.composer.stop_recording(send=False)
        if not self.ready or not self.voice_chat.start(self.settings.microphone, self.settings.barge_in):
            self.composer.converse_button.setChecked(False)
            return
        self._reader()  # the voice loads and the sound output opens now, not when the first answer is ready
        self.composer.level.show()

    def _rehearse(self, wav: bytes, pause: int) -> None:
        """Work ahead on what the voice chat heard up to a pause (Session.rehearsal); an earlier rehearsal is called
        off (the words it had are out of date), as it is when speech resumes."""
        request = self.session.rehearsal(wav) if self.ready else None
        if request is None:
            return
        if self.rehearsing is not None:
            self.rehearsing.set()
        self.rehearsing = request.cancel
        self.request_rehearse.emit(request.conversation, request.options, request.voice_mode, request.cancel, pause)

    def _ask_aloud(self, wav: bytes) -> None:
        """Send what the voice chat heard as a spoken question (kept as its audio attachment)."""
        self._ask("", [("audio", self.history.capture(wav, "question", ".wav"))])
