"""A key that nothing reads fails before any work (core/unknown_keys.py), and so does a command-line
mistake that Hydra would report in its own words (core/command_line.py): exit code 2, one paragraph
naming the key and the nearest keys or options, no run folder, torch not imported.
"""

import inspect

import pytest
from hydra import compose, initialize_config_dir
from hydra.utils import get_object
from omegaconf import OmegaConf

from conftest import FAST, IMPORT_TIMES, ROOT, imported_packages, run_script, when_room

# (overrides, what the paragraph must name, the nearest keys or options it must give)
UNKNOWN = [
    ("+class_weights=[1,2]", "class_weights=[1, 2] is not a key of this config", "`+extra.class_weights=<value>`"),
{%- if cookiecutter.__with_stages == "yes" %}
    ("+stages.bogus=1", "stages.bogus=1 is not a key", "stages.continue_on_fail, stages.ladder, stages.warm_start"),
{%- endif %}
    ("+trainer.max_epoch=3", "trainer.max_epoch=3 is not an argument of lightning.Trainer",
     "the nearest: trainer.max_epochs"),
    ("data=csv data.path=x.csv +data.batch_sise=8", "data.batch_sise=8 is not an argument of "
     "{{cookiecutter.package_name}}.core.data_csv.CsvData", "the nearest: data.batch_size"),  # a base's argument (**settings)
    ("+model.widht=3", "model.widht=3 is not an argument of {{cookiecutter.package_name}}.core.models.ResNet", "the nearest: model.width"),
    ("+optimizer.learning_rate=0.1", "optimizer.learning_rate=0.1 is not an argument of torch.optim.Adam",
     "takes: lr, betas, eps"),
    ("+callbacks.early_stoping.patience=3", "callbacks.early_stoping={'patience': 3} is not a key",
     "the nearest: callbacks.early_stopping"),
    # without the `+`, Hydra would stop first ("Could not override", "Could not find"): exit code 1, its own words
    ("trainer.max_epoch=3", "trainer.max_epoch=3 is not an argument of lightning.Trainer",
     "the nearest: trainer.max_epochs"),
    ("class_weights=[1,2]", "class_weights=[1, 2] is not a key of this config", "the keys at the top: augmentation"),
    ("model=huge", "model=huge is not an option of the model group",
     "large, medium, mlp_large, mlp_medium, mlp_small, mlp_tiny, small, tiny (configs/model/)"),
    ("-m model=tiny,huge seed=0,1", "model=huge is not an option of the model group", "mlp_tiny, small, tiny"),
    ("data=digit", "data=digit is not an option of the data group", "the nearest: digits"),
    ("trainer.max_time=00:00:01:00", "trainer.max_time is not in this config yet",
     "`+trainer.max_time=00:00:01:00`"),
    ("~callbacks.progres_bar", "~callbacks.progres_bar removes a key that this config does not have",
     "the nearest: callbacks.progress_bar"),
]


