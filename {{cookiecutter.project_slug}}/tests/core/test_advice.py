"""Every override the project's messages name exists: advice a user types must compose.

Reads every string in the package (messages, advice, docstrings; f-string parts too), picks the
`key=value` overrides whose key starts with a config group or a top-level key of train.yaml, and
checks each against the configs: the key exists in the composed config (in some option of its
group: `data.path` is data=npz's), and a `group=option` names an option file that exists.
"""

import ast
import functools
import re

from hydra import compose, initialize_config_dir
from omegaconf import OmegaConf

from conftest import ROOMS, ROOT

CONFIGS = ROOT / "configs"
PACKAGE = next(p for p in (ROOT / "src").iterdir() if p.is_dir() and (p / "run.py").is_file())
# Keys of the data contract (core/data.py reads them) that only a room's configs declare: the core's messages
# naming them are reached only in runs of that room.
ROOM_KEYS = {"data.unlabeled_fraction": "pseudo_labels", "data.unlabeled_path": "pseudo_labels"}
OVERRIDE = re.compile(r"(?<![\w./<-])([~]?[a-z_][a-z0-9_]*(?:[./][a-z0-9_]+)*)=([^\s`'\",;)]*)")


def docstrings(tree) -> set:
    """The docstring nodes (they explain code, and may show a refused override on purpose)."""
    return {node.body[0].value for node in ast.walk(tree)
            if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef)) and node.body
            and isinstance(node.body[0], ast.Expr) and isinstance(node.body[0].value, ast.Constant)}


def named_overrides() -> dict:
    """{(key, value): "file:line"} for every override-looking text in the package's strings (not docstrings)."""
    found = {}
    for file in sorted(PACKAGE.rglob("*.py")):
        tree = ast.parse(file.read_text())
        skip = docstrings(tree)
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and node not in skip:
                for match in OVERRIDE.finditer(node.value):
                    found.setdefault(match.groups(), f"{file.relative_to(ROOT)}:{node.lineno}")
    return found


def group_options(group: str) -> list[str]:
    return sorted(p.stem for p in (CONFIGS / group).glob("*.yaml"))


def configs_with(key: str) -> list:
    """The default config, and one config per option of the key's group (`data.path` is data=npz's)."""
    group = key.split(".")[0]
    return composed(group if (CONFIGS / group).is_dir() and "." in key else None)


@functools.cache
def composed(group: str | None) -> list:
    with initialize_config_dir(config_dir=str(CONFIGS), version_base="1.3"):
        configs = [compose("train")]
        if group:
            configs += [compose("train", overrides=[f"{group}={option}"]) for option in group_options(group)]
    return configs


def has_key(config, key: str) -> bool:
    """`key` is in `config` (a required `???` value counts); under a parent that is null by default (`target`),
    a block the user writes whole, the module that reads it validates its keys: counted."""
    parent, _, last = key.rpartition(".")
    if parent and OmegaConf.select(config, parent, throw_on_missing=False, default="absent") is None:
        return True
    node = OmegaConf.select(config, parent, throw_on_missing=False) if parent else config
    return OmegaConf.is_config(node) and not OmegaConf.is_list(node) and last in list(node.keys())


def test_every_override_the_project_names_exists():
    checked = {}
    top_level = set(configs_with("seed")[0].keys()) | {p.name for p in CONFIGS.iterdir() if p.is_dir()}
    wrong = []
    for (key, value), where in named_overrides().items():
        bare = key.lstrip("~")
        if bare.split(".")[0].split("/")[0] not in top_level or bare.startswith("hydra"):
            continue  # not an override (a Python argument, a metric name ...); hydra.* keys are Hydra's own
        if ROOM_KEYS.get(bare, "core") not in ROOMS | {"core"}:
            continue  # a key of a room this project was baked without
        group = CONFIGS / bare
        if group.is_dir() and "." not in bare:  # group=option
            if value and re.fullmatch(r"[\w-]+", value) and value != "null" and not (group / f"{value}.yaml").exists():
                wrong.append(f"{where}: {key}={value}: no option {value!r} in {group_options(bare)}")
        elif not checked.setdefault(bare, any(has_key(config, bare) for config in configs_with(bare))):
            wrong.append(f"{where}: {key}=...: no key {bare!r} in any composed config")
    assert not wrong, "\n".join(wrong)


def test_the_advice_checker_catches_a_misspelled_key():
    """The check above is real: a misspelled key or option is caught."""
    assert any(has_key(config, "data.path") for config in configs_with("data.path"))
    assert not any(has_key(config, "data.pathh") for config in configs_with("data.pathh"))
    assert not any(has_key(config, "optimizer.learning_rate") for config in configs_with("optimizer.learning_rate"))
    assert "small" in group_options("model") and "huge" not in group_options("model")
