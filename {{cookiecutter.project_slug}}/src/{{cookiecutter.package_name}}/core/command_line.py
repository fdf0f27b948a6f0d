"""A command-line mistake that Hydra would report in its own words: the project's paragraph instead, exit code 2.

`python train.py model=huge` (no such option) and `python train.py trainer.max_epoch=3` (no such
key) stop in Hydra before the project's validation runs, with Hydra's "Could not find 'model/huge'"
or "Could not override 'trainer.max_epoch'" and exit code 1. The entry points (train.py, ...)
first read the overrides with Hydra's own parser and compose API: an option that a group does not
have names the group's options (configs/<group>/), a key that the config does not have names the
nearest keys (core/unknown_keys.py), a key that exists only as an argument says to add it with `+`.
Anything else (a value Hydra cannot parse, a flag such as --cfg) is left to Hydra.
"""

import difflib
from pathlib import Path

from hydra import compose, initialize_config_dir
from hydra.core.object_type import ObjectType
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.errors import HydraException
from omegaconf import DictConfig, ListConfig, OmegaConf, open_dict

from .unknown_keys import config_sources, defined_keys, listing, node_problems


def command_line_problem(arguments: list[str], config_dir: Path, config_name: str) -> str | None:
    """The paragraph for the overrides in `arguments` that Hydra would refuse (see the top), else None."""
    if any(a.startswith("-") and a not in ("-m", "--multirun") for a in arguments):
        return None  # Hydra's own flags (--cfg, -cn, --help, ...): Hydra's business
    try:
        overrides = OverridesParser.create().parse_overrides([a for a in arguments if not a.startswith("-")])
    except HydraException:
        return None  # Hydra says what it cannot parse, and where
    if not overrides:
        return None
    try:
        with initialize_config_dir(config_dir=str(Path(config_dir).resolve()), version_base="1.3"):
            sources = config_sources(searchpath(overrides, config_name))
            groups = group_names(sources)
            problems = [p for o in overrides if o.key_or_group in groups for p in option_problems(o, sources)]
            if not problems:
                problems = key_problems(overrides, groups, config_name, sources)
    except Exception:  # this check is never in the way of a run: Hydra reports what it could not read
        return None
    if not problems:
        return None
    return "error: Invalid command line: " + " ".join(problems) + " Nothing was started."


def searchpath(overrides, config_name: str) -> list[str]:
    """`hydra.searchpath` (more folders of configs) as the command line or the main config sets it."""
    given = [o.value() for o in overrides if o.key_or_group == "hydra.searchpath"]
    if given:
        return list(given[-1] or [])
    main = next((s.load_config(config_name) for s in config_sources([]) if s.is_config(config_name)), None)
    return list(OmegaConf.select(main.config, "hydra.searchpath") or []) if main else []


def group_names(sources) -> set[str]:
    """Every config group (model, sweep, hydra/launcher, ...)."""
    names, todo = set(), listing(sources, "", ObjectType.GROUP)
    while todo:
        group = todo.pop()
        names.add(group)
        todo += [f"{group}/{sub}" for sub in listing(sources, group, ObjectType.GROUP)]
    return names


def option_problems(override, sources) -> list[str]:
    """`group=option` (or a sweep over options) naming an option the group does not have."""
    if override.is_delete() or override.value() is None:
        return []
    try:
        chosen = list(override.sweep_string_iterator()) if override.is_sweep_override() else [str(override.value())]
    except Exception:  # a glob or an interval over options: Hydra's business
        return []
    options = listing(sources, override.key_or_group)
    group = override.key_or_group
    return [f"{group}={name} is not an option of the {group} group, which has: {', '.join(options)}"
            + nearest(name, options) + f" (configs/{group}/)." for name in chosen if name not in options]


def key_problems(overrides, groups: set[str], config_name: str, sources: list) -> list[str]:
    """Plain `key=value` and `~key` overrides naming a key that the composed config does not have."""
    keys = [o for o in overrides if o.key_or_group not in groups and not (o.is_add() or o.is_force_add())
            and o.key_or_group != "hydra.searchpath"]  # where the configs are: composed with the options
    if not keys:
        return []
    kept = [o.input_line for o in overrides if all(o is not k for k in keys) and not o.is_sweep_override()]
    try:
        cfg = compose(config_name, overrides=kept, return_hydra_config=True)
    except HydraException:
        return []  # some other mistake: Hydra says which
    problems = []
    for override in (o for o in keys if not exists(cfg, o.key_or_group)):
        key = override.key_or_group
        plain = override.is_delete() or override.is_hydra_override()
        unknown = None if plain else with_key(cfg.copy(), override, defined_keys(config_name, sources))
        if unknown is None:  # a removal, a Hydra setting, an item of a list: the keys at that depth
            what = "removes a key" if override.is_delete() else "sets a key"
            problems.append(f"{override.input_line} {what} that this config does not have"
                            + nearest(key, [k for k in all_keys(cfg) if k.count(".") == key.count(".")]) + ".")
        elif unknown:
            problems.append(unknown)
        else:
            problems.append(f"{key} is not in this config yet, and it can be: add it with a `+`, "
                            f"`+{override.input_line}`.")
    return problems


def with_key(cfg: DictConfig, override, defined: set[str]) -> str | None:
    """What core/unknown_keys.py says of the config with this key added: "" if it would be read, None if it cannot be added."""
    key = override.key_or_group
    value = override.get_value_element_as_str() if override.is_sweep_override() else override.value()
    with open_dict(cfg):
        del cfg["hydra"]
        try:
            OmegaConf.update(cfg, key, value, force_add=True)
        except Exception:  # e.g. an item past the end of a list
            return None
    found = [p for p in node_problems(cfg, "", defined) if p.startswith(key + "=")
             or key.startswith(p.partition("=")[0] + ".")]
    return found[0] if found else ""


def exists(cfg, key: str) -> bool:
    node = cfg
    for part in key.split("."):
        if isinstance(node, DictConfig) and part in node.keys():  # `in node` is False for a ??? value
            node = node._get_node(part)
        elif isinstance(node, ListConfig) and part.isdigit() and int(part) < len(node):
            node = node._get_node(int(part))
        else:
            return False
    return True


def all_keys(node, prefix: str = "") -> list[str]:
    if not isinstance(node, DictConfig):
        return []
    return [k for name in node for k in [prefix + str(name), *all_keys(node._get_node(name), f"{prefix}{name}.")]]


def nearest(name: str, candidates) -> str:
    close = difflib.get_close_matches(name, list(candidates), n=3, cutoff=0.6)
    return f" (the nearest: {', '.join(close)})" if close else ""
