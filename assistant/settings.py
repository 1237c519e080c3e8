"""User settings: one JSON file in the user config directory, read leniently, written atomically, private (0600:
it holds the API server and remote keys, unless a desktop keyring keeps them)."""

from __future__ import annotations

import dataclasses
import json
import logging
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

from platformdirs import user_config_dir, user_data_dir

from assistant import keys
from assistant.engine import EngineConfig
from assistant.private_files import make_private, write_private
from assistant.templates import BUILTIN_TEMPLATES, PromptTemplate
from models.decoders.sampling import SamplingOptions

log = logging.getLogger(__name__)


def config_dir() -> Path:
    """$ASSISTANT_CONFIG_DIR or the platform's config directory."""
    return Path(os.environ.get("ASSISTANT_CONFIG_DIR") or user_config_dir("omni-assistant"))


def data_dir() -> Path:
    """$ASSISTANT_DATA_DIR or the platform's data directory (history, attachments)."""
    return Path(os.environ.get("ASSISTANT_DATA_DIR") or user_data_dir("omni-assistant"))


OLD_MAX_TOKENS = 256  # the default until issue 25, which every saved settings file holds


@dataclass
class Settings:
    """Everything the user can change in the settings dialog."""

    # Which models, where, and the file limits: the engine's own config, passed to it whole. A change to it reloads
    # the models (the window compares whole values), so no field of it can be forgotten.
    engine: EngineConfig = field(default_factory=EngineConfig)
    voice_mode: str = "cascade"  # native (speech adapter) | cascade (Whisper transcript)
    temperature: float = 0.7
    max_tokens: int = SamplingOptions().max_new_tokens
    # The window's base system prompt, joined with the chosen template's; editing it needs no reload, so it is not
    # engine.system_prompt (which the GUI leaves empty).
    system_prompt: str = ""
    templates: list[PromptTemplate] = field(default_factory=lambda: list(BUILTIN_TEMPLATES))
    template: str = ""  # name of the template applied to new conversations ("" for none)
    pii_guard: bool = True
    language: str = "en"  # en | ko
    theme: str = "light"  # system | light | dark
    font_size: int = 0  # text size in points; 0: the system's
    microphone: str = ""  # QtMultimedia device id; "" for the system default
    read_aloud: bool = False  # speak each answer as it streams (the Read aloud button works either way)
    # In a voice chat, talking over a spoken answer stops it. On loudspeakers without echo cancellation the assistant
    # can hear itself: then turn this off, and it does not listen while it speaks.
    barge_in: bool = True
    attach_folder: str = ""  # where the Attach dialog opened a file last ("" for the home folder)
    server_enabled: bool = False  # serve the local models as an OpenAI-compatible API (loopback)
    server_port: int = 8000
    server_key: str = ""

    def serves_unlike(self, other: Settings) -> bool:
        """Whether the API must be restarted to go from these settings to other's: serving turned on or off, or its
        port or key changed (the models reloading restarts it too)."""
        return (self.server_enabled, self.server_port, self.server_key) != \
            (other.server_enabled, other.server_port, other.server_key)

    @classmethod
    def load(cls, path: Path | None = None) -> Settings:
        """Read settings; a missing file gives defaults, a corrupt one is kept aside and defaults are used."""
        path = path or config_dir() / "settings.json"
        make_private(path)  # an older version wrote it 0644
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
            if not isinstance(raw, dict):
                raise ValueError("not an object")
        except FileNotFoundError:
            return cls()
        except (OSError, ValueError) as e:
            log.warning("settings file %s is unreadable (%s); using defaults, old file kept as .bad", path, e)
            path.replace(path.with_suffix(".bad"))
            return cls()
        values = _typed(raw, cls())
        try:
            if "templates" in values:
                values["templates"] = [PromptTemplate.from_dict(t) for t in values["templates"]]
        except (TypeError, KeyError, ValueError):
            del values["templates"]
        # Files written before the engine's config was nested kept its fields at the top level (system_prompt there
        # was and stays the window's own).
        engine = raw.get("engine")
        values["engine"] = _engine_config(engine if isinstance(engine, dict) else
                                          {k: v for k, v in raw.items() if k != "system_prompt"})
        if values.get("max_tokens") == OLD_MAX_TOKENS:  # the old default, saved with everything else: not chosen
            values["max_tokens"] = cls.max_tokens
        settings = cls(**values)
        # Keys kept in the desktop keyring are blank in the file (one left in the file, from before a keyring was
        # there, is used and moves to the keyring on the next save).
        remote_key = settings.engine.remote_key or keys.load(path, "remote_key")
        return dataclasses.replace(settings, server_key=settings.server_key or keys.load(path, "server_key"),
                                   engine=dataclasses.replace(settings.engine, remote_key=remote_key))

    def save(self, path: Path | None = None) -> None:
        """Write atomically (temp file + rename) so a crash never leaves half a file; 0600 in a 0700 folder. The API
        keys go to the desktop keyring when there is one (see assistant.keys), and are blank in the file."""
        path = path or config_dir() / "settings.json"
        data = asdict(self)
        if keys.save(path, "server_key", self.server_key):
            data["server_key"] = ""
        if keys.save(path, "remote_key", self.engine.remote_key):
            data["engine"]["remote_key"] = ""
        write_private(path, json.dumps(data, indent=2, ensure_ascii=False).encode("utf-8"))

    def find_template(self, name: str) -> PromptTemplate | None:
        """The template called name, if any."""
        return next((t for t in self.templates if t.name == name), None)


def _typed(raw: dict, defaults) -> dict:
    """The entries of raw that name a field of the dataclass `defaults` and have its default's type: a hand-edited
    value of the wrong type keeps its default."""
    values = {}
    for f in dataclasses.fields(defaults):
        value, default = raw.get(f.name), getattr(defaults, f.name)
        if f.name in raw and (type(value) is type(default) or isinstance(default, float) and isinstance(value, int)):
            values[f.name] = value
    return values


def _engine_config(raw: dict) -> EngineConfig:
    """The engine's config from its JSON form, field by field: a value the engine refuses keeps its default."""
    config = EngineConfig()
    for name, value in _typed(raw, config).items():
        try:
            config = dataclasses.replace(config, **{name: value})
        except ValueError:
            log.warning("settings: %s=%r is refused; using %r", name, value, getattr(config, name))
    return config
