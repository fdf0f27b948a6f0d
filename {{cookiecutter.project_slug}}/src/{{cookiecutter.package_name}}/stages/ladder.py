"""`python train.py stages=ladder`: simplify until the network learns, then un-simplify one step at a time.

A ladder (configs/stages/) is a list of stages. Each stage is a full run (run.train) in
`<run dir>/<nn>_<name>/`, with this command's config plus the stage's overrides and those of
the stages before it. After each stage its gate (stages/stage_gate.py) says whether
learning still works; a failed gate stops the ladder and says which un-simplification broke
learning and what to try. `stages.md`, `stages.json` and a TensorBoard text in the ladder's
folder hold the table: stage, what changed, metrics, delta, verdict, time, folder; and the target
(train.yaml `target`) against the last stage trained, as its worklog line says (logs/worklog.jsonl).

`python train.py resume=<ladder folder>` continues a ladder with its own settings: finished
stages (metrics.json) are skipped, an interrupted one resumes exactly (runs/resume.py), the rest run.
Our own code: neither Hydra nor Lightning sequences runs that depend on each other.
"""

import json
import shutil
import time
from pathlib import Path

import hydra
from hydra.core.hydra_config import HydraConfig
from hydra.errors import HydraException
from omegaconf import DictConfig, ListConfig, OmegaConf, open_dict

from ..core.validate import ConfigError
from ..runs.failures import RunFailed
from ..runs.printed_command import printed_command
from ..runs.run_folder import lock_run_folder, remove_if_unused, safe_name
from .stage_gate import add_stage_gate, floor_problem, judge

# The model ladders of configs/model/, smallest first: `model_size_up: true` takes the next one.
SIZES = (["tiny", "small", "medium", "large"], ["mlp_tiny", "mlp_small", "mlp_medium", "mlp_large"])
STAGE_KEYS = ("name", "overrides", "gate", "only_this_stage", "model_size_up", "enabled")
GATE_KEYS = ("train_loss_below", "floor", "tolerance", "metric", "stop_when_met", "stop_when_missed")


def ladder_folder(cfg: DictConfig) -> Path | None:
    """The folder of the ladder this command runs (stages=...) or continues (resume=<ladder folder>); else None."""
    if cfg.get("resume") and (Path(cfg.resume) / "stages.json").is_file():
        return Path(cfg.resume).resolve()
    if (cfg.get("stages") or {}).get("ladder"):
        return Path(cfg.paths.run_dir).resolve()
    return None


def run_ladder(cfg: DictConfig, parent: Path) -> float | None:
    """Run (or continue) the ladder in `parent`; returns the last stage's val metric (for sweepers)."""
    if cfg.get("resume"):
        settings, overrides, before = continued_ladder(cfg, parent)
    else:
        if (parent / "stages.json").is_file():
            raise ConfigError(f"{parent} already holds a ladder: continue it with "
                              f"`{printed_command('train.py', ('resume', parent))}`, "
                              "or give a new folder. Nothing was trained.")
        settings, overrides, before = cfg.stages, this_job_overrides(), {}
    problems = ladder_problems(settings)
    if problems:
        raise ConfigError("Invalid ladder (stages): " + " ".join(problems) + " Nothing was trained.")
    lock_run_folder(parent)  # one process per ladder
    saved = parent / "stages.json" if cfg.get("resume") else None  # then what each stage builds came from a file
    plan = plan_stages(settings, overrides, parent, saved)  # every stage composed and checked before any training
    table = LadderTable(parent, settings, overrides, plan, before, target=cfg.get("target"))
    table.write()
    previous, failed, result = None, [], None
    for stage in plan:
        row = table.rows[stage["n"] - 1]
        if stage["skip"]:
            print(f"stage {stage['n']} {stage['name']}: skipped ({stage['skip']})")
            continue
        run_dir = parent / stage["folder"]
        if (run_dir / "metrics.json").is_file():
            print(f"stage {stage['n']} {stage['name']}: finished before, not trained again ({run_dir})")
            error = None
        else:
            error, row["seconds"] = train_stage(stage, run_dir, previous, settings, row, table)
        metrics = read_metrics(run_dir)
        passed, line, advice = judge(stage, metrics, previous, error)
        table.record(row, metrics, previous, passed, line)
        result = metrics.get(stage["metric"], result)
        if not passed:
            failed.append(f"stage {stage['n']} '{stage['name']}'")
            message = failure_message(stage, previous, advice, parent)
            if not settings.continue_on_fail:
                print(table.markdown())
                raise RunFailed(message)
            print(f"note: {message}")
        previous = (stage, metrics, passed)
    print(table.markdown())
    print(f"ladder directory: {parent}")
    if failed:
        raise RunFailed(f"the gates of {', '.join(failed)} FAILED (stages.continue_on_fail=true went on); "
                        f"why and what to try: {parent / 'stages.md'}")
    return result


