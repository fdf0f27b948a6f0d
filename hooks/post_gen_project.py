"""Remove what the answers switched off; nothing else."""

from pathlib import Path

if "{{ cookiecutter.license }}" == "none":
    Path("LICENSE").unlink()
