"""Images larger than digits: the CNN downsamples by the input size, and the overfit check's
verdict (relative to the loss at init) passes correct setups at 16 and 32 px and fails broken ones."""

import numpy as np
import pytest
import torch
from hydra.utils import instantiate
from omegaconf import OmegaConf
from PIL import Image

from conftest import FAST, ROOT, read_metrics
from {{cookiecutter.package_name}}.core.data import load_digits_tensors


@pytest.fixture(scope="module")
def digit_folder(tmp_path_factory):
    """300 digits as 8x8 grayscale PNGs in class folders (upscaled by data.size when read)."""
    root = tmp_path_factory.mktemp("digit_images")
    x, y = load_digits_tensors()
    for i in range(300):
        (root / str(int(y[i]))).mkdir(exist_ok=True)
        Image.fromarray((x[i, 0].numpy() * 255).clip(0, 255).astype(np.uint8)).save(root / str(int(y[i])) / f"{i}.png")
    return root


@pytest.mark.parametrize("size, mode", [(16, "grayscale"), (32, "rgb")])
def test_overfit_check_passes_on_an_image_folder_of_digits(train, digit_folder, size, mode):
    """Failed at the default learning rate with the fixed threshold 0.01 (loss 0.014-0.039 after 300 steps)."""
    process, run_dir = train("overfit=true", "data=image_folder", f"data.path={digit_folder}", f"data.size={size}",
                             f"data.mode={mode}", *FAST)
    assert "overfit check: PASSED" in process.stdout and "= 1% of the loss at init" in process.stdout, process.stdout[-2000:]
    metrics = read_metrics(run_dir)
    assert metrics["overfit/passed"] == 1.0 and metrics["train/loss"] < 0.01 * 2.6  # 1% of ~ln(10) at init


def test_overfit_check_still_fails_with_a_hopeless_learning_rate(train, digit_folder):
    process, run_dir = train("overfit=true", "data=image_folder", f"data.path={digit_folder}", "data.size=16",
                             "data.mode=grayscale", "optimizer.lr=1e-7", *FAST, expect_ok=False)
    assert process.returncode == 1, process.stderr[-2000:]
    assert "overfit check: FAILED" in process.stdout and "usually has a bug" in process.stdout, process.stdout[-2000:]
    assert read_metrics(run_dir)["overfit/passed"] == 0.0


def test_a_slow_but_learning_check_fails_without_blaming_a_bug(train):
    """Out of steps with the loss down >10x: the advice is more steps or a higher learning rate."""
    process, _ = train("model=small", "data=tiny", "optimizer.lr=1e-3", "overfit_check.max_steps=100", *FAST,
                       expect_ok=False)
    assert process.returncode == 1 and "overfit check: FAILED" in process.stdout, process.stdout[-2000:]
    assert "learns these examples, slowly" in process.stdout and "usually has a bug" not in process.stdout


def built_model(size: str, pixels: int, channels: int = 3):
    """The shipped model=<size> config, built for (channels, pixels, pixels) inputs, as train.py builds it."""
    return instantiate(OmegaConf.load(ROOT / "configs" / "model" / f"{size}.yaml"),
                       in_shape=(channels, pixels, pixels), num_outputs=10)


def pooled_feature_map(model, pixels: int, channels: int = 3) -> tuple:
    """The shape of what global pooling sees (read with a forward hook on model.pool)."""
    seen = []
    model.pool.register_forward_hook(lambda module, inputs, output: seen.append(tuple(inputs[0].shape)))
    with torch.no_grad():
        model.eval()(torch.zeros(1, channels, pixels, pixels))
    return seen[0][2:]


@pytest.mark.parametrize("pixels", [32, 64])
def test_the_default_cnn_ends_on_a_few_pixels_at_any_input_size(pixels):
    assert pooled_feature_map(built_model("small", pixels), pixels) == (4, 4)  # as on 8x8 digits
    for size in ("tiny", "medium", "large"):
        assert max(pooled_feature_map(built_model(size, pixels), pixels)) <= 8


def test_on_8x8_digits_the_cnn_is_unchanged():
    """No stem downsampling at 8 px: the same layers and weights shapes as before (old checkpoints load)."""
    model = built_model("small", 8, channels=1)
    assert len(model.stem) == 3 and model.stem[0].stride == (1, 1) and pooled_feature_map(model, 8, channels=1) == (4, 4)
    assert sum(p.numel() for p in model.parameters()) == 19706  # model=small on digits, as before the stem learned to downsample