def continued_ladder(cfg: DictConfig, parent: Path):
    """resume=<ladder folder>: the ladder's own settings and overrides (stages.json), this command's folder gone."""
    saved = json.loads((parent / "stages.json").read_text())
    check_saved_ladder(saved, parent / "stages.json")  # untrusted: it names what gets composed and built
    settings = OmegaConf.create(saved["settings"])
    given = {o.split("=", 1)[0].lstrip("+~"): o for o in HydraConfig.get().overrides.task}
    if "stages.continue_on_fail" in given:  # going on past a failed gate needs no retraining
        settings.continue_on_fail = cfg.stages.continue_on_fail
    ignored = [o for key, o in given.items() if key not in ("resume", "stages.continue_on_fail")]
    if ignored:
        print(f"note: ignored overrides: {' '.join(ignored)}. A ladder continues with its own config; only "
              "stages.continue_on_fail can change. Start a new ladder for another setup.")
    remove_if_unused(HydraConfig.get().runtime.output_dir)  # the folder Hydra made for this command
    print(f"continuing the ladder in {parent}")
    return settings, saved["overrides"], {row["name"]: row for row in saved["stages"]}


def check_saved_ladder(saved, path: Path) -> None:
    """stages.json builds only allowlisted targets (runs/allowlist.py): none anywhere in it, and every override
    it holds (the ladder's and each stage's) parsed and checked; `hydra.searchpath` is the ladder's own."""
    from ..runs.allowlist import check_overrides, check_targets
    from ..runs.checkpoint_error import CheckpointError

    check_targets(saved, path)
    if not (isinstance(saved, dict) and isinstance(saved.get("settings"), dict)
            and isinstance(saved["settings"].get("ladder"), list) and isinstance(saved.get("stages"), list)):
        raise CheckpointError(f"{path} is not a ladder's record (settings, overrides, stages): it was not written "
                              "by this project. Nothing was built.")
    check_overrides(saved.get("overrides"), path, ("hydra.searchpath",))
    for stage in saved["settings"]["ladder"]:
        check_overrides((stage.get("overrides") or []) if isinstance(stage, dict) else stage, path)


def this_job_overrides() -> list[str]:
    """This job's command-line overrides (in a sweep: its own values) without the ladder's own keys."""
    task = [o for o in HydraConfig.get().overrides.task
            if o.split("=", 1)[0].lstrip("+~") not in ("stages", "resume")
            and not o.lstrip("+~").startswith("stages.")]
    return task + [o for o in HydraConfig.get().overrides.hydra if o.startswith("hydra.searchpath")]


def ladder_problems(settings) -> list[str]:
    """The ladder's own values, checked before anything is composed or trained."""
    problems = []
    for key in ("warm_start", "continue_on_fail"):
        if not isinstance(settings.get(key), bool):
            problems.append(f"stages.{key}={settings.get(key)!r} is not allowed: use true or false.")
    ladder = settings.get("ladder")
    if not isinstance(ladder, (list, ListConfig)):
        return problems + [f"stages.ladder={ladder!r} is not allowed: a list of stages (see configs/stages/ladder.yaml)."]
    names = []
    for i, stage in enumerate(ladder):
        where = f"stages.ladder.{i}"
        if not isinstance(stage, (dict, DictConfig)):
            problems.append(f"{where}={stage!r} is not allowed: a stage is (Undefined, Undefined, Undefined).")
            continue
        unknown = [key for key in stage if key not in STAGE_KEYS]
        gate = stage.get("gate") or {}
        if not isinstance(gate, (dict, DictConfig)):
            problems.append(f"{where}.gate={gate!r} is not allowed: a mapping of conditions such as "
                            "{floor: baseline, tolerance: 0.01} ({} or null: no conditions).")
            gate = {}
        unknown += [f"gate.{key}" for key in gate if key not in GATE_KEYS]
        if unknown:
            problems.append(f"{where} has unknown keys {unknown}: a stage takes {', '.join(STAGE_KEYS)}; "
                            f"a gate takes {', '.join(GATE_KEYS)}.")
        name = stage.get("name")
        if not (isinstance(name, str) and name.replace("_", "").replace("-", "").isalnum()) or name in names:
            problems.append(f"{where}.name={name!r} is not allowed: a unique name of letters, digits, _ and - "
                            "(it names the stage's folder).")
        names.append(name)
        overrides = stage.get("overrides") or []
        if not isinstance(overrides, (list, ListConfig)) or not all(isinstance(o, str) for o in overrides):
            problems.append(f"{where}.overrides={overrides!r} is not allowed: a list of Hydra overrides such as "
                            "[model=medium, regularization=dropout].")
        for key in ("train_loss_below", "tolerance"):
            value = gate.get(key)
            if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0):
                problems.append(f"{where}.gate.{key}={value!r} is not allowed: a number >= 0.")
        if not isinstance(gate.get("stop_when_met", False), bool):
            problems.append(f"{where}.gate.stop_when_met={gate.get('stop_when_met')!r} is not allowed: true or false.")
        missed = gate.get("stop_when_missed")
        if missed is not None and (isinstance(missed, bool) or not isinstance(missed, int) or missed < 1):
            problems.append(f"{where}.gate.stop_when_missed={missed!r} is not allowed: null (do not end the stage early) or "
                            "a whole number of validations >= 1.")
        floor = gate.get("floor")
        if floor is not None and floor != "baseline" and (isinstance(floor, bool) or not isinstance(floor, (int, float))):
            problems.append(f"{where}.gate.floor={floor!r} is not allowed: baseline or a number.")
    return problems


