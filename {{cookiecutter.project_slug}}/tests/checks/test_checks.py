"""check.py end to end: the unmodified project passes every check, and each planted bug is caught.

Bugs are planted the way they happen: in a model or datamodule of the user's own (a small
module written here, selected with `model._target_` / `data._target_`), in the project's
own code (a copy of the project with core/data.py edited), or in the config.
"""

import json
import math
import os
import shutil

import pytest

from conftest import FAST, IMPORT_TIMES, ROOT, imported_packages, read_metrics, run_script, when_room

BUGGY = '''
import torch
from torch import nn

from {{cookiecutter.package_name}}.core.models import ResNet


class BigLastLayer(ResNet):
    """The last layer initialized 10x too large."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        with torch.no_grad():
            self.head.weight.mul_(10)
            self.head.bias.mul_(10)


class SoftmaxOutput(ResNet):
    """Probabilities fed to cross_entropy, which expects logits."""

    def forward(self, x):
        return super().forward(x).softmax(dim=1)


class MixesTheBatch(ResNet):
    """A wrong transpose/reshape that moves features between examples."""

    def forward(self, x):
        features = self.pool(self.blocks(self.stem(x)))
        return self.head(features.t().reshape(features.shape))


class TwiceTheGradient(torch.autograd.Function):
    """A ReLU whose hand-written backward is wrong by a factor 2."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x.clamp(min=0)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad * (x > 0) * 2.0


class WrongBackward(ResNet):
    def forward(self, x):
        return self.head(TwiceTheGradient.apply(self.pool(self.blocks(self.stem(x)))))


class DeadNetwork(ResNet):
    """Huge negative biases before every ReLU: no unit ever fires."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        with torch.no_grad():
            for module in self.modules():
                if isinstance(module, nn.BatchNorm2d):
                    module.bias.fill_(-100.0)


'''


def check(tmp_path, *overrides, project=ROOT, pythonpath=()):
    """Run `python check.py` -> (process, checks.json as {check name: verdict dict}, run_dir)."""
    run_dir = tmp_path / "check"
    env = {"PYTHONPATH": os.pathsep.join([*map(str, pythonpath), str(project / "src")])}
    process = run_script(str(project / "check.py"), f"hydra.run.dir={run_dir}", *overrides, env=env)
    report_file = run_dir / "checks.json"
    assert report_file.exists(), process.stdout[-3000:] + process.stderr[-3000:]
    report = json.loads(report_file.read_text())
    return process, {verdict["check"]: verdict for verdict in report["checks"]}, run_dir


@pytest.fixture(scope="module")
def clean(tmp_path_factory):
    """One full default `python check.py` on the unmodified project, shared by the tests below."""
    return check(tmp_path_factory.mktemp("clean"))


def test_unmodified_project_passes_every_check(clean):
    process, verdicts, _ = clean
    assert process.returncode == 0, process.stdout[-3000:] + process.stderr[-3000:]
    expected = {
        "data_finite", "data_range", "labels", "class_balance", "leakage", "loss_at_init", "batch_independence",
        "gradcheck", "overfit_one_batch", "input_signal", "baselines", "lr_range_test",
    }
    assert set(verdicts) == expected  # the batch-size finder is optional
    assert {name: v["status"] for name, v in verdicts.items() if v["status"] != "PASS"} == {}, process.stdout
    assert 0.95 < verdicts["loss_at_init"]["numbers"]["ratio"] < 1.05
    assert verdicts["baselines"]["numbers"]["baseline/svc_acc"] > 0.95
    # the table: one row per check with its verdict
    for name in expected:
        assert any(line.startswith(name) and " PASS " in line for line in process.stdout.splitlines()), name


def test_lr_range_test_writes_plot_tensorboard_image_and_the_override(clean):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    process, verdicts, run_dir = clean
    suggested = verdicts["lr_range_test"]["numbers"]["suggested_lr"]
    assert 1e-6 < suggested < 1.0
    assert f"optimizer.lr={suggested:.2g}" in process.stdout
    assert (run_dir / "lr_find.png").stat().st_size > 1000
    # the plot's first point is the loss of the first batch before any update: what loss_at_init measures
    first, at_init = verdicts["lr_range_test"]["numbers"]["first_loss"], verdicts["loss_at_init"]["numbers"]["loss"]
    assert abs(first / at_init - 1) < 0.1, (first, at_init)
    events = EventAccumulator(str(run_dir), size_guidance={"images": 0}).Reload()
    assert "check/lr_find" in events.Tags()["images"]
    assert not list(run_dir.glob(".lr_find*.ckpt"))  # Lightning's temporary checkpoint is gone


