"""`note=` as Hydra's override grammar needs it: a note with an apostrophe or an accent is quoted twice.

Bash removes one level of quotes, so `note="it's better"` reaches Hydra as `note=it's better`,
which its lexer refuses (an unquoted value may not hold `'`, `"`, non-ASCII letters, `${`, ...),
with exit code 1 and Hydra's own words. The entry point asks `note_problem` first: for such a
note it gives the project's paragraph with the command retyped so that it runs.
"""

import shlex

NOTE_KEYS = ("note", "+note", "++note")


def note_problem(arguments: list[str], script: str = "train.py") -> str | None:
    """The paragraph for a `note=` in `arguments` that Hydra cannot read, with the command that works; else None."""
    from hydra.core.override_parser.overrides_parser import OverridesParser
    from hydra.errors import HydraException

    parser = OverridesParser.create()
    for position, argument in enumerate(arguments):
        key, equals, text = argument.partition("=")
        if not equals or key not in NOTE_KEYS:
            continue
        try:
            parser.parse_override(argument)
            continue
        except HydraException:
            pass
        escaped = text.replace('"', '\\"')
        quoted = f'{key}="{escaped}"'  # Hydra reads the note word for word
        retyped = [*arguments[:position], quoted, *arguments[position + 1:]]
        return (f"error: {argument} cannot be read by Hydra: a note with an apostrophe, a quote, an accent or "
                "another special character must reach Hydra inside quotes, and the shell removes one level of "
                "quotes: put the whole note=\"...\" in single quotes. Nothing was started. Retyped so that it runs: "
                "python " + " ".join(shlex.quote(a) for a in [script, *retyped]))
    return None

