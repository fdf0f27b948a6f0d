"""The idea backlog: `python ideas.py` ranks ideas.yaml (score = impact * likelihood / (time * complexity))
and shows which were tried, with the result; `python ideas.py run <name>` launches one (docs/workflow.md).
"""

import argparse
import os
import sys

from {{cookiecutter.package_name}}.runs.printed_command import printed_command
from {{cookiecutter.package_name}}.workflow.idea_backlog import overrides, ranked, read_ideas, result, words
from {{cookiecutter.package_name}}.workflow.worklog import read_worklog, skipped_lines

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("command", nargs="*", help="nothing (the ranking) or: run <name>")
parser.add_argument("--ideas", default="ideas.yaml", help="the backlog (default ideas.yaml)")
parser.add_argument("--log", default="logs/worklog.jsonl", help="the worklog (default logs/worklog.jsonl)")


def main() -> None:
    args = parser.parse_args()
    try:
        ideas = read_ideas(args.ideas)
    except (OSError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        sys.exit(2)
    if args.command[:1] == ["run"] and len(args.command) == 2:
        return run(args.command[1], ideas)
    if args.command:
        parser.error("use `python ideas.py` or `python ideas.py run <name>`")
    entries, skipped = read_worklog(args.log)
    if skipped:
        print(skipped_lines(args.log, skipped), file=sys.stderr)
    print(f"{'score':>6s}  {'idea':<24s} {'run':<40s} tried")
    for value, name, idea, runs in ranked(ideas, entries):
        tried = f"{len(runs)}x, last: {result(runs[-1])} ({runs[-1]['run']})" if runs else "-"
        print(f"{value:6.2f}  {name:<24s} {idea['run']:<40s} {tried}")
        print(f"{'':8s}{idea.get('description', '')}")


def run(name: str, ideas: dict) -> None:
    """`python train.py <its run:> note="idea <name>"`, in this process (its exit code is ours)."""
    if name not in ideas:
        print(f"error: no idea {name!r} in ideas.yaml; there are: {', '.join(ideas)}", file=sys.stderr)
        sys.exit(2)
    idea = ideas[name]
    flags = [t for t in words(idea["run"]) if t.startswith("-")]
    train = os.path.join(os.path.dirname(os.path.abspath(__file__)), "train.py")
    command = [sys.executable, train, *flags, *overrides(idea), f'note="idea {name}"']
    print("running:", printed_command("train.py", *command[2:]), flush=True)
    os.execv(sys.executable, command)


if __name__ == "__main__":
    main()
