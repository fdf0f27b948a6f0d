"""The data contract (core/data.py): what every datamodule provides, and what it gets for free."""

import os

import pytest
import torch

from conftest import FAST, ROOT, read_metrics, run_script
from {{cookiecutter.package_name}}.core.data import DigitsData
from {{cookiecutter.package_name}}.core.validate import ConfigError

# A user's own datamodule, written the way docs/data.md tells: subclass SplitData, implement load().
OWN_DATA = '''
import torch

from {{cookiecutter.package_name}}.core.data import Examples, SplitData


class Stripes(SplitData):
    """Synthetic 1x8x8 images: class k has a bright row k (for k < 4), plus noise."""

    def __init__(self, count: int = 400, nan_at: int | None = None, **split_settings):
        self.count, self.nan_at = count, nan_at
        super().__init__(**split_settings)

    def load(self):
        generator = torch.Generator().manual_seed(0)
        y = torch.arange(self.count) % 4
        x = 0.3 * torch.rand(self.count, 1, 8, 8, generator=generator)
        x[torch.arange(self.count), 0, y * 2] += 1.0
        if self.nan_at is not None:
            x[self.nan_at, 0, 0, 0] = float("nan")
        return Examples(x, y, class_names=["top", "upper", "lower", "bottom"])
'''


def own_path(folder) -> dict:
    """The environment in which `own_data.py` in `folder` imports beside the project's package."""
    return {"PYTHONPATH": os.pathsep.join([str(folder), str(ROOT / "src")])}


@pytest.mark.fast
def test_digits_provide_the_contract():
    data = DigitsData()
    assert data.task == "classification" and data.in_shape == (1, 8, 8)
    assert data.num_classes == data.num_outputs == 10 and data.class_names == [str(k) for k in range(10)]
    sizes = {split: len(data.split_tensors(split)[1]) for split in ("train", "val", "test")}
    assert sizes == {"train": 1258, "val": 180, "test": 359}
    assert sum(len(index) for index in data.indices.values()) == 1797
    assert not set(data.indices["train"].tolist()) & set(data.indices["test"].tolist())
    x, y = next(iter(data.train_dataloader()))
    assert x.shape == (64, 1, 8, 8) and y.dtype == torch.long
    assert data.describe()["class_names"] == data.class_names  # what checkpoints keep


def test_fingerprint_follows_the_split_not_the_object():
    same, other, noisy = DigitsData().fingerprint(), DigitsData(split_seed=1).fingerprint(), DigitsData(label_noise=0.2)
    assert noisy.fingerprint() == same | {"train": noisy.fingerprint()["train"]} != same  # noise: train labels only
    assert DigitsData().fingerprint() == same
    assert all(other[split] != same[split] for split in same)


def test_fraction_that_leaves_no_example_fails_before_training(train):
    process, run_dir = train("data.fraction=1e-6", *FAST, expect_ok=False)
    assert process.returncode == 2, process.stderr[-2000:]
    assert "data.fraction=1e-06" in process.stderr and "no training example" in process.stderr
    assert "Traceback" not in process.stderr
    assert not (run_dir / "checkpoints").exists()


@pytest.mark.parametrize("split", ["train", "val", "test"])
def test_non_finite_inputs_fail_at_load_naming_the_split(tmp_path, split):
    (tmp_path / "own_data.py").write_text(OWN_DATA)
    import sys

    sys.path.insert(0, str(tmp_path))
    from own_data import Stripes

    position = int(Stripes().indices[split][3])  # an example that lands in this split
    run_dir = tmp_path / "run"
    process = run_script("train.py", f"hydra.run.dir={run_dir}", "data._target_=own_data.Stripes",
                         f"+data.nan_at={position}", *FAST, env=own_path(tmp_path), timeout=300)
    assert process.returncode == 2, process.stdout[-2000:] + process.stderr[-2000:]
    assert f"The {split} split has non-finite inputs" in process.stderr and "position 3" in process.stderr
    assert not (run_dir / "checkpoints").exists()


def test_a_users_own_datamodule_gets_every_feature(tmp_path):
    """Split, class names, baselines, fit diagnosis, ensembles and slices, from load() alone."""
    (tmp_path / "own_data.py").write_text(OWN_DATA)
    run_dir = tmp_path / "run"
    env = own_path(tmp_path)
    process = run_script("train.py", f"hydra.run.dir={run_dir}", "data._target_=own_data.Stripes",
                         "trainer.max_epochs=12", *FAST, env=env, timeout=300)
    assert process.returncode == 0, process.stdout[-2000:] + process.stderr[-3000:]
    metrics = read_metrics(run_dir)
    assert metrics["test/acc"] > 0.9
{%- if cookiecutter.__with_checks == "yes" %}
    assert "baseline/svc_acc" in metrics
{%- endif %}
{%- if cookiecutter.__with_diagnostics == "yes" %}
    assert metrics["fit/train_examples"] == 280 and "test/slice/class_3/acc" in metrics
{%- endif %}
{%- if cookiecutter.__with_ensembles == "yes" %}
    assert "ensemble/soft/acc" in metrics
    # eval.py builds only allowlisted classes from files: a datamodule outside the package is refused, saying how
    evaluated = run_script("eval.py", str(run_dir), env=env)
    assert evaluated.returncode == 1 and "own_data.Stripes" in evaluated.stderr, evaluated.stderr[-2000:]
    assert "runs/allowlist.py" in evaluated.stderr and "Traceback" not in evaluated.stderr
{%- endif %}


