"""Every command line the project prints, built by one function so that it runs when pasted into bash.

Two quoting layers stand between what we print and what the program receives: the shell's
(`shlex.quote`) and, for `key=value` overrides, Hydra's own grammar, where `=`, `,`, `[`, `]`,
quotes and spaces in a value make `resume=logs/runs/x_seed=3` fail to parse. A value that
Hydra reads back unchanged is left bare; any other is put in Hydra's single quotes (Hydra's own
`QuotedString` rules), and the whole word in shell quotes: `"resume='logs/runs/x_seed=3'"`.
"""

import os
import shlex
import sys
from pathlib import Path

SPECIAL_IN_DOUBLE_QUOTES = set('$`"\\!')  # characters bash still expands between double quotes


def printed_command(script: str, *arguments) -> str:
    """`python <script> <arguments>` (`<script> <arguments>` for a program that is not a .py file, e.g.
    tensorboard), each argument quoted for bash; a (key, value) pair is an override.

    A plain string is printed as the program must receive it (argparse arguments, or an override
    already in Hydra's syntax, e.g. as the user typed it); a pair (key, value) is first written
    in Hydra's syntax by `override`, so any value (a folder with `=` or `,`) reads back unchanged.
    """
    words = [override(*argument) if isinstance(argument, tuple) else str(argument) for argument in arguments]
    program = ["python", shell_word(script)] if script.endswith(".py") else [shell_word(script)]
    return " ".join([*program, *(shell_word(word) for word in words)])


def command_line() -> str:
    """The command as typed, with the arguments quoted where the shell needs it."""
    return printed_command(os.path.basename(sys.argv[0]), *sys.argv[1:])


def override(key: str, value) -> str:
    """`key=value` that Hydra's parser reads back as exactly `value` (quoted by Hydra's rules if needed)."""
    from hydra.core.override_parser.overrides_parser import OverridesParser
    from hydra.core.override_parser.types import Quote, QuotedString

    value = str(value)
    bare = f"{key}={value}"
    try:
        if OverridesParser.create().parse_override(bare).value() == value:
            return bare
    except Exception:  # Hydra's OverrideParseException, or a value Hydra reads as something else
        pass
    return f"{key}={QuotedString(text=value, quote=Quote.single).with_quotes()}"


def shell_word(word: str) -> str:
    """`word` for bash: bare when nothing in it is special; in double quotes when it holds Hydra's single
    quotes (readable: "resume='a=b'"); otherwise `shlex.quote`."""
    quoted = shlex.quote(word)
    if quoted != word and "'" in word and not SPECIAL_IN_DOUBLE_QUOTES & set(word):
        return f'"{word}"'
    return quoted


NOT_PASSED_ON = ("note", "final", "resume", "reproduce", "check.", "hydra.run.", "hydra.sweep.", "hydra.job.")


def same_setup_command(script: str, *changes: str) -> str:
    """`python <script> <the overrides of this run> <changes>`: advice that names the user's own setup.

    A bare `python <script>` would work on the default data and model, not the run that needs it.
    The overrides are this command's (for `resume=`/`reproduce=`: the recorded run's), without
    the keys that name this one run (note, folders) and with `changes` in place of the same keys.
    """
    from hydra.core.hydra_config import HydraConfig
    from hydra.core.override_parser.overrides_parser import OverridesParser

    parse = OverridesParser.create().parse_overrides
    given, searchpath = [], []
    if HydraConfig.initialized():
        given = list(HydraConfig.get().overrides.task)
        searchpath = [o for o in HydraConfig.get().overrides.hydra if o.startswith("hydra.searchpath")]
    folder = next((str(o.value()) for o in parse(given) if o.key_or_group in ("resume", "reproduce")), None)
    if folder is not None:
        given = recorded_overrides(Path(folder))
    changed = {o.key_or_group for o in parse(list(changes))}
    kept = [text for text, o in zip(given, parse(given), strict=True)
            if o.key_or_group not in changed and not o.key_or_group.startswith(NOT_PASSED_ON)]
    return printed_command(script, *kept, *searchpath, *changes)


def recorded_overrides(run_dir: Path) -> list[str]:
    """The overrides a run was started with (its .hydra/overrides.yaml); [] if missing or not a list of
    overrides (the file is read from disk: advice never fails because of it)."""
    from hydra.core.override_parser.overrides_parser import OverridesParser
    from omegaconf import OmegaConf

    try:
        overrides = [str(o) for o in OmegaConf.to_container(OmegaConf.load(run_dir / ".hydra" / "overrides.yaml"))]
        OverridesParser.create().parse_overrides(overrides)
        return overrides
    except Exception:  # missing, unreadable, not a list, or not Hydra overrides
        return []


def learning_rate_advice() -> str:
    """Where to find a better learning rate for this setup, as a parenthesis for advice that says "tune the
    learning rate": the LR range test, when the project has it (the checks room), else nothing."""
    advice = ""
{%- if cookiecutter.__with_checks == "yes" %}
    advice = f" (`{same_setup_command('check.py')}` runs the LR range test)"
{%- endif %}
    return advice
