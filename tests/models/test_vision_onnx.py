"""The bundled tower and a grounded adapter exported to ONNX say what torch's path says, without torch at run time."""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image, ImageDraw

from models.adapters import vision_onnx
from models.adapters.grounded import build_grounded
from models.adapters.projector import AdapterConfig, save_adapter
from models.device import choose_placement
from models.encoders.vision import load_efficientnet

ROOT = Path(__file__).resolve().parents[2]
CLASSES = ["hammer", "owl", "tabby cat", "dam", "Eiffel Tower"]


def tokenize(text: str) -> list[int]:
    return [ord(c) % 128 for c in text]


@pytest.fixture(scope="module", params=[0, 2], ids=["names", "shapes"])
def random_tower_and_adapter(request, tmp_path_factory):
    """A randomly initialised EfficientNet-Lite0 and a grounded adapter over it (class names only, or with the heads
    that see drawn shapes), saved as the product saves them; the classifier is scaled so that pictures get
    different, confident classes."""
    from efficientnet_lite_pytorch import EfficientNet

    root = tmp_path_factory.mktemp("onnx")
    torch.manual_seed(0)
    weights = root / "tower.pth"
    torch.save(EfficientNet.from_name("efficientnet-lite0").state_dict(), weights)
    cfg = AdapterConfig("image", "efficientnet-lite0", "tiny-llm", in_dim=1280, out_dim=16, hidden_dim=0,
                        grounded=3, sure=0.5, floor=0.15, shapes=request.param)
    proj = build_grounded(cfg, torch.randn(128, 16), torch.randn(len(CLASSES), 1280) * 40, torch.zeros(len(CLASSES)),
                          tokenize, CLASSES)
    with torch.no_grad():
        for p in () if not cfg.shapes else (proj.colour_head.weight, proj.colour_queries, proj.object_head[0].weight):
            p.normal_(0, 0.2)
    adapter = root / "adapter"
    save_adapter(proj, adapter)
    return weights, adapter, proj


def pictures() -> list[Image.Image]:
    rng = np.random.default_rng(0)
    out = [Image.fromarray(rng.integers(0, 256, (h, w, 3), dtype=np.uint8)) for h, w in ((240, 320), (500, 200))]
    for colour, box in (("red", (20, 20, 200, 200)), ("blue", (60, 10, 120, 230))):
        im = Image.new("RGB", (256, 256), "white")
        ImageDraw.Draw(im).rectangle(box, fill=colour)
        out.append(im)
    return out + [Image.new("L", (64, 64), 128)]  # grey: converted to RGB as torch's path does


def test_the_exported_graph_says_what_torch_says(random_tower_and_adapter, tmp_path):
    weights, adapter, proj = random_tower_and_adapter
    out = tmp_path / "grounded.onnx"
    vision_onnx.export(weights, adapter, out)
    picture = vision_onnx.load(adapter, proj.cfg, graph=out)
    tower = load_efficientnet(weights, choose_placement("cpu"))
    said = set()
    for image in pictures():
        features = tower.encode([image])
        probs = picture.session.run(None, {"pixels": vision_onnx.pixels(image)[None]})[0][0]
        np.testing.assert_allclose(probs, proj.probabilities(features)[0].numpy(), atol=1e-4)
        ids = picture.spell(image)
        assert ids == proj.spelled(features)
        said.add("".join(chr(i) for i in ids))
    assert proj.cfg.shapes or len(said) > 1, said  # the pictures were told apart: the comparison is not of one constant answer


def test_only_the_bundled_tower_with_a_grounded_adapter_runs_on_onnx():
    grounded = AdapterConfig("image", "efficientnet-lite0", "x", 1280, 16, 0, grounded=3, classes=5)
    assert vision_onnx.runs_here("efficientnet-lite0", grounded)
    assert not vision_onnx.runs_here("open_clip:ViT-B-32", grounded)
    assert not vision_onnx.runs_here("efficientnet-lite0", AdapterConfig(**{**grounded.__dict__, "hidden_dim": 64}))
    assert not vision_onnx.runs_here("efficientnet-lite0", AdapterConfig(**{**grounded.__dict__, "grounded": 0}))


def test_the_export_is_made_once_in_the_shared_cache(random_tower_and_adapter, tmp_path, monkeypatch):
    weights, adapter, _ = random_tower_and_adapter
    monkeypatch.setenv("ASSISTANT_CACHE_DIR", str(tmp_path))
    monkeypatch.setattr("models.weights.catalog.source_files", lambda name: [weights])
    monkeypatch.setattr("models.weights.catalog.source_inputs", lambda name, verify=False: [{"file": weights.name}])
    calls = []
    real = vision_onnx.export
    monkeypatch.setattr(vision_onnx, "export", lambda *a: calls.append(a) or real(*a))
    first = vision_onnx.exported(adapter)
    assert vision_onnx.exported(adapter) == first and len(calls) == 1 and first.stat().st_size > 1_000_000


@pytest.mark.weights
def test_a_cold_image_question_imports_no_torch(tmp_path):
    # torch's import was 1.3 s of a cold first image question's ~2.5 s; the bundled tower runs on onnxruntime.
    image = tmp_path / "red.png"
    Image.new("RGB", (320, 240), "red").save(image)
    script = ("import sys; from assistant.cli import main; code = main(sys.argv[1:]); "
              "print('torch' in sys.modules); sys.exit(code)")
    proc = subprocess.run([sys.executable, "-c", script, "ask", "What is this?", "--image", str(image),
                           "--max-new-tokens", "1", "--temperature", "0"], capture_output=True, text=True, cwd=ROOT,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().splitlines()[-1] == "False"