BUGS = {
    # name: (overrides, the check that must catch it, statuses allowed, words the advice must contain)
    "last_layer_10x": (["model._target_=buggy.BigLastLayer"], "loss_at_init", {"FAIL", "WARN"}, "last layer"),
    "softmax_before_loss": (["model._target_=buggy.SoftmaxOutput"], "overfit_one_batch", {"FAIL"}, "softmax"),
    "mixing_across_batch": (["model._target_=buggy.MixesTheBatch"], "batch_independence", {"FAIL"}, "batch dimension"),
    "wrong_backward": (["model._target_=buggy.WrongBackward"], "gradcheck", {"FAIL"}, "backward"),
    "dead_network": (["model._target_=buggy.DeadNetwork"], "overfit_one_batch", {"FAIL"}, "dead units"),
    "lr_far_too_high": (["optimizer.lr=10"], "overfit_one_batch", {"FAIL"}, "learning rate"),
}


@pytest.mark.parametrize("bug", list(BUGS))
def test_check_catches_a_planted_bug(tmp_path, bug):
    overrides, name, statuses, advice = BUGS[bug]
    (tmp_path / "buggy.py").write_text(BUGGY)
    only = [name, "input_signal", "lr_range_test"] if bug == "lr_far_too_high" else [name]
    process, verdicts, _ = check(tmp_path, *overrides, f"check.only=[{','.join(only)}]", pythonpath=[tmp_path])
    verdict = verdicts[name]
    assert verdict["status"] in statuses, verdict
    assert advice in verdict["advice"], verdict
    assert advice in process.stdout  # the advice is printed under the table row
    if "FAIL" in {v["status"] for v in verdicts.values()}:
        assert process.returncode == 1
    if bug == "lr_far_too_high":  # input_signal fails too, and blames the learning rate first, not the labels
        signal = verdicts["input_signal"]["advice"]
        assert verdicts["input_signal"]["status"] == "PASS" or signal.index("learning rate") < signal.index("Labels"), signal
        assert verdicts["lr_range_test"]["status"] == "WARN"
        assert verdicts["lr_range_test"]["numbers"]["suggested_lr"] < 1.0  # far lower than the 10 configured


def test_shuffled_labels_fail_input_signal_and_warn_in_train_py(tmp_path):
    """Labels shuffled relative to their inputs, planted in a copy of the project's core/data.py."""
    project = tmp_path / "project"
    shutil.copytree(ROOT, project, ignore=shutil.ignore_patterns("logs", "__pycache__", ".pytest_cache", "*.egg-info"))
    data_py = next((project / "src").glob("*/core/data.py"))
    code = data_py.read_text()
    planted = code.replace(
        "    y = torch.tensor(target, dtype=torch.long)\n",
        "    y = torch.tensor(target, dtype=torch.long)\n"
        "    y = y[torch.randperm(len(y), generator=torch.Generator().manual_seed(1))]  # the bug\n",
    )
    assert planted != code
    data_py.write_text(planted)

    process, verdicts, _ = check(tmp_path, "check.only=[overfit_one_batch,input_signal,baselines]", project=project)
    assert verdicts["overfit_one_batch"]["status"] == "PASS"  # one batch is memorized, whatever its labels
    assert verdicts["input_signal"]["status"] == "FAIL", verdicts["input_signal"]
    assert "training works (overfit_one_batch passed" in verdicts["input_signal"]["advice"]
    assert "Check that the labels belong to their inputs" in verdicts["input_signal"]["advice"]
    assert verdicts["baselines"]["status"] == "WARN", verdicts["baselines"]
    assert process.returncode == 1

    run_dir = tmp_path / "train"
    env = {"PYTHONPATH": str(project / "src")}
    process = run_script(str(project / "train.py"), f"hydra.run.dir={run_dir}", "trainer.max_epochs=2", *FAST, env=env)
    assert process.returncode == 0, process.stderr[-3000:]
    assert "warning: test/acc" in process.stdout and "most frequent class" in process.stdout, process.stdout[-2000:]
    metrics = read_metrics(run_dir)
    assert metrics["test/acc"] < metrics["baseline/majority_acc"] + 0.05


