"""Every key of the config is one the project reads: a misspelled or invented key fails in a second.

Hydra takes any `+key=value` and the run would carry `+class_weights=[1,2]`, `+stages.bogus=1`
or `+trainer.max_epoch=3` without a word while nothing reads them. Which keys exist is read
from the project, not from a list kept by hand:
- the keys that a config file of configs/ defines (the main config and every option of every
  group; an experiment sets keys of the others and defines none of its own), where it defines them;
- under a `_target_`, the arguments of that target, read from its source (core/static_signature.py;
  what cannot be read there is left to core/target_arguments.py, which imports the target);
- in `callbacks` and `logger`, an entry of your own with a `_target_` (a callback, a logger);
- below a key defined as a value or null (`target: null`), anything: the value is yours;
- under `extra` (train.yaml), anything: keys of your own that nothing reads.
A key that is none of these fails with the nearest keys that exist (difflib). Nothing heavy is
imported: this runs first in core/validate.py.
"""

import copy
import difflib

from hydra.core.global_hydra import GlobalHydra
from hydra.core.hydra_config import HydraConfig
from hydra.core.object_type import ObjectType
from omegaconf import DictConfig, OmegaConf

from .static_signature import parameters

COLLECTIONS = ("callbacks", "logger")  # their entries are objects of their own, each with a `_target_`
FREE = "extra"  # train.yaml: `+extra.<name>=<value>`, keys of your own that nothing reads
# Arguments our own code passes (run.py, core/module.py): a target gets them without the config
# naming them, and a config value for one would be silently replaced, so core/target_arguments.py refuses it.
PASSED_BY_CODE = {
    "model": {"in_shape": "the data", "num_outputs": "the data", "dropout": "regularization.dropout"},
    "optimizer": {"params": "the model", "weight_decay": "regularization.weight_decay"},
    "scheduler": {"optimizer": "the optimizer", "total_steps": "the trainer (the run's length)"},
    "trainer": {"callbacks": "the callbacks group", "logger": "the logger group",
                "default_root_dir": "paths.run_dir"},
}


def unknown_key_problems(cfg: DictConfig) -> list[str]:
    """One sentence per key that nothing reads (see the top); [] outside a Hydra app (nothing to compare with)."""
    if not GlobalHydra.instance().is_initialized():
        return []
    hydra = HydraConfig.get() if HydraConfig.initialized() else None
    name, searchpath = (hydra.job.config_name, hydra.searchpath) if hydra else ("train", [])
    return node_problems(cfg, "", defined_keys(name, config_sources(searchpath)))


def node_problems(node: DictConfig, prefix: str, defined: set[str]) -> list[str]:
    """The unknown keys of `node` (at config key `prefix`), then of the nodes inside it that have a schema."""
    target = target_of(node)
    takes = parameters(target) if target else None
    problems = []
    for name in map(str, node):
        key, child = prefix + name, node._get_node(name)
        if name.startswith("_"):  # Hydra's own: _target_, _partial_, _args_, ...
            continue
        if target:  # an argument of the target: known if the target takes it (or cannot be read here)
            if takes is not None and not takes[1] and name not in takes[0]:
                problems.append(not_an_argument(node, name, key, target, takes[0]))
            elif isinstance(child, DictConfig) and target_of(child):  # a nested object, e.g. a transform
                problems += node_problems(child, key + ".", defined)
            continue
        own_object = prefix[:-1] in COLLECTIONS and isinstance(child, DictConfig) and target_of(child)
        if key not in defined and not own_object:
            problems.append(not_a_key(node, name, key, defined))
        elif isinstance(child, DictConfig) and (target_of(child) or any(d.startswith(key + ".") for d in defined)):
            problems += node_problems(child, key + ".", defined)
    return problems


