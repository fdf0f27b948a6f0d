"""Damaged files, unwritable caches, empty paths, identifier columns, notes Hydra cannot read:
each is one paragraph naming what is wrong and what to do, before any work, or only a warning."""

import os
import shutil
import subprocess

import pytest
import torch

from conftest import FAST, run_script, when_room
from {{cookiecutter.package_name}}.core.data import DataError
from {{cookiecutter.package_name}}.core.data_csv import CsvData
from {{cookiecutter.package_name}}.core.data_images import ImageFolderData

ONE_EPOCH = ["trainer.max_epochs=1", *FAST]


def write_images(root, **settings):
    from data_files import write_images  # PNGs of three colors, one folder per class

    return write_images(root, **settings)


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory):
    """A finished 1-epoch run (digits): checkpoints, run_record.json, split.json."""
    run_dir = tmp_path_factory.mktemp("base") / "run"
    process = run_script("train.py", f"hydra.run.dir={run_dir}", *ONE_EPOCH)
    assert process.returncode == 0, process.stdout[-2000:] + process.stderr[-3000:]
    return run_dir


def state(folder):
    """Every file of a folder with its size and modification time: what "nothing was written" compares."""
    return {str(p.relative_to(folder)): (p.stat().st_size, p.stat().st_mtime_ns) for p in folder.rglob("*")}


DAMAGED = {  # file, content, command (RUN: the damaged run folder), exit code
    "empty config, resume": (".hydra/config.yaml", "", ["train.py", "resume=RUN", "trainer.max_epochs=2"], 1),
{%- if cookiecutter.__with_workflow == "yes" %}
    "truncated config, reproduce": (".hydra/config.yaml", "model: {_target_: ", ["train.py", "reproduce=RUN"], 2),
{%- endif %}
{%- if cookiecutter.__with_ensembles == "yes" %}
    "empty config, eval": (".hydra/config.yaml", "", ["eval.py", "RUN"], 1),
{%- endif %}
    "truncated record, resume": ("run_record.json", '{"command": ', ["train.py", "resume=RUN", "trainer.max_epochs=2"], 1),
{%- if cookiecutter.__with_workflow == "yes" %}
    "empty record, reproduce": ("run_record.json", "", ["train.py", "reproduce=RUN"], 2),
    "record not a dict, diff": ("run_record.json", "[1, 2]", ["worklog.py", "diff", "RUN", "RUN"], 1),
{%- endif %}
{%- if cookiecutter.__with_ensembles == "yes" %}
    "truncated split, eval": ("split.json", '{"train": "ab', ["eval.py", "RUN"], 1),
{%- endif %}
}


@pytest.mark.parametrize("case", DAMAGED, ids=list(DAMAGED))
def test_a_damaged_run_file_is_one_paragraph_naming_it_and_nothing_is_written(finished_run, tmp_path, case):
    name, content, command, code = DAMAGED[case]
    run_dir = tmp_path / "run"
    shutil.copytree(finished_run, run_dir)
    (run_dir / name).write_text(content)
    before = state(run_dir)
    script, *arguments = command
    arguments = [a.replace("RUN", str(run_dir)) for a in arguments]
    if script == "train.py":
        arguments += [f"paths.log_dir={tmp_path / 'logs'}", *FAST]
    process = run_script(script, *arguments)
    assert process.returncode == code, process.stdout[-2000:] + process.stderr[-3000:]
    message = process.stderr.strip().splitlines()[-1]
    assert message.startswith(f"error: {run_dir / name} is damaged ("), process.stderr[-3000:]
    assert "restore it" in message and "Traceback" not in process.stderr and "checkpoint file" not in message
    assert state(run_dir) == before  # nothing read-and-rewritten, nothing deleted
    assert not list((tmp_path / "logs").glob("runs/*"))  # and no folder of its own left behind


def test_a_damaged_status_json_is_rewritten_by_the_run(finished_run, tmp_path):
    run_dir = tmp_path / "run"
    shutil.copytree(finished_run, run_dir)
    (run_dir / "status.json").write_text("[1]")  # valid JSON, not a status
    process = run_script("train.py", f"resume={run_dir}", "trainer.max_epochs=2", f"hydra.run.dir={tmp_path / 'x'}",
                         *FAST)
    assert process.returncode == 0, process.stdout[-2000:] + process.stderr[-3000:]
    assert '"status": "finished"' in (run_dir / "status.json").read_text()


@pytest.mark.parametrize("key", ["resume", *when_room("workflow", "reproduce")])
def test_an_empty_resume_or_reproduce_is_an_error_not_a_new_run(tmp_path, key):
    process = run_script("train.py", f"{key}=", f"paths.log_dir={tmp_path}", *ONE_EPOCH)  # `resume=$UNSET`
    assert process.returncode == 2, process.stdout[-2000:] + process.stderr[-3000:]
    assert f"error: {key}= is empty: give the folder of a run" in process.stderr
    assert "Nothing was trained." in process.stderr and not list(tmp_path.glob("runs/*"))


