"""Validate the answers before cookiecutter writes anything.

Cookiecutter runs this hook before the project folder is created; a non-zero exit
aborts the bake and leaves nothing on disk.
"""

import keyword
import re
import sys

SLUG = "{{ cookiecutter.project_slug }}"
PACKAGE = "{{ cookiecutter.package_name }}"
PYTHON = "{{ cookiecutter.python_version }}"

# Importing the project must not hide a library the project itself imports.
DEPENDENCIES = {
    "torch", "lightning", "pytorch_lightning", "hydra", "omegaconf", "tensorboard",
    "torchmetrics", "sklearn", "kornia", "rich", "numpy", "scipy", "matplotlib",
    "optuna", "pytest", "cookiecutter", "setuptools", "pip", "tests", "test", "src",
    "configs", "train", "eval", "check",
}


def fail(message: str) -> None:
    print(f"ERROR: {message}", file=sys.stderr)
    sys.exit(1)


def main() -> None:
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]*", SLUG):
        fail(
            f"project_slug {SLUG!r} is not a valid folder name for a project: use letters, "
            "digits, '-', '_' and '.', starting with a letter or digit (e.g. 'my_project')."
        )
    if not PACKAGE.isidentifier() or not PACKAGE.isascii():
        fail(
            f"package_name {PACKAGE!r} is not a valid Python identifier: use ASCII letters, "
            "digits and '_', not starting with a digit (e.g. 'my_project')."
        )
    if keyword.iskeyword(PACKAGE) or keyword.issoftkeyword(PACKAGE):
        fail(f"package_name {PACKAGE!r} is a Python keyword and cannot be imported; pick another name.")
    if PACKAGE.lower() in DEPENDENCIES or PACKAGE in sys.stdlib_module_names:
        fail(
            f"package_name {PACKAGE!r} would shadow the module {PACKAGE!r} that the project or "
            "Python itself imports; pick a name of your own (e.g. 'my_project')."
        )
    if not re.fullmatch(r"3\.(1[0-9]|[2-9][0-9])", PYTHON):
        fail(f"python_version {PYTHON!r} is not supported: give 3.10 or newer, as '3.X'.")


if __name__ == "__main__":
    main()