@pytest.mark.fast
@pytest.mark.parametrize("train_score, train_loss, first_words", [
    (0.11, 5.0, "Its training loss (5) is above that of a constant guess"),   # unstable: the learning rate first
    (0.98, 0.05, "Yet it fits its training data"),                             # fits, does not carry over: labels
    (0.12, 2.29, "It learned little even on its training data"),              # nothing learned: either, check.py
])
def test_a_network_at_chance_names_the_most_likely_cause_first(train_score, train_loss, first_words):
    from {{cookiecutter.package_name}}.checks.baselines import likely_cause

    assert likely_cause(train_score, train_loss, math.log(10), 0.10, "acc").startswith(first_words)


def test_train_py_reports_baselines_in_metrics_and_tensorboard(train):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    _, run_dir = train("trainer.max_epochs=1", "trainer.limit_train_batches=2", *FAST)
    metrics = read_metrics(run_dir)
    assert {"baseline/majority_acc", "baseline/logreg_acc", "baseline/svc_acc"} <= set(metrics)
    assert metrics["baseline/majority_acc"] < 0.2 < 0.9 < metrics["baseline/logreg_acc"] < metrics["baseline/svc_acc"]
    tags = set(EventAccumulator(str(run_dir)).Reload().Tags()["scalars"])
    assert {"baseline/majority_acc", "baseline/logreg_acc", "baseline/svc_acc", "test/acc"} <= tags, tags


def test_baselines_are_fitted_once_per_split_and_cached(train, tmp_path):
    """Only the first run on a split pays for the scikit-learn fits; another split, or a damaged file, refits."""
    short = ("trainer.max_epochs=1", "trainer.limit_train_batches=2", *when_room("ensembles", "ensemble.k=0"), *FAST)
    first, run_0 = train(*short)
    assert "baselines: cached" not in first.stdout
    cached = list((tmp_path / "cache" / "baselines").glob("*.json"))
    assert len(cached) == 1
    again, run_1 = train(*short, "seed=1", env=IMPORT_TIMES)  # another seed, the same split: the cache
    assert f"baselines: cached by an earlier run on the same split ({cached[0]}" in again.stdout, again.stdout[-2000:]
    assert "sklearn" not in imported_packages(again)  # scikit-learn's import (~0.3 s) is paid by the first run only
    baselines = {k: v for k, v in read_metrics(run_0).items() if k.startswith("baseline/")}
    assert baselines and {k: v for k, v in read_metrics(run_1).items() if k.startswith("baseline/")} == baselines
    other, _ = train(*short, "data.split_seed=1")  # other examples in train and test: fitted, a second file
    assert "baselines: cached" not in other.stdout and len(list(cached[0].parent.glob("*.json"))) == 2
    cached[0].write_text('{"baseline/svc_acc": "import os"}')  # not what train.py writes: fitted again
    damaged, run_3 = train(*short)
    assert "baselines: cached" not in damaged.stdout and read_metrics(run_3)["baseline/svc_acc"] == baselines["baseline/svc_acc"]


def test_in_a_terminal_a_spinner_names_the_running_check(tmp_path):
    """A check that trains can take minutes on a busy machine: it is never silent in a terminal."""
    import pty
    import subprocess
    import sys

    leader, follower = pty.openpty()
    env = dict(os.environ, PYTHONPATH=str(ROOT / "src"), OMP_NUM_THREADS="1", TERM="xterm", COLUMNS="160")
    process = subprocess.Popen(
        [sys.executable, str(ROOT / "check.py"), "check.only=[overfit_one_batch]", f"hydra.run.dir={tmp_path}"],
        cwd=ROOT, env=env, stdin=subprocess.DEVNULL, stdout=follower, stderr=follower)
    os.close(follower)
    output = b""
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # the process closed the terminal
            break
        if not chunk:
            break
        output += chunk
    assert process.wait(timeout=600) == 0, output[-3000:]
    text = output.decode(errors="replace")
    assert "running overfit_one_batch (1/1): training on one batch until its loss is ~0" in text, text[-3000:]


def test_batch_size_finder_reports_the_largest_batch(tmp_path):
    process, verdicts, _ = check(tmp_path, "check.only=[batch_size]", "check.batch_size=true",
                                 "check.batch_size_max_trials=3")
    assert process.returncode == 0, process.stderr[-3000:]
    assert verdicts["batch_size"]["numbers"]["batch_size"] >= 8  # 2, doubled 3 times, all fit on a CPU


@pytest.mark.fast
def test_unknown_check_name_fails_before_any_work(tmp_path):
    run_dir = tmp_path / "check"
    process = run_script("check.py", f"hydra.run.dir={run_dir}", "check.only=[overfit]")
    assert process.returncode != 0
    assert "check.only" in process.stderr and "overfit_one_batch" in process.stderr, process.stderr[-2000:]
    assert not (run_dir / "checks.json").exists()