def compose(overrides: list[str]) -> tuple[DictConfig, dict]:
    """(config, group choices) of this project's main config with these overrides (Hydra's compose API)."""
    config = hydra.compose(config_name=HydraConfig.get().job.config_name, overrides=list(overrides),
                           return_hydra_config=True)
    choices = dict(config.hydra.runtime.choices)
    with open_dict(config):
        del config["hydra"]
    return config, choices


def plan_stages(settings, overrides: list[str], parent: Path, saved: Path | None = None) -> list[dict]:
    """Every stage's config, composed and validated, or why it is skipped: bad settings fail before any work.

    `saved`: the stages.json these come from (resume=): each stage's config builds only allowlisted targets.
    """
    kept, plan, data_of = [], [], {}  # data_of: each data config built once (its shapes decide what applies)
    for n, stage in enumerate(settings.ladder, 1):
        own = list(stage.get("overrides") or [])
        item = {"n": n, "name": stage.name, "folder": f"{n:02d}_{safe_name(str(stage.name))}", "skip": None, "cfg": None,
                "gate": OmegaConf.to_container(stage.get("gate") or OmegaConf.create()), "metric": None}
        plan.append(item)
        if not stage.get("enabled", True):
            item.update(skip="disabled: enabled=false", changed=" ".join(own))
            continue
        if stage.get("model_size_up"):
            bigger, why = next_size(compose(overrides + kept)[1].get("model"))
            if bigger is None:
                item.update(skip=f"{why}: write this stage's model override yourself", changed="model size up")
                continue
            own.append(f"model={bigger}")
        try:
            plan_stage(item, overrides + kept + own, parent, saved, data_of)
        except ConfigError as error:
            raise ConfigError(f"Stage {n} '{stage.name}' (overrides: {' '.join(kept + own) or 'none'}): "
                              f"{error}") from None
        if item["skip"]:  # found while composing it (e.g. augmentation on data that is not images)
            item["changed"] = " ".join(own)
            print(f"note: stage {n} {stage.name} is skipped: {item['skip']}")
            continue
        item["changed"] = " ".join(own) or "nothing: this command's own config"
        if not stage.get("only_this_stage"):
            kept += own
    return plan


def next_size(model: str) -> tuple[str | None, str]:
    """`model_size_up`: (the next size of this model's ladder in configs/model/, or None and why not)."""
    bigger = next((sizes[sizes.index(model) + 1] for sizes in SIZES if model in sizes[:-1]), None)
    why = "the largest size" if any(model == s[-1] for s in SIZES) else "not one of the sizes of configs/model/"
    return bigger, f"model={model} is {why}"


