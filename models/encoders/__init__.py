"""Frozen encoders and readers: Whisper, the vision towers, OCR, sentence embeddings, audio files."""
