"""The main window's models and settings: the model and voice-mode switches above the chat, the loading progress
and the API's state in the status bar, and applying new settings. A part of MainWindow (its strings are translated
as the window's)."""

from __future__ import annotations

from dataclasses import replace

from PySide6.QtCore import QCoreApplication
from PySide6.QtWidgets import QApplication

from assistant.settings import Settings
from ui.theme import apply_theme, resolve_theme

INSTALL = "install:"  # the model box's last entry, which opens the Install dialog (no model has this name)


translate = QCoreApplication.translate  # with the window's context: these strings are MainWindow's

class ModelActions:
    """MainWindow's model switching, loading status and settings (mixed into the window)."""

    def _fill_switches(self) -> None:
        """The model and voice-mode boxes above the chat, showing the settings in use."""
        from models.weights.catalog import canonical
        from ui.settings_dialog import llm_choices, voice_choices

        current = self.settings.engine.llm
        choices = llm_choices(short=True)
        if all(canonical(value) != canonical(current) for value, _ in choices):
            choices.append((current, current))  # a path or Hugging Face id chosen in settings
        for box, values, chosen in ((self.model_box, choices, canonical(current)),
                                    (self.voice_box, voice_choices(short=True), self.settings.voice_mode)):
            box.clear()
            for value, label in values:
                box.addItem(label, value)
            box.setCurrentIndex(next(i for i, (v, _) in enumerate(values) if canonical(v) == chosen))
        self.model_box.insertSeparator(self.model_box.count())
        self.model_box.addItem(translate("MainWindow", "Install a model…"), INSTALL)
        self.model_box.setToolTip(translate("MainWindow",
                                            "The model that answers (loads in the background): %1").replace(
            "%1", canonical(current)))
        self.voice_box.setToolTip(translate("MainWindow", "How a spoken question reaches the model"))

    def _switch_model(self, index: int) -> None:
        from models.weights.catalog import canonical

        value = self.model_box.itemData(index)
        if value == INSTALL:
            value = self.install_model()
            self._fill_switches()  # the new model is listed; the box shows the model in use until it is chosen
            if value is None:
                return
        if canonical(value) != canonical(self.settings.engine.llm):
            self.apply_settings(replace(self.settings, engine=replace(self.settings.engine, llm=value)))

    def install_model(self) -> str | None:
        """The Install dialog; the name of the model it installed, if any."""
        from ui.install_dialog import InstallDialog

        dialog = InstallDialog(self)
        dialog.exec()
        return dialog.installed_name

    def _on_loading(self, stage: str) -> None:
        """A loading step: its name in the UI's language, and how far along loading is where the step is known."""
        steps = {"starting": translate("MainWindow", "the engine"),
                 "loading llm model": translate("MainWindow", "the language model"),
                 "loading whisper model": translate("MainWindow", "the speech model"),
                 "loading vision model": translate("MainWindow", "the vision model")}  # Engine.preload's order
        self.progress.show()
        if self.ready:  # a model loaded on first use while an answer waits (OCR, say): until that answer ends
            self.progress.setRange(0, 0)
            loading = translate("MainWindow", "Loading: %1")
            self.status_text.setText(loading.replace("%1", stage.removeprefix("loading ")))
        elif stage in steps:
            done = list(steps).index(stage)
            self.progress.setRange(0, 100)
            self.progress.setValue(100 * done // len(steps))
            step = translate("MainWindow", "Loading %1 (step %2 of %3, %4%)")
            self.status_text.setText(step.replace("%1", steps[stage]).replace("%2", str(done + 1)).replace(
                "%3", str(len(steps))).replace("%4", str(self.progress.value())))
        elif stage.startswith("preparing "):  # the weights are converted into the cache: minutes, once
            self.progress.setRange(0, 0)
            preparing = translate("MainWindow", "First run: preparing %1 (once; this can take a few minutes)")
            self.status_text.setText(preparing.replace("%1", stage.removeprefix("preparing ")))
        else:  # a step this window does not know (a remote endpoint's, say): shown as it came, no percentage
            self.progress.setRange(0, 0)
            self.status_text.setText(translate("MainWindow", "Loading: %1").replace("%1", stage))

    def _on_ready(self, models: dict, seconds: float) -> None:
        self.ready = True
        self.progress.setRange(0, 100)
        self.progress.setValue(100)
        self.progress.hide()
        note = translate("MainWindow", "Ready: %1 (loaded in %2 s)").replace("%1", models.get("llm", "")).replace(
            "%2", f"{seconds:.1f}")
        if self.session.recovered:
            kept = translate("MainWindow", "%1 interrupted answer(s) from the last session were kept")
            note += " · " + kept.replace(
                "%1", str(self.session.recovered))
        self.status_text.setText(note)
        if self.settings.server_enabled:
            self.request_serve.emit(self.settings)

    def _on_serving(self, url: str) -> None:
        self.api_url = url
        self.status_text.setText(translate("MainWindow", "API serving at %1").replace("%1", url) if url
                                 else translate("MainWindow", "API stopped"))

    def _on_load_failed(self, message: str) -> None:
        self.progress.hide()
        self.status_text.setText(translate("MainWindow", "Could not load the models: %1").replace("%1", message))

    def open_settings(self) -> None:
        """The settings dialog; applies and saves on OK."""
        from ui.settings_dialog import SettingsDialog

        dialog = SettingsDialog(self.settings, self)
        if dialog.exec():
            self.apply_settings(dialog.result_settings())

    def _remember_folder(self, folder: str) -> None:
        """The Attach dialog opens where files were last picked, also after a restart."""
        if folder != self.settings.attach_folder:
            self.settings = replace(self.settings, attach_folder=folder)
            self.settings.save(self.settings_path)

    def _on_system_scheme(self, _scheme) -> None:
        """The desktop switched between light and dark: follow it when the theme is "system"."""
        if self.settings.theme == "system":
            self.apply_settings(self.settings)

    def apply_settings(self, new: Settings) -> None:
        """Use new settings: theme and language now, models reloaded in the background if they changed."""
        from ui.i18n import install_language

        reload = new.engine != self.settings.engine  # the whole config: models, device, limits, endpoint
        reserve = self.settings.serves_unlike(new)
        language_changed = new.language != self.settings.language
        self.settings = new
        new.save(self.settings_path)
        apply_theme(QApplication.instance(), new.theme, new.font_size)
        if language_changed:
            install_language(QApplication.instance(), new.language)
        self.retranslate()
        self.messages.dark = resolve_theme(new.theme) == "dark"
        if self.session.conversation is not None and not self.busy:
            self.messages.show_messages(self.session.messages())
        if reload and not self.busy:
            self.load_models()  # serving restarts once the new models are ready
        elif reserve:
            self.request_serve.emit(new)

    def load_models(self) -> None:
        """Start (re)loading the models on the worker thread."""
        self.ready = False
        self.progress.show()
        self.request_load.emit(self.settings.engine)