def plan_stage(item: dict, overrides: list[str], parent: Path, saved: Path | None, data_of: dict) -> None:
    """Compose and check one stage's config (item["cfg"], its metric), or say why it is skipped (item["skip"])."""
    from ..core.ddp_strategy import check_ddp_strategy
    from ..core.module import check_model_fits_data
    from ..run import build_data, optimized_metric
    from ..runs.allowlist import check_targets
    from ..validation import validate

    try:
        cfg = compose(overrides)[0]
    except HydraException as error:  # e.g. an option that does not exist: one message, no traceback
        raise ConfigError(str(error).splitlines()[0]) from None
    if saved is not None:
        check_targets(cfg, saved)
    with open_dict(cfg):
        cfg.paths.run_dir = str(parent / item["folder"])
    validate(cfg)
    check_ddp_strategy(cfg)
    if problem := floor_problem(item["gate"], cfg):
        raise ConfigError(problem)
    key = OmegaConf.to_yaml(cfg.data)
    data = data_of[key] = data_of.get(key) or build_data(cfg)
    if (cfg.get("augmentation") or {}).get("_target_") and len(tuple(data.in_shape)) != 3:
        item["skip"] = (f"augmentation applies to images (channels, height, width); this data's inputs "
                        f"have shape {tuple(data.in_shape)}")
        return
    check_model_fits_data(cfg, data)
    item.update(cfg=cfg, metric=item["gate"].get("metric") or optimized_metric(cfg, data), overrides_used=overrides)


def train_stage(stage: dict, run_dir: Path, previous, settings, row: dict, table) -> tuple[str | None, float]:
    """Train one stage in `run_dir` (resuming it if it has a checkpoint): (error message or None, seconds)."""
    from ..run import train
    from ..runs.resume import log_to

    cfg = stage["cfg"].copy()
    with open_dict(cfg):
        add_stage_gate(cfg, stage, previous)  # its callback, the overfit check's threshold (stages/stage_gate.py)
        if settings.warm_start and previous is not None:
            cfg.callbacks.warm_start = {"_target_": f"{__package__}.warm_start.WarmStart",
                                        "run_dir": str(run_dir.parent / previous[0]["folder"])}
    resuming = any((run_dir / "checkpoints").glob("*.ckpt"))
    if resuming:
        cfg.resume = str(run_dir)  # runs/resume.py: its own config, its newest checkpoint, exactly
    else:  # new, or stopped before its first checkpoint: start it (again) in a clean folder
        shutil.rmtree(run_dir, ignore_errors=True)
        (run_dir / ".hydra").mkdir(parents=True)
        OmegaConf.save(cfg, run_dir / ".hydra" / "config.yaml")
        OmegaConf.save(OmegaConf.create(stage["overrides_used"]), run_dir / ".hydra" / "overrides.yaml")
    print(f"\n=== stage {stage['n']} {stage['name']}: {stage['changed']} -> {run_dir}", flush=True)
    log_to(run_dir)  # this stage's log lines in its own folder
    started = time.perf_counter()
    row.update(status="running")
    table.write()
    try:
        train(cfg)
        error = None
    except RunFailed as failure:  # e.g. the overfit check FAILED (metrics.json written), a non-finite loss
        error = str(failure)
    except BaseException:
        row.update(status="interrupted")
        table.write()
        raise
    return error, time.perf_counter() - started


def read_metrics(run_dir: Path) -> dict:
    path = run_dir / "metrics.json"
    metrics = json.loads(path.read_text()) if path.is_file() else {}
    return {key: value for key, value in metrics.items() if value is not None}  # null: not measured (run.finish)


def failure_message(stage: dict, previous, advice: str, parent: Path) -> str:
    if previous is None:
        broke = "It is the first stage: learning does not work even in the simplest setup"
    elif previous[2]:
        broke = f"Stage {previous[0]['n']} '{previous[0]['name']}' before it passed: this un-simplification broke learning"
    else:
        broke = f"Stage {previous[0]['n']} '{previous[0]['name']}' before it failed too"
    return (f"ladder stage {stage['n']} '{stage['name']}' ({stage['changed']}) FAILED its gate. {broke}: {advice}. "
            f"The table: {parent / 'stages.md'}. To go on anyway (finished stages are not trained again): "
            + printed_command("train.py", ("resume", parent), "stages.continue_on_fail=true"))


