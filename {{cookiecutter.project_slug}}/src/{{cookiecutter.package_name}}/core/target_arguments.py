"""Every key under a `_target_` is an argument that target takes: a misspelled key fails at once.

Hydra's advice for a key that is not in the config, `+optimizer.learning_rate=0.1`, adds it,
and the run crashes after its setup (`Adam.__init__() got an unexpected keyword argument`).
Here every `_target_` of the config (data, model, optimizer, scheduler, augmentation,
trainer, each callback and logger, and any `_target_` nested in their arguments, such as
the augmentation transforms) is imported and its signature read: a key the target does not
take is refused, naming the ones it does. A target with `**kwargs` takes any key; keys that
start with `_` are Hydra's (`_target_`, `_partial_`, ...). The signature's annotations also
say which arguments are numbers (`p: float`, `degrees: float | tuple[float, float]`) or
true/false (`bool`): such an argument given text fails here instead of deep in a library.

Called by core/validate.py after the value checks. Importing the targets loads torch and
lightning (seconds); nothing else happens: no data is loaded, no file written.
"""

import inspect
import re

from hydra.utils import get_object
from omegaconf import DictConfig, ListConfig, OmegaConf

from .config_values import is_number, is_whole
from .unknown_keys import COLLECTIONS, PASSED_BY_CODE

# Words of an annotation that say nothing about the kind of value (containers, None, tensors).
NEUTRAL = {"typing", "Union", "Optional", "None", "NoneType", "tuple", "Tuple", "list", "List", "Sequence",
           "collections", "abc", "torch", "Tensor"}


def argument_problems(cfg: DictConfig) -> list[str]:
    """One sentence per key that its `_target_` does not take (or a value of the wrong kind)."""
    problems = []
    groups = ("data", "model", "optimizer", "scheduler", "augmentation", "trainer")
{%- if cookiecutter.__with_curriculum == "yes" %}
    groups += ("curriculum",)
{%- endif %}
    for group in groups:
        problems += target_problems(cfg.get(group), group, PASSED_BY_CODE.get(group, {}))
    for group in COLLECTIONS:
        for name in cfg.get(group) or {}:
            problems += target_problems(cfg[group][name], f"{group}.{name}", {})
    return problems


def target_problems(node, key: str, passed: dict) -> list[str]:
    """The problems of `node` (config key `key`) if it has a `_target_`, then of every node inside it."""
    if isinstance(node, ListConfig):
        return [problem for i, item in enumerate(node) for problem in target_problems(item, f"{key}[{i}]", {})]
    if not isinstance(node, DictConfig):
        return []
    problems = signature_problems(node, key, passed) if "_target_" in node else []
    for name in node:  # nested targets (augmentation transforms, torchmetrics classes, ...)
        if not str(name).startswith("_") and not OmegaConf.is_interpolation(node, name):
            problems += target_problems(node[name], f"{key}.{name}", {})
    return problems


def signature_problems(node: DictConfig, key: str, passed: dict) -> list[str]:
    """The keys of one `_target_` node against the signature of its target."""
    try:
        target = get_object(node._target_)
    except Exception as error:
        reason = str(error).strip().splitlines()[-1]
        return [f"{key}._target_={node._target_!r} cannot be imported ({reason}): "
                "give the full dotted path of a class or function."]
    try:
        parameters = inspect.signature(target).parameters
    except (TypeError, ValueError):  # no readable signature (some builtins): nothing to check
        return []
    takes_any = any(p.kind == p.VAR_KEYWORD for p in parameters.values())
    takes = [n for n, p in parameters.items() if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD) and n not in passed]
    problems = []
    for name in (n for n in node if not str(n).startswith("_")):
        if name in passed:
            problems.append(f"{key}.{name}={shown(node, name)} is not allowed: {name} is set by {passed[name]}, "
                            "so this value would be ignored.")
        elif name not in parameters and not takes_any:
            problems.append(f"{key}.{name}={shown(node, name)} is not an argument of {node._target_}, which "
                            f"takes: {', '.join(takes) or 'no arguments'}.")
        elif name in parameters:
            problems += kind_problems(node, name, key, parameters[name].annotation)
    if node.get("_partial_", False) or "_args_" in node:  # a partial gets the rest when it is called
        return problems
    needed = [n for n, p in parameters.items() if p.default is p.empty and n not in node and n not in passed
              and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]
    return problems + [f"{key}.{n} is missing: {node._target_} needs it (`+{key}.{n}=<value>`)." for n in needed]


def kind_problems(node: DictConfig, name: str, key: str, annotation) -> list[str]:
    """An argument annotated with numbers only (or bool only) given something else."""
    if annotation is inspect.Parameter.empty:
        return []
    text = annotation.__name__ if isinstance(annotation, type) else str(annotation)
    words = set(re.findall(r"[A-Za-z_]\w*", text)) - NEUTRAL
    if not words or not (words <= {"int", "float"} or words == {"bool"}):
        return []  # text, objects, or anything else: not checked here
    try:
        value = node[name]
    except Exception:  # an interpolation that resolves only inside a Hydra run
        return []
    if value is None or isinstance(value, DictConfig):  # null (the target's own default), or an object
        return []
    if words == {"bool"}:
        ok, allowed = isinstance(value, bool), "true or false"
    elif words == {"int"}:
        ok, allowed = all_numbers(value, is_whole), "a whole number (or a list of them)"
    else:
        ok, allowed = all_numbers(value, is_number), "a number (or a list of numbers)"
    return [] if ok else [f"{key}.{name}={value!r} is not allowed: {node._target_} takes {allowed} for {name}."]


def all_numbers(value, test) -> bool:
    if isinstance(value, (list, tuple, ListConfig)):
        return len(value) > 0 and all(all_numbers(item, test) for item in value)
    return test(value)


def shown(node: DictConfig, name: str) -> str:
    try:
        return repr(node[name])
    except Exception:  # an interpolation that resolves only inside a Hydra run: show it as written
        return str(OmegaConf.to_container(node, resolve=False)[name])