@pytest.mark.parametrize("overrides, named, nearest", UNKNOWN, ids=[u[0] for u in UNKNOWN])
def test_a_key_or_option_that_does_not_exist_fails_before_any_work(tmp_path, overrides, named, nearest):
    process = run_script("train.py", f"paths.log_dir={tmp_path}", *overrides.split(), env=IMPORT_TIMES)
    assert process.returncode == 2, process.stdout[-2000:] + process.stderr[-3000:]
    errors = [line for line in process.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and named in errors[0] and nearest in errors[0], process.stderr[-3000:]
    assert "Traceback" not in process.stderr and "HYDRA_FULL_ERROR" not in process.stderr
    assert not {"torch", "lightning"} & imported_packages(process)  # it failed in a second, before any work
    assert not list(tmp_path.glob("runs/*")) and not list(tmp_path.glob("multiruns/*"))  # no run folder left
{%- if cookiecutter.__with_stages == "yes" %}


def test_options_and_keys_of_your_own_config_folder_count(tmp_path):
    """An option in a folder added with hydra.searchpath is an option, and the keys its file defines exist."""
    from {{cookiecutter.package_name}}.core.command_line import command_line_problem

    (tmp_path / "configs" / "stages").mkdir(parents=True)
    (tmp_path / "configs" / "stages" / "mine.yaml").write_text("warm_start: false\ncontinue_on_fail: false\n"
                                                               "ladder: []\nmy_setting: 1\n")
    searchpath = f"hydra.searchpath=[file://{tmp_path / 'configs'}]"
    assert command_line_problem(["stages=mine", searchpath, "stages.my_setting=2"], ROOT / "configs", "train") is None
    process = run_script("train.py", "stages=mine", searchpath, "stages.my_settin=2", f"paths.log_dir={tmp_path}")
    assert process.returncode == 2 and "stages.my_settin=2 is not a key" in process.stderr, process.stderr[-2000:]
    assert "the nearest: stages.my_setting" in process.stderr
    process = run_script("train.py", "stages=mine", searchpath, "+stages.my_settin=2", f"paths.log_dir={tmp_path}")
    assert process.returncode == 2 and "the nearest: stages.my_setting" in process.stderr, process.stderr[-2000:]
{%- endif %}


def test_keys_of_your_own_and_arguments_added_with_a_plus_still_train(train):
    process, run_dir = train("data=tiny", "+extra.dataset_version=3", "+extra.why=baseline",
                             "+trainer.max_time=00:00:05:00", "+logger.tensorboard.flush_secs=5", *FAST)
    config = OmegaConf.load(run_dir / ".hydra" / "config.yaml")
    assert config.extra == {"dataset_version": 3, "why": "baseline"} and config.trainer.max_time == "00:00:05:00"


def options(group: str) -> list[str]:
    return sorted(path.stem for path in (ROOT / "configs" / group).glob("*.yaml"))


# every option of every group, every experiment, and what the docs' tables name: no false alarm
SHIPPED = ([f"{group}={option}" for group in ("model", "optimizer", "scheduler", "regularization", "augmentation",
                                               "curriculum", "trainer", "logger", "callbacks", "data", "stages",
                                               "sweep", "experiment") for option in options(group)]
           + ["data=csv data.path=x.csv data.target=y", "+extra.note=x", *when_room("workflow", "target={metric:test/acc,value:0.9}"),
              *when_room("diagnostics",
                         "+callbacks.spy._target_={{cookiecutter.package_name}}.diagnostics.learning_curve.LearningCurve"),
              "augmentation=light +augmentation.rotation.same_on_batch=true", "+trainer.max_time=00:00:01:00"])


@pytest.mark.parametrize("overrides", SHIPPED)
def test_every_shipped_option_has_only_keys_that_something_reads(overrides):
    from {{cookiecutter.package_name}}.core.unknown_keys import unknown_key_problems

    with initialize_config_dir(config_dir=str(ROOT / "configs"), version_base="1.3"):
        assert unknown_key_problems(compose("train", overrides=overrides.split())) == []


def test_arguments_read_from_source_are_the_ones_python_sees():
    """core/static_signature.py, which spares validation the import of torch, agrees with inspect where it answers."""
    from {{cookiecutter.package_name}}.core.static_signature import parameters

    targets = {value for path in (ROOT / "configs").rglob("*.yaml")
               for key, value in flat(OmegaConf.to_container(OmegaConf.load(path))) if key.endswith("_target_")}
    answered = 0
    for target in sorted(targets):
        static = parameters(target)
        if static is None:
            continue
        signature = inspect.signature(get_object(target)).parameters.values()
        names = [p.name for p in signature if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]
        if any(p.kind == p.VAR_KEYWORD for p in signature) and not static[1]:  # **settings handed to the base
            assert static[0][: len(names)] == names and len(static[0]) > len(names), target
        else:
            assert static == (names, any(p.kind == p.VAR_KEYWORD for p in signature)), target
        answered += 1
    assert answered >= len(targets) - 6, "most targets are read from source (torch.optim, lightning, ours)"
    for common in ("lightning.Trainer", "torch.optim.Adam", "{{cookiecutter.package_name}}.core.models.ResNet", "{{cookiecutter.package_name}}.core.data.DigitsData"):
        assert parameters(common) is not None, common


def flat(node, prefix=""):
    if isinstance(node, dict):
        for key, value in node.items():
            yield from flat(value, f"{prefix}{key}.") if isinstance(value, (dict, list)) else [(f"{prefix}{key}", value)]
    elif isinstance(node, list):
        for item in node:
            yield from flat(item, prefix)
