"""Vision towers on tiny random configs: open_clip ViT and EfficientNet-Lite0 token shapes."""

import json

import pytest
import torch
from PIL import Image

from models.device import choose_placement
from models.encoders.vision import _efficientnet_preprocess, _efficientnet_tokens, load_open_clip, load_vision

TINY_VIT = {
    "embed_dim": 16,
    "vision_cfg": {"image_size": 32, "layers": 2, "width": 48, "patch_size": 8, "head_width": 16},
    "text_cfg": {"context_length": 8, "vocab_size": 64, "width": 16, "heads": 2, "layers": 1},
}


@pytest.fixture(scope="module")
def tiny_clip_name(tmp_path_factory):
    import open_clip

    path = tmp_path_factory.mktemp("oc") / "tiny-test-vit.json"
    path.write_text(json.dumps(TINY_VIT))
    open_clip.add_model_config(path)
    return "tiny-test-vit"


def test_open_clip_patch_tokens(tiny_clip_name):
    enc = load_open_clip(tiny_clip_name, None, choose_placement("cpu"))
    images = [Image.new("RGB", (50, 40), "red"), Image.new("RGB", (20, 64), "blue")]
    tokens = enc.encode(images)
    assert tokens.shape == (2, 16, 48)  # (32/8)^2 patches of width 48
    assert enc.dim == 48 and not any(p.requires_grad for p in enc.tower.parameters())


def test_open_clip_by_name_and_local_weights(tiny_clip_name, tmp_path):
    import open_clip

    model = open_clip.create_model(tiny_clip_name)
    torch.save(model.state_dict(), tmp_path / "w.pt")
    enc = load_vision(f"open_clip:{tiny_clip_name}:{tmp_path / 'w.pt'}", tmp_path, choose_placement("cpu"))
    for a, b in zip(enc.tower.state_dict().values(), model.visual.state_dict().values()):
        assert torch.equal(a, b)


def test_efficientnet_tokens_shape():
    from efficientnet_lite_pytorch import EfficientNet

    tower = EfficientNet.from_name("efficientnet-lite0").eval()
    x = torch.stack([_efficientnet_preprocess(224)(Image.new("RGB", (300, 200), "green"))])
    assert x.shape == (1, 3, 224, 224) and float(x.max()) <= 1 and float(x.min()) >= -1
    with torch.inference_mode():
        assert _efficientnet_tokens(tower, x).shape == (1, 49, 1280)