# --- image caches: under logs/cache, an optimisation that never fails a run ------------------------


def test_a_cache_that_cannot_be_written_is_one_warning_and_leaves_no_partial_file(tmp_path, capsys):
    root = write_images(tmp_path / "fruit", per_class=12)
    blocked = tmp_path / "not_a_folder"
    blocked.write_text("a file where the cache folder would go")
    data = ImageFolderData(path=str(root), size=6, cache_dir=str(blocked / "images"))
    out = capsys.readouterr().out
    assert f"warning: could not write the image cache {blocked / 'images'}" in out and "training goes on" in out
    assert sum(len(index) for index in data.indices.values()) == 36
    assert not list(tmp_path.rglob("*.partial")) and not list(tmp_path.rglob("*.pt"))


def test_a_damaged_image_cache_is_read_again_and_rewritten(tmp_path, capsys):
    root, cache_dir = write_images(tmp_path / "fruit", per_class=12), tmp_path / "cache"
    first = ImageFolderData(path=str(root), size=6, cache_dir=str(cache_dir))
    (cache,) = cache_dir.glob("fruit_*.pt")
    saved = torch.load(cache, weights_only=True)
    torch.save({"images": saved["images"][:-1], "keep": saved["keep"]}, cache)  # one image short
    capsys.readouterr()
    again = ImageFolderData(path=str(root), size=6, cache_dir=str(cache_dir))
    out = capsys.readouterr().out
    assert f"data: the cache {cache} is damaged (not the 36 images it should hold); reading the images again" in out
    assert torch.equal(again.split_tensors("train")[0], first.split_tensors("train")[0])
    assert len(torch.load(cache, weights_only=True)["images"]) == 36  # rewritten whole


def mount(*arguments) -> bool:
    return subprocess.run(["mount", *arguments], capture_output=True).returncode == 0


def test_images_on_a_read_only_folder_train_with_a_full_cache_disk(tmp_path):
    """The data folder mounted read-only, the cache on a 64 kB tmpfs that the images overflow: the run trains."""
    root, full = write_images(tmp_path / "fruit", per_class=10), tmp_path / "full"
    full.mkdir()
    if os.geteuid() != 0 or not mount("--bind", str(root), str(root)):
        pytest.skip("needs root to mount a read-only folder and a small tmpfs")
    try:
        assert mount("-o", "remount,ro,bind", str(root))
        assert mount("-t", "tmpfs", "-o", "size=64k", "tmpfs", str(full))
        with pytest.raises(OSError):  # really read-only, for root too
            (root / "probe").write_text("x")
        before = sorted(str(p) for p in root.rglob("*"))
        process = run_script("train.py", "data=image_folder", f"data.path={root}", "data.size=32", "model=tiny",
                             f"data.cache_dir={full}/images", f"hydra.run.dir={tmp_path / 'run'}", *ONE_EPOCH)
        assert process.returncode == 0, process.stdout[-2000:] + process.stderr[-3000:]
        assert f"warning: could not write the image cache {full / 'images'}" in process.stdout
        assert (tmp_path / "run" / "metrics.json").is_file()
        assert sorted(str(p) for p in root.rglob("*")) == before  # nothing written into the data
        assert not list(full.rglob("*.partial")) and not list(full.rglob("*.pt"))
    finally:
        subprocess.run(["umount", str(full)], capture_output=True)
        subprocess.run(["umount", str(root)], capture_output=True)


# --- tables: an identifier column is refused before it is one-hot encoded --------------------------


def test_a_text_id_column_is_refused_naming_it_and_how_to_drop_it(tmp_path):
    path = tmp_path / "people.csv"
    path.write_text("id,name,age,city,label\n" + "".join(
        f"u{i:05d},person {i},{20 + i % 50},{'abc'[i % 3]},{i % 2}\n" for i in range(400)))
    with pytest.raises(DataError) as refused:
        CsvData(path=str(path), target="label")
    message = str(refused.value)
    assert "'id' (400 distinct values in 400 rows)" in message and "'name' (400 distinct" in message
    assert "data.drop_columns=[id,name]" in message and "'city'" not in message
    data = CsvData(path=str(path), target="label", drop_columns=["id", "name"])
    assert data.in_shape == (4,)  # age and city=a|b|c
    assert data.raw_columns["id"][data.indices["test"].numpy()][0].startswith("u")  # slices can still use it
    process = run_script("train.py", "data=csv", f"data.path={path}", "data.target=label",
                         f"hydra.run.dir={tmp_path / 'run'}", *ONE_EPOCH)
    assert process.returncode == 2 and "data.drop_columns=[id,name]" in process.stderr, process.stderr[-3000:]
