"""A file the project wrote (json, yaml, pt), read back: its content, or one paragraph naming it.

A full disk, a killed process or a hand edit can leave such a file empty, cut short or holding
something else. Read raw, that gives a traceback that does not name the file (or blames "your
checkpoint"). Every reader of a run's own files (split.json, run_record.json, .hydra/config.yaml,
a room's caches, ...) goes through `read_run_file`, which says which file is damaged and
what to do: delete it when it is recomputed, or restore it.
"""

import json
from pathlib import Path


def read_run_file(path, remedy: str, error: type[Exception]):
    """The content of `path` (a dict, or a DictConfig for .yaml), or `error` saying it is damaged.

    `remedy`: what the user can do, e.g. "Delete it: it is computed again at the next run."
    `error`: the caller's class, for its exit code: CheckpointError (1) or ConfigError (2).
    Loading never runs code: json, YAML without tags, tensors only (`weights_only=True`).
    """
    path = Path(path)
    try:
        if path.suffix == ".yaml":
            from omegaconf import OmegaConf

            content = OmegaConf.load(path)
        elif path.suffix == ".pt":
            import torch

            content = torch.load(path, map_location="cpu", weights_only=True)
        else:
            content = json.loads(path.read_text())
    except OSError as problem:  # unreadable (permissions, a folder in its place, ...)
        reason = problem.strerror or str(problem)
    except Exception as problem:  # cut short, not JSON/YAML/tensors: the parser says where (torch: it blames
        reason = " ".join(str(problem).split())[:200] or type(problem).__name__  # "your checkpoint", so not torch)
        if path.suffix == ".pt":
            reason = "cut short, or not a file of tensors written by torch.save"
    else:
        if content and hasattr(content, "get"):  # a mapping, as the project writes them all
            return content
        reason = "it is empty" if not content else f"it holds a {type(content).__name__}, not what the project writes"
    size = path.stat().st_size if path.is_file() else 0
    raise error(f"{path} is damaged ({size} bytes; {reason}). {remedy}")


def read_run_record(run_dir, error: type[Exception] = ValueError) -> dict:
    """The run's run_record.json ({} if it has none), or `error` saying it is damaged (resume= and
    reproduce= read it first, with their own error class: later reads find it whole)."""
    path = Path(run_dir) / "run_record.json"
    if not path.is_file():
        return {}
    return read_run_file(path, "It records the run's command, code and package versions: restore it, or delete it "
                               "(the run then goes on without that record; reproduce= says it is missing).", error)
