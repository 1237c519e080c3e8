"""Frozen vision towers returning patch tokens (B, N, D): any open_clip ViT, or the bundled EfficientNet-Lite0."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import torch
from PIL import Image
from torch import nn

from models.device import Placement
from models.encoders.tower_input import pixels
from models.weights.catalog import MissingWeightsError


@dataclass
class VisionEncoder:
    """A frozen image tower: preprocess PIL images, encode to (B, N, D) patch tokens."""

    name: str
    tower: nn.Module
    preprocess: Callable[[Image.Image], torch.Tensor]  # PIL -> (3, H, W)
    dim: int
    tokens_fn: Callable[[nn.Module, torch.Tensor], torch.Tensor]

    @torch.inference_mode()
    def encode(self, images: list[Image.Image]) -> torch.Tensor:
        """(B, N, D) patch tokens for a list of RGB images."""
        param = next(self.tower.parameters())
        x = torch.stack([self.preprocess(im.convert("RGB")) for im in images]).to(param.device, param.dtype)
        return self.tokens_fn(self.tower, x)


def _efficientnet_tokens(tower: nn.Module, x: torch.Tensor) -> torch.Tensor:
    fmap = tower.extract_features(x)  # (B, 1280, 7, 7)
    return fmap.flatten(2).transpose(1, 2)  # (B, 49, 1280)


def _efficientnet_preprocess(size: int) -> Callable[[Image.Image], torch.Tensor]:
    return lambda img: torch.from_numpy(pixels(img, size))


def load_efficientnet(path: Path, placement: Placement, name: str = "efficientnet-lite0") -> VisionEncoder:
    """The bundled EfficientNet-Lite0 ImageNet tower: 224 px in, 7x7 = 49 tokens of 1280 out."""
    from efficientnet_lite_pytorch import EfficientNet

    tower = EfficientNet.from_name(name)
    tower.load_state_dict(torch.load(path, map_location="cpu", weights_only=True), strict=True)
    tower.to(placement.device, placement.dtype).eval().requires_grad_(False)
    return VisionEncoder(name, tower, _efficientnet_preprocess(224), 1280, _efficientnet_tokens)


def _open_clip_tokens(tower: nn.Module, x: torch.Tensor) -> torch.Tensor:
    _, tokens = tower(x)  # tokens: (B, N, width), the patch tokens before pooling
    return tokens


def load_open_clip(model_name: str, pretrained: str | None, placement: Placement) -> VisionEncoder:
    """An open_clip ViT's visual tower (any architecture name; pretrained tag, local file, or None for random)."""
    import open_clip

    if model_name not in open_clip.list_models():  # open_clip's own error lists all ~150 names in one line
        raise MissingWeightsError(f"open_clip has no model {model_name!r} (see open_clip.list_models())")
    model, _, preprocess = open_clip.create_model_and_transforms(model_name, pretrained=pretrained)
    tower = model.visual
    if not hasattr(tower, "output_tokens"):
        raise ValueError(f"open_clip model {model_name} has no patch-token output (only ViT towers are supported)")
    tower.output_tokens = True
    tower.to(placement.device, placement.dtype).eval().requires_grad_(False)
    dim = tower.transformer.width
    label = f"open_clip:{model_name}" + (f":{pretrained}" if pretrained else "")
    return VisionEncoder(label, tower, preprocess, dim, _open_clip_tokens)


def load_vision(name: str, path: Path, placement: Placement) -> VisionEncoder:
    """Dispatch by name: 'efficientnet-lite0' (bundled) or 'open_clip:<model>[:<pretrained tag or file>]'."""
    if name.startswith("open_clip:"):
        _, model_name, *rest = name.split(":", 2)
        return load_open_clip(model_name, rest[0] if rest else None, placement)
    return load_efficientnet(path, placement, name if name.startswith("efficientnet-lite") else "efficientnet-lite0")