def test_the_dataloader_path_trains_and_resumes_its_order(tmp_path):
    """data.in_memory=false: a Dataset per split read by a DataLoader, same numbers of examples."""
    run_dir = tmp_path / "run"
    process = run_script("train.py", f"hydra.run.dir={run_dir}", "data.in_memory=false", "trainer.max_epochs=2",
                         *FAST, timeout=300)
    assert process.returncode == 0, process.stderr[-3000:]
    metrics = read_metrics(run_dir)
    assert metrics["test/acc"] > 0.5
{%- if cookiecutter.__with_diagnostics == "yes" %}
    assert metrics["fit/train_examples"] == 1258
{%- endif %}
    saved = torch.load(run_dir / "checkpoints" / "last.ckpt", weights_only=True)
    assert "generator" in saved["callbacks"]["ExactResume"]["batches"]  # the shuffling order, for exact resume


def test_label_noise_on_regression_is_refused():
    with pytest.raises(ConfigError, match="classification only"):
        DigitsData(task="regression", label_noise=0.1)


def test_the_overfit_check_is_a_mode_on_a_users_own_data(tmp_path):
    (tmp_path / "own_data.py").write_text(OWN_DATA)
    run_dir = tmp_path / "run"
    process = run_script("train.py", f"hydra.run.dir={run_dir}", "data._target_=own_data.Stripes", "overfit=true",
                         "optimizer.lr=0.01", *FAST, env=own_path(tmp_path), timeout=300)
    assert process.returncode == 0, process.stdout[-2000:] + process.stderr[-2000:]
    assert "overfit check: PASSED" in process.stdout
    assert read_metrics(run_dir)["overfit/passed"] == 1.0


# Vector data (a table's rows) and a user's own MLP: the features that show inputs adapt to them.
TABLE_DATA = '''
import torch
from torch import nn

from {{cookiecutter.package_name}}.core.data import Examples, SplitData


class Rows(SplitData):
    """300 rows of 12 named features, 3 classes decided by the first two features."""

    def load(self):
        x = torch.randn(300, 12, generator=torch.Generator().manual_seed(0))
        y = (x[:, 0] > 0).long() + (x[:, 1] > 0.5).long()
        names = [f"feature_{i}" for i in range(12)]
        return Examples(x, y, class_names=["low", "mid", "high"], preprocessing={"feature_names": names})


class TinyMLP(nn.Sequential):
    def __init__(self, in_shape, num_outputs, dropout=0.0):
        super().__init__(nn.Flatten(), nn.Linear(in_shape[0], 64), nn.ReLU(), nn.Dropout(dropout),
                         nn.Linear(64, num_outputs))
'''


def test_table_rows_get_a_worst_mistakes_table_named_by_features(tmp_path):
    (tmp_path / "own_data.py").write_text(TABLE_DATA)
    run_dir = tmp_path / "run"
    process = run_script("train.py", f"hydra.run.dir={run_dir}", "data._target_=own_data.Rows",
                         "model._target_=own_data.TinyMLP", "~model.width", "~model.blocks", "~model.norm",
                         "~model.activation", "~model.residual", "~model.init", "~model.stem_to", "trainer.max_epochs=3", *FAST,
                         env=own_path(tmp_path), timeout=300)
    assert process.returncode == 0, process.stdout[-2000:] + process.stderr[-3000:]
    metrics = read_metrics(run_dir)
    assert "test/acc" in metrics
{%- if cookiecutter.__with_ensembles == "yes" %}
    assert "ensemble/soft/acc" in metrics
{%- endif %}
{%- if cookiecutter.__with_checks == "yes" %}
    assert "baseline/logreg_acc" in metrics
{%- endif %}
{%- if cookiecutter.__with_diagnostics == "yes" %}
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    assert "fit/train_acc" in metrics
    events = EventAccumulator(str(run_dir), size_guidance={"tensors": 0}).Reload()
    text = events.Tensors("val/worst_mistakes/text_summary")[-1].tensor_proto.string_val[0].decode()
    assert "| true | predicted | confidence | feature_0 |" in text and ("| low |" in text or "| high |" in text)
{%- endif %}
