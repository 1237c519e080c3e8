"""The PySide6 desktop app over the assistant core."""