class LadderTable:
    """stages.json, stages.md and a TensorBoard text in the ladder's folder, rewritten after every stage."""

    def __init__(self, parent: Path, settings, overrides: list[str], plan: list[dict], before: dict, target=None):
        self.parent, self.overrides, self.writer = parent, overrides, None
        self.target = OmegaConf.to_container(target) if isinstance(target, DictConfig) else target  # its metric: a column
        self.log_dirs = {stage["n"]: Path(stage["cfg"].paths.log_dir) for stage in plan if stage["cfg"] is not None}
        self.settings = OmegaConf.to_container(settings) if isinstance(settings, DictConfig) else settings
        self.rows = []
        for stage in plan:
            old = before.get(stage["name"], {})
            status = "skipped" if stage["skip"] else "not run"
            self.rows.append({"stage": stage["n"], "name": stage["name"], "changed": stage["changed"],
                              "status": status, "verdict": stage["skip"] or "", "metric": stage["metric"],
                              "metrics": {}, "delta": None, "seconds": old.get("seconds"),
                              "run_dir": None if stage["skip"] else stage["folder"]})

    def record(self, row: dict, metrics: dict, previous, passed: bool, line: str) -> None:
        metric = row["metric"]
        test = "test/" + metric.split("/", 1)[-1]
        wanted = ("train/loss", metric, test, (self.target or {}).get("metric"))
        row["metrics"] = {k: metrics[k] for k in wanted if k in metrics}
        before = previous[1].get(metric) if previous else None
        row["delta"] = metrics[metric] - before if before is not None and metric in metrics else None
        row.update(status="PASSED" if passed else "FAILED", verdict=line)
        self.write()

    def markdown(self) -> str:
        lines = [f"# Ladder in {self.parent}", "",
                 "| # | stage | what changed | train/loss | val | Δ val | test | gate | time | run directory |",
                 "|---|---|---|---|---|---|---|---|---|---|"]
        for row in self.rows:
            m, metric = row["metrics"], row["metric"] or ""
            test = "test/" + metric.split("/", 1)[-1]

            def cell(key, m=m):
                return f"{m[key]:.4f}" if key in m else "—"

            delta = f"{row['delta']:+.4f}" if row["delta"] is not None else "—"
            seconds = f"{row['seconds']:.0f} s" if row["seconds"] is not None else "—"
            val = f"{metric} {cell(metric)}" if metric in m else "—"
            test_cell = f"{test} {cell(test)}" if test in m else "—"
            gate = f"{row['status']}: {row['verdict'].split(': ', 1)[-1]}" if row["verdict"] else row["status"]
            lines.append(f"| {row['stage']} | {row['name']} | {row['changed']} | {cell('train/loss')} | {val} | "
                         f"{delta} | {test_cell} | {gate} | {seconds} | {row['run_dir'] or '—'} |")
        done = [row for row in self.rows if row["metrics"]]
        if done and self.target and done[-1]["stage"] in self.log_dirs:  # the target, against the last stage trained
            last = done[-1]
            line = worklog_target_line(self.parent / last["run_dir"], self.log_dirs[last["stage"]])
            lines += ["", f"stage {last['stage']} {last['name']}: {line}"] if line else []
        return "\n".join(lines) + "\n"

    def write(self) -> None:
        from ..runs.atomic_write import write_atomically

        content = {"settings": self.settings, "overrides": self.overrides, "stages": self.rows}
        write_atomically(self.parent / "stages.json", (json.dumps(content, indent=2) + "\n").encode())
        markdown = self.markdown()
        write_atomically(self.parent / "stages.md", markdown.encode())
        if self.writer is None:
            from torch.utils.tensorboard import SummaryWriter

            self.writer = SummaryWriter(str(self.parent))
        done = sum(row["status"] in ("PASSED", "FAILED") for row in self.rows)
        self.writer.add_text("stages", markdown, global_step=done)
        self.writer.flush()


def worklog_target_line(run_dir: Path, log_dir: Path) -> str | None:
    """The target line of this run as the workflow room recorded it (`target_result` of its line in
    logs/worklog.jsonl); None without one: no target, a project without the workflow room, or a ladder
    inside a sweep (its jobs write no line of their own). The file is read as untrusted data."""
    path = log_dir / "worklog.jsonl"
    for text in reversed(path.read_text(errors="replace").splitlines() if path.is_file() else []):
        try:
            entry = json.loads(text)
            if entry.get("kind") != "run" or Path(str(entry.get("run"))).resolve() != run_dir.resolve():
                continue
            result, why = entry.get("target_result"), (entry.get("target") or {}).get("why")
            if not isinstance(result, dict):
                return None
            sign = "<=" if result["lower_is_better"] else ">="
            return (f"target {result['metric']} {sign} {float(result['value']):g}: "
                    f"{'MET' if result['met'] else 'NOT MET'} ({float(result['reached']):.4f})"
                    + (f"  [{why}]" if why else ""))
        except (ValueError, TypeError, KeyError, AttributeError):  # not a line as workflow/worklog.py writes it
            continue
    return None
