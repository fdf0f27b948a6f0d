"""The run folder can be trusted: loading builds only allowlisted targets, what is saved is
complete and finite, unreadable checkpoints are skipped, runs are combined only on one test set."""

import shutil
import subprocess
from pathlib import Path

import pytest
import torch
from omegaconf import OmegaConf

from conftest import FAST, ROOT, read_metrics, run_script, when_room  # noqa: F401 (read_metrics: in the rooms' tests below)
from payloads import KINDS, payload, refused


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """One finished 2-epoch run shared by the tests below (copied before anything is changed)."""
    folder = tmp_path_factory.mktemp("trusted")
    process = run_script("train.py", f"hydra.run.dir={folder / 'run'}", f"paths.log_dir={folder}",
                         "trainer.max_epochs=2", *FAST)
    assert process.returncode == 0, process.stdout[-3000:] + process.stderr[-3000:]
    return folder / "run"


def copy_of(run_dir: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "copy"
    shutil.copytree(run_dir, copy, symlinks=True)
    return copy


def writes(marker: Path) -> dict:
    """A payload that writes `marker` when Hydra instantiates it: Path(marker).write_text("pwned")."""
    return {"_target_": "pathlib.Path.write_text", "_args_": [{"_target_": "pathlib.Path", "_args_": [str(marker)]},
                                                              "pwned"]}


def last_line(process) -> str:
    assert "Traceback" not in process.stderr, process.stderr[-3000:]
    return process.stderr.strip().splitlines()[-1]


# 1. Loading allowlist ------------------------------------------------------------------

PAYLOADS = {  # (hyperparameter to replace, how, the target the message must name)
    "model": ("model", lambda marker, own: {"_target_": "numpy.savez", "_args_": [str(marker)]}, "numpy.savez"),
    "augmentation": ("augmentation", lambda marker, own: writes(marker), "pathlib.Path.write_text"),
    "nested_in_a_transform": ("augmentation", lambda marker, own: {
        "_target_": "{{cookiecutter.package_name}}.core.augment.batch_augmentation", "rotation": writes(marker)},
        "pathlib.Path.write_text"),
    "partial_in_model_args": ("model", lambda marker, own: {**own, "width": {
        "_target_": "os.system", "_partial_": True, "_args_": [f"touch {marker}"]}}, "os.system"),
}
{%- if cookiecutter.__with_ensembles == "yes" %}


@pytest.mark.parametrize("payload", PAYLOADS)
def test_a_crafted_checkpoint_is_refused_before_anything_is_built(run, tmp_path, payload):
    key, build, target = PAYLOADS[payload]
    marker = tmp_path / "marker"
    checkpoint = torch.load(run / "checkpoints" / "epoch000.ckpt", weights_only=True)
    checkpoint["hyper_parameters"][key] = build(marker, checkpoint["hyper_parameters"]["model"])
    crafted = copy_of(run, tmp_path) / "checkpoints" / "epoch000.ckpt"
    torch.save(checkpoint, crafted)  # plain containers: it passes weights_only=True

    paths = [crafted] + ([crafted.parent.parent] if payload == "nested_in_a_transform" else [])  # + its run
    for path in paths:
        process = run_script("eval.py", str(path))
        assert process.returncode == 1, process.stdout[-2000:] + process.stderr[-2000:]
        error = last_line(process)
        assert f"`_target_: '{target}'" in error and str(crafted) in error and "runs/allowlist.py" in error, error
        assert not list(tmp_path.glob("marker*")), "the payload ran"
{%- endif %}


def test_a_crafted_run_config_is_refused_by_eval_and_by_resume(run, tmp_path):
    marker = tmp_path / "marker"
    crafted = copy_of(run, tmp_path)
    config_path = crafted / ".hydra" / "config.yaml"
    config = OmegaConf.load(config_path)
    config.data = {"_target_": "numpy.savez", "_args_": [str(marker)]}  # eval.py rebuilds the run's data
    config.callbacks.extra = writes(marker)  # resume builds every callback of the run's config
    OmegaConf.save(config, config_path)

{%- if cookiecutter.__with_ensembles == "yes" %}
    process = run_script("eval.py", str(crafted))
    assert process.returncode == 1
    error = last_line(process)
    assert "`_target_: 'numpy.savez'` (at data._target_)" in error and str(config_path) in error, error
{%- endif %}

    resumed = tmp_path / "resumed"
    process = run_script("train.py", f"resume={crafted}", f"hydra.run.dir={resumed}", *FAST)
    assert process.returncode == 1
    error = last_line(process)
    assert "`_target_: 'pathlib.Path.write_text'` (at callbacks.extra._target_)" in error, error
    assert str(config_path) in error and "'numpy.savez'" in error, error  # every foreign target is named
    assert not list(tmp_path.glob("marker*")), "the payload ran"
    assert not (resumed / "checkpoints").exists()


def test_the_allowlist_takes_only_the_targets_it_names():
    from {{cookiecutter.package_name}}.runs.allowlist import unlisted_targets

    config = {
        "ok": [{"_target_": "{{cookiecutter.package_name}}.core.models.ResNet"}, {"_target_": "torch.optim.AdamW"}],
        "imported_not_defined": {"_target_": "{{cookiecutter.package_name}}.runs.checkpoints.Path"},
        "attribute_of_an_import": {"_target_": "{{cookiecutter.package_name}}.runs.checkpoints.Path.write_text"},
        "own_helper_that_writes": {"_target_": "{{cookiecutter.package_name}}.runs.run_folder.new_folder"},
        "own_function_not_named": {"_target_": "{{cookiecutter.package_name}}.core.models.make_norm"},
        "not_a_name": {"_target_": 42},
        "interpolated": OmegaConf.create({"x": {"_target_": "${y}"}, "y": "os.system"}),
        "deep": {"_args_": [{"a": {"_target_": "subprocess.run"}}]},
        "what_hydra_writes": {"dir": "${hydra:runtime.output_dir}", "log": "${paths.log_dir}/x", "t": "${now:%H}"},
        "builds_after_the_check": {"x": "${oc.create:{_target_: os.system, _args_: [ls]}}"},
        "makes_a_folder": ["${new_folder:/tmp/x}"],
        "nested": "${${a}:b}",
    }
    assert unlisted_targets(config) == [
        ("imported_not_defined._target_", "{{cookiecutter.package_name}}.runs.checkpoints.Path"),
        ("attribute_of_an_import._target_", "{{cookiecutter.package_name}}.runs.checkpoints.Path.write_text"),
        ("own_helper_that_writes._target_", "{{cookiecutter.package_name}}.runs.run_folder.new_folder"),
        ("own_function_not_named._target_", "{{cookiecutter.package_name}}.core.models.make_norm"),
        ("not_a_name._target_", 42),
        ("interpolated.x._target_", "${y}"),
        ("deep._args_[0].a._target_", "subprocess.run"),
        ("builds_after_the_check.x", "${oc.create:{_target_: os.system, _args_: [ls]}}"),
        ("makes_a_folder[0]", "${new_folder:/tmp/x}"),
        ("nested", "${${a}:b}"),
    ]


def test_overrides_read_from_a_file_are_parsed_and_checked():
    from {{cookiecutter.package_name}}.runs.allowlist import check_overrides
    from {{cookiecutter.package_name}}.runs.checkpoints import CheckpointError

    check_overrides(["model=small", "optimizer.lr=0.01", "data._target_={{cookiecutter.package_name}}.core.data_npz.NpzData",
                     "+callbacks.x={_target_:lightning.pytorch.callbacks.EarlyStopping,monitor:val/loss}"], "f")
    check_overrides(["hydra.searchpath=[file://configs]"], "f", ("hydra.searchpath",))
    refused = {  # override -> what the one paragraph must name
        "data._target_=shutil.copyfile": "'shutil.copyfile'` (at data._target_)",
        "+callbacks.x={_target_:os.system,_args_:[ls]}": "'os.system'` (at callbacks.x._target_)",
        "model.width=[1,{_target_:{{cookiecutter.package_name}}.runs.run_folder.new_folder}]":
            "'{{cookiecutter.package_name}}.runs.run_folder.new_folder'` (at model.width[1]._target_)",
        "++data._target_=${oc.env:X}": "'${oc.env:X}'",
        "+callbacks.x='${oc.create:{_target_:os.system}}'": "the interpolation '${oc.create:{_target_:os.system}}' (at callbacks.x)",
        "hydra.callbacks.x._target_=os.system": "key hydra.callbacks.x._target_",
        "hydra/launcher=joblib": "key hydra.launcher",
        "+data@x=../../../../tmp/evil": "key data): a config group option with `..`",
        "hydra.searchpath=[file:///tmp]": "key hydra.searchpath",
        "data=(": "cannot parse",
    }
    for override, named in refused.items():
        with pytest.raises(CheckpointError) as error:
            check_overrides(["model=small", override], "the/file.yaml")
        assert named in str(error.value) and "the/file.yaml" in str(error.value), (override, str(error.value))
    with pytest.raises(CheckpointError, match="list of Hydra overrides"):
        check_overrides({"data._target_": "os.system"}, "f")


def test_every_target_of_the_shipped_configs_is_allowed():
    from {{cookiecutter.package_name}}.runs.allowlist import unlisted_targets

    for path in sorted((ROOT / "configs").rglob("*.yaml")):
        if path.parent.name == "hydra":  # Hydra's own settings (${new_folder:...}): never in a run's saved config
            continue
        config = OmegaConf.to_container(OmegaConf.load(path))
        config.pop("hydra", None)
        assert unlisted_targets(config, str(path.relative_to(ROOT))) == []


# 1b. Payloads that would write a file, through every loader -------------------------------

@pytest.mark.parametrize("kind", KINDS)
def test_a_checkpoint_carrying_a_payload_writes_nothing(run, tmp_path, kind):
    marker = tmp_path / "marker"
    checkpoint = torch.load(run / "checkpoints" / "epoch000.ckpt", weights_only=True)
    checkpoint["hyper_parameters"]["model"] = payload(kind, marker)
    crafted = copy_of(run, tmp_path) / "checkpoints" / "epoch000.ckpt"
    torch.save(checkpoint, crafted)
{%- if cookiecutter.__with_ensembles == "yes" %}
    refused(run_script("eval.py", str(crafted)), crafted, "model._target_", marker)
{%- endif %}
    refused(run_script("predict.py", str(crafted), str(ROOT / "README.md"), "--out", str(tmp_path / "p.csv")),
            crafted, "model._target_", marker)
    assert not (tmp_path / "p.csv").exists()


@pytest.mark.parametrize("kind", KINDS)
def test_a_run_config_carrying_a_payload_writes_nothing(run, tmp_path, kind):
    marker = tmp_path / "marker"
    crafted = copy_of(run, tmp_path)
    config_path = crafted / ".hydra" / "config.yaml"
    config = OmegaConf.load(config_path)
    config.data = payload(kind, marker)  # eval.py rebuilds the run's data; resume= and reproduce= everything
    OmegaConf.save(config, config_path)
{%- if cookiecutter.__with_ensembles == "yes" %}
    refused(run_script("eval.py", str(crafted)), config_path, "data._target_", marker)
{%- endif %}
    for command in ("resume", *when_room("workflow", "reproduce")):
        folder = tmp_path / command
        refused(run_script("train.py", f"{command}={crafted}", f"hydra.run.dir={folder}", *FAST),
                config_path, "data._target_", marker)
        assert not (folder / "checkpoints").exists() and not (folder / "metrics.json").exists()


{%- if cookiecutter.__with_checks == "yes" %}


def test_a_crafted_baselines_cache_is_fitted_again(run, tmp_path):
    """logs/cache/baselines: fake scores or extra keys never reach metrics.json."""
    import json

    shutil.copytree(run.parent / "cache", tmp_path / "cache")
    (cached,) = (tmp_path / "cache" / "baselines").glob("*.json")
    true = {k: v for k, v in read_metrics(run).items() if k.startswith("baseline/")}
    assert json.loads(cached.read_text()) == pytest.approx(true)  # the same split: the same cache file
    cached.write_text(json.dumps({**true, "baseline/svc_acc": 1.5, "baseline/pwned": 1.0}))
    folder = tmp_path / "run"
    process = run_script("train.py", f"hydra.run.dir={folder}", f"paths.log_dir={tmp_path}", "trainer.max_epochs=1",
                         *FAST)
    assert process.returncode == 0, process.stderr[-3000:]
    assert f"ignored the baselines cache {cached}" in process.stdout
    metrics = read_metrics(folder)
    assert {k: v for k, v in metrics.items() if k.startswith("baseline/")} == pytest.approx(true)
    assert json.loads(cached.read_text()) == pytest.approx(true)  # the cache is whole again
{%- endif %}


# 4a. Only finite checkpoints ------------------------------------------------------------

def test_a_diverged_step_leaves_no_non_finite_last_finite_checkpoint(train):
    # lr=1e30: the first step makes the weights huge; the next forward pass turns the
    # batch-norm statistics into inf/NaN before its loss (NaN) is seen
    process, run_dir = train("optimizer.lr=1e30", "trainer.max_epochs=2", *FAST, expect_ok=False)
    assert process.returncode == 1, process.stderr[-3000:]
    error = process.stderr.strip().splitlines()[-1]
    assert "loss is nan at step 1" in error and "last_finite.ckpt was not written" in error, error
    assert "The run has no finite checkpoint" in error and "running_var" in error, error
    assert not (run_dir / "checkpoints" / "last_finite.ckpt").exists()
    for path in run_dir.rglob("*.ckpt"):
        state = torch.load(path, weights_only=True)["state_dict"]
        assert all(torch.isfinite(t).all() for t in state.values() if t.is_floating_point()), path
{%- if cookiecutter.__with_ensembles == "yes" %}


def test_eval_refuses_non_finite_weights_and_a_run_folder_skips_them(run, tmp_path):
    from {{cookiecutter.package_name}}.runs.checkpoints import newest_finite_checkpoint

    copy = copy_of(run, tmp_path)
    diverged = copy / "checkpoints" / "epoch001.ckpt"  # the newest one, as after a divergence
    checkpoint = torch.load(diverged, weights_only=True)
    checkpoint["state_dict"]["model.head.weight"][0, 0] = float("nan")
    torch.save(checkpoint, diverged)

    process = run_script("eval.py", str(diverged))
    assert process.returncode == 1
    error = last_line(process)
    assert str(diverged) in error and "NaN or inf in 1 of its" in error and "model.head.weight" in error, error
    assert "single" not in process.stdout  # not scored

    process = run_script("eval.py", str(copy))
    assert process.returncode == 0, process.stderr[-3000:]
    assert f"warning: skipped a checkpoint: The checkpoint {diverged} holds NaN" in process.stderr
    assert "top-1 checkpoints" in process.stdout and "single" in process.stdout
    # last.ckpt is a real file written every epoch (not a link to the diverged one): finite, so it is the newest
    assert newest_finite_checkpoint(copy / "checkpoints") in (copy / "checkpoints" / "last.ckpt",
                                                             copy / "checkpoints" / "epoch000.ckpt")
{%- endif %}


# 4b. Complete files, unreadable ones skipped --------------------------------------------
{%- if cookiecutter.__with_ensembles == "yes" %}

def test_a_truncated_checkpoint_in_a_run_folder_is_skipped_with_a_warning(run, tmp_path):
    copy = copy_of(run, tmp_path)
    truncated = copy / "checkpoints" / "epoch000.ckpt"
    truncated.write_bytes(truncated.read_bytes()[:5000])  # as left by a disk full before atomic writes
    process = run_script("eval.py", str(copy))
    assert process.returncode == 0, process.stderr[-3000:]
    [warning] = [line for line in process.stderr.splitlines() if line.startswith("warning: skipped")]
    assert f"Cannot read the checkpoint {truncated} (5000 bytes)" in warning, warning
    assert "top-1 checkpoints" in process.stdout
{%- endif %}


@pytest.fixture
def small_disk(tmp_path):
    """A 500 kB tmpfs (room for one checkpoint of the default model): a real full disk. Needs root."""
    mount = tmp_path / "small_disk"
    mount.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=800k", "tmpfs", str(mount)]).returncode != 0:
        pytest.skip("mounting a small tmpfs needs root")
    yield mount
    subprocess.run(["umount", "-l", str(mount)], check=True)


def test_a_full_disk_stops_the_run_naming_file_and_free_space_and_leaves_no_partial_file(small_disk, tmp_path):
    run_dir = small_disk / "run"
    process = run_script("train.py", f"hydra.run.dir={run_dir}", f"paths.log_dir={tmp_path}",
                         "trainer.max_epochs=3", *FAST)
    assert process.returncode != 0
    failed = run_dir / "checkpoints" / "epoch001.ckpt"
    assert f"Cannot write {failed} (0.3 MB): No space left on device; " in process.stderr, process.stderr[-3000:]
    assert " kB free on that disk" in process.stderr
    files = sorted(p.name for p in (run_dir / "checkpoints").iterdir())
    assert files == ["epoch000.ckpt", "last.ckpt"], files  # no truncated epoch001.ckpt, no temporary file
    torch.load(run_dir / "checkpoints" / "epoch000.ckpt", weights_only=True)  # complete

    # Space freed; a damaged checkpoint (from some other accident) lies in the folder: the
    # resumed run trains to the end (readers of the whole folder skip that file with a warning), metrics.json is written.
    subprocess.run(["mount", "-o", "remount,size=4m", str(small_disk)], check=True)
    damaged = run_dir / "checkpoints" / "epoch009.ckpt"
    damaged.write_bytes(b"not a checkpoint")
    process = run_script("train.py", f"resume={run_dir}", f"hydra.run.dir={tmp_path / 'resume'}", *FAST)
    assert process.returncode == 0, process.stderr[-3000:]
{%- if cookiecutter.__with_ensembles == "yes" %}
    assert f"warning: skipped a checkpoint: Cannot read the checkpoint {damaged}" in process.stderr
    assert "ensemble/soft/acc" in read_metrics(run_dir)
{%- endif %}


# 4c. Runs are combined only on one test set ----------------------------------------------

def test_split_fingerprint_is_recorded_ignores_order_and_leaves_the_rng_alone(run):
    from {{cookiecutter.package_name}}.core.data import DigitsData, examples_fingerprint
    from {{cookiecutter.package_name}}.runs.split_fingerprint import recorded_split

    data = DigitsData()
    torch.manual_seed(0)
    before = torch.get_rng_state()
    fingerprint = data.fingerprint()
    assert torch.equal(before, torch.get_rng_state())
    assert recorded_split(run) == fingerprint  # what train.py wrote for the same data
    train_x, train_y = data.split_tensors("train")
    order = torch.randperm(len(train_y))
    assert examples_fingerprint(train_x[order], train_y[order]) == fingerprint["train"]
    other = DigitsData(split_seed=1).fingerprint()
    assert other["test"] != fingerprint["test"]
    half = DigitsData(fraction=0.5).fingerprint()  # learning curves: same val and test, other train
    assert half["test"] == fingerprint["test"] and half["train"] != fingerprint["train"]
{%- if cookiecutter.__with_ensembles == "yes" %}


def test_eval_refuses_a_multirun_whose_jobs_were_tested_on_different_examples(tmp_path):
    from conftest import when_room

    sweep = tmp_path / "sweep"
    process = run_script("train.py", "-m", "data.split_seed=0,1", "trainer.max_epochs=1", "ensemble.k=0",
                         *when_room("checks", "baselines=false"), f"hydra.sweep.dir={sweep}", f"paths.log_dir={tmp_path}", *FAST)
    assert process.returncode == 0, process.stderr[-3000:]
    process = run_script("eval.py", str(sweep))  # by default only jobs that differ in seed are combined:
    assert process.returncode == 0, process.stdout[-2000:] + process.stderr[-2000:]  # each job scored alone
    assert "no cross-run ensemble for job 0 (data.split_seed=0 " in process.stdout, process.stdout
    for job in ("0", "1"):
        assert f"job {job} (data.split_seed={job} " in process.stdout, process.stdout
    assert process.stdout.count("test set, top-") == 2, process.stdout
    process = run_script("eval.py", str(sweep), "--across", "data.split_seed")
    assert process.returncode == 1, process.stdout[-2000:]
    error = last_line(process)
    assert "were not tested on the same examples" in error, error
    assert "0 (data.split_seed=0)" in error and "1 (data.split_seed=1)" in error, error
{%- endif %}