def not_a_key(node: DictConfig, name: str, key: str, defined: set[str]) -> str:
    parent = key.rpartition(".")[0]
    same_depth = sorted(d for d in defined if d.count(".") == key.count("."))
    nearest = difflib.get_close_matches(key, same_depth, n=3, cutoff=0.6)
    siblings = sorted(d for d in defined if d.rpartition(".")[0] == parent)
    hint = (f"the nearest: {', '.join(nearest)}" if nearest
            else f"the keys {'of ' + parent if parent else 'at the top'}: {', '.join(siblings)}")
    return (f"{key}={shown(node, name)} is not a key of this config, and nothing reads it ({hint}). "
            f"A key of your own that nothing reads goes under {FREE}: `+{FREE}.{name}=<value>`.")


def not_an_argument(node: DictConfig, name: str, key: str, target: str, takes: list[str]) -> str:
    parent = key.rpartition(".")[0]
    takes = [n for n in takes if n not in PASSED_BY_CODE.get(parent, {})]
    nearest = difflib.get_close_matches(name, takes, n=3, cutoff=0.6)
    return (f"{key}={shown(node, name)} is not an argument of {target}, which takes: {', '.join(takes) or 'nothing'}"
            + (f" (the nearest: {', '.join(f'{parent}.{n}' for n in nearest)})." if nearest else "."))


def config_sources(searchpath) -> list:
    """Where Hydra finds configs: the app's configs/ and Hydra's, plus `hydra.searchpath` (your own options)."""
    from hydra._internal.config_repository import ConfigRepository  # Hydra's own: a search path into sources

    search_path = copy.deepcopy(GlobalHydra.instance().config_loader().get_search_path())
    for path in searchpath or []:
        search_path.append(provider="hydra.searchpath", path=path)
    return ConfigRepository(search_path).get_sources()


def defined_keys(config_name: str, sources: list) -> set[str]:
    """Every dotted key a config file defines: the main config (and the files its defaults name), every group option."""
    files = [(config_name, "")]
    groups = [g for g in listing(sources, "", ObjectType.GROUP) if g not in ("hydra", "experiment")]
    while groups:
        group = groups.pop()
        groups += [f"{group}/{sub}" for sub in listing(sources, group, ObjectType.GROUP)]
        files += [(f"{group}/{option}", group.replace("/", ".")) for option in listing(sources, group)]
    keys = set()
    while files:
        path, package = files.pop()
        result = next((s.load_config(path) for s in sources if s.is_config(path)), None)
        if result is None or not isinstance(result.config, DictConfig):
            continue
        header = (result.header.get("package") or package).replace("_group_", package)
        root = header.removeprefix("_global_").strip(".")
        config = OmegaConf.to_container(result.config, resolve=False)
        if not package:  # the main config: the plain files its defaults list names are part of it
            files += [(entry, "") for entry in config.get("defaults") or [] if isinstance(entry, str)
                      and entry != "_self_"]
        config.pop("defaults", None)
        keys |= dotted_keys(config, root)
        keys |= {".".join(root.split(".")[: i + 1]) for i in range(len(root.split("."))) if root}
    return {key for key in keys if key.partition(".")[0] != "hydra"}  # Hydra's own settings are not in a job's config


def listing(sources, group: str, kind=ObjectType.CONFIG) -> list[str]:
    """The options (or subgroups) of a config group in every config source (Hydra's own listing copies them all)."""
    return sorted({name for source in sources if source.is_group(group) for name in source.list(group, kind)})


def dotted_keys(config: dict, prefix: str) -> set[str]:
    keys = set()
    for name, value in config.items():
        key = f"{prefix}.{name}" if prefix else str(name)
        keys.add(key)
        if isinstance(value, dict):
            keys |= dotted_keys(value, key)
    return keys


def target_of(node) -> str | None:
    if not isinstance(node, DictConfig) or "_target_" not in node or OmegaConf.is_interpolation(node, "_target_"):
        return None
    return str(node._target_)


def shown(node: DictConfig, name: str) -> str:
    """The value as written: an interpolation unresolved, a dict or list plainly."""
    if OmegaConf.is_interpolation(node, name) or OmegaConf.is_config(node[name]):
        return str(OmegaConf.to_container(node, resolve=False)[name])
    return repr(node[name])
