"""What the EfficientNet-Lite towers take in, without torch: shared by torch's path (models.encoders.vision) and
onnxruntime's (models.adapters.vision_onnx)."""

from __future__ import annotations

import numpy as np
from PIL import Image

SIZE = 224  # EfficientNet-Lite0's input


def pixels(img: Image.Image, size: int = SIZE) -> np.ndarray:
    """(3, size, size) float32 input of an EfficientNet-Lite tower: the short side resized, center-cropped, scaled to
    [-1, 1] (lite models use mean = std = 0.5), as the tower was trained."""
    w, h = img.size
    scale = size / min(w, h)
    img = img.convert("RGB").resize((max(size, round(w * scale)), max(size, round(h * scale))), Image.BICUBIC)
    left, top = (img.width - size) // 2, (img.height - size) // 2
    arr = np.asarray(img.crop((left, top, left + size, top + size)), dtype=np.float32) / 255.0
    return np.ascontiguousarray(((arr - 0.5) / 0.5).transpose(2, 0, 1))
