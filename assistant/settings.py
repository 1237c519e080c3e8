"""User settings: one JSON file in the user config directory, read leniently, written atomically, private (0600:
it holds the API server and remote keys)."""

from __future__ import annotations

import dataclasses
import json
import logging
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

from platformdirs import user_config_dir, user_data_dir

from assistant.private_files import make_private, write_private
from assistant.templates import BUILTIN_TEMPLATES, PromptTemplate
from models.weights import DEFAULTS

log = logging.getLogger(__name__)


def config_dir() -> Path:
    """$ASSISTANT_CONFIG_DIR or the platform's config directory."""
    return Path(os.environ.get("ASSISTANT_CONFIG_DIR") or user_config_dir("omni-assistant"))


def data_dir() -> Path:
    """$ASSISTANT_DATA_DIR or the platform's data directory (history, attachments)."""
    return Path(os.environ.get("ASSISTANT_DATA_DIR") or user_data_dir("omni-assistant"))


@dataclass
class Settings:
    """Everything the user can change in the settings dialog."""

    llm: str = DEFAULTS["llm"]  # bundled name, hub id or local path
    whisper: str = DEFAULTS["whisper"]
    vision: str = DEFAULTS["vision"]
    device: str = "auto"  # auto | cpu | cuda
    quantize: str = "none"  # none | int8
    voice_mode: str = "cascade"  # native (speech adapter) | cascade (Whisper transcript)
    temperature: float = 0.7
    max_tokens: int = 256
    system_prompt: str = ""
    templates: list[PromptTemplate] = field(default_factory=lambda: list(BUILTIN_TEMPLATES))
    template: str = ""  # name of the template applied to new conversations ("" for none)
    pii_guard: bool = True
    language: str = "en"  # en | ko
    theme: str = "light"  # light | dark
    microphone: str = ""  # QtMultimedia device id; "" for the system default
    max_file_mb: int = 20
    max_pdf_pages: int = 300
    remote_url: str = ""  # answer with an OpenAI-compatible endpoint instead of the local LLM
    remote_model: str = ""
    remote_key: str = ""
    server_enabled: bool = False  # serve the local models as an OpenAI-compatible API (loopback)
    server_port: int = 8000
    server_key: str = ""

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
        defaults = cls()
        values = {}
        for f in dataclasses.fields(cls):
            if f.name not in raw:
                continue
            value, default = raw[f.name], getattr(defaults, f.name)
            if f.name == "templates":
                try:
                    value = [PromptTemplate.from_dict(t) for t in value]
                except (TypeError, KeyError, ValueError):
                    continue
            elif type(value) is not type(default) and not (isinstance(default, float) and isinstance(value, int)):
                continue  # a hand-edited value of the wrong type keeps its default
            values[f.name] = value
        return cls(**values)

    def save(self, path: Path | None = None) -> None:
        """Write atomically (temp file + rename) so a crash never leaves half a file; 0600 in a 0700 folder."""
        path = path or config_dir() / "settings.json"
        write_private(path, json.dumps(asdict(self), indent=2, ensure_ascii=False).encode("utf-8"))

    def find_template(self, name: str) -> PromptTemplate | None:
        """The template called name, if any."""
        return next((t for t in self.templates if t.name == name), None)
