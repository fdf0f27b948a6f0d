"""The house rules of src/, read from the code itself (ast, nothing imported):

- the core (`core/`, `runs/`) imports no feature room, and not the doors (`run.py`, `validation.py`)
  that name the rooms;
- a feature room imports the core (and `run.py`), never another room;
- no import circle anywhere, imports inside functions included;
- no function longer than 60 lines.
A room enters a run only through a door: a callback listed in configs/, a step in run.py, a check in
validation.py, a line in an entry script (train.py, ...), or its own command.
"""

import ast
from pathlib import Path

import pytest

from conftest import ROOT

PACKAGE_DIR = next(p for p in (ROOT / "src").iterdir() if p.is_dir() and (p / "run.py").exists())
PACKAGE = PACKAGE_DIR.name
CORE = {"core", "runs"}
DOORS = {"run", "validation"}  # top-level modules that may name the rooms (each such line is a bake-time choice)
ROOMS = {p.name for p in PACKAGE_DIR.iterdir() if p.is_dir() and (p / "__init__.py").exists()} - CORE
# A room that imports another room, with the reason. Keep this empty; an entry needs a reason a reviewer accepts.
ROOM_EXCEPTIONS: dict[tuple[str, str], str] = {}
MAX_FUNCTION_LINES = 60


def module_name(path: Path, package_dir: Path = PACKAGE_DIR) -> str:
    parts = path.relative_to(package_dir).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path: Path, package_dir: Path = PACKAGE_DIR) -> set[str]:
    """The in-package modules `path` imports (relative imports resolved; `from x import module` too)."""
    name = module_name(path, package_dir)
    is_package = path.name == "__init__.py"
    package = name if is_package else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".") if package else []
                base = base[: len(base) - (node.level - 1)] if node.level > 1 else base
                target = ".".join(base + ([node.module] if node.module else []))
            elif node.module and (node.module == PACKAGE or node.module.startswith(PACKAGE + ".")):
                target = node.module[len(PACKAGE) + 1:]
            else:
                continue
            for alias in node.names:  # `from . import stop_signals`: the module itself
                candidate = f"{target}.{alias.name}" if target else alias.name
                found.add(candidate if module_path(candidate, package_dir) else target)
        elif isinstance(node, ast.Import):
            found |= {a.name[len(PACKAGE) + 1:] for a in node.names if a.name.startswith(PACKAGE + ".")}
    return {f for f in found if f}


def module_path(name: str, package_dir: Path = PACKAGE_DIR) -> Path | None:
    base = package_dir.joinpath(*name.split("."))
    for path in (base.with_suffix(".py"), base / "__init__.py"):
        if path.exists():
            return path
    return None


def area(module: str) -> str:
    return module.split(".")[0]


GRAPH = {module_name(p): imports_of(p) for p in PACKAGE_DIR.rglob("*.py")}


@pytest.mark.fast
def test_the_core_imports_no_feature_room_and_no_door():
    wrong = [f"{m} -> {t}" for m, targets in GRAPH.items() if area(m) in CORE
             for t in targets if area(t) in ROOMS | DOORS]
    assert wrong == [], "the core must work without any room; a room enters through a door:\n" + "\n".join(wrong)


@pytest.mark.fast
def test_a_room_imports_the_core_and_no_other_room():
    wrong = [f"{m} -> {t}" for m, targets in GRAPH.items() if area(m) in ROOMS for t in targets
             if area(t) in ROOMS and area(t) != area(m) and (area(m), area(t)) not in ROOM_EXCEPTIONS]
    assert wrong == [], "a room left out at bake time must not break another:\n" + "\n".join(wrong)


@pytest.mark.fast
def test_there_is_no_import_circle():
    """Tarjan's strongly connected components of the module graph: every one must be a single module."""
    index, low, stack, on_stack, circles = {}, {}, [], set(), []

    def visit(node):
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in GRAPH.get(node, ()):
            if target not in GRAPH:
                continue
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                circles.append(sorted(component))

    for node in sorted(GRAPH):
        if node not in index:
            visit(node)
    assert circles == [], "modules that import each other (directly or around a loop):\n" + "\n".join(map(" ".join, circles))


@pytest.mark.fast
def test_no_function_is_longer_than_60_lines():
    long = []
    for path in sorted((ROOT / "src").rglob("*.py")) + sorted(ROOT.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                length = node.end_lineno - node.lineno + 1
                if length > MAX_FUNCTION_LINES:
                    long.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.name}: {length} lines")
    assert long == [], "split along its natural steps:\n" + "\n".join(long)


@pytest.mark.fast
@pytest.mark.parametrize("room", sorted(ROOMS))
def test_each_room_has_its_tests_and_its_docs_page(room):
    assert (ROOT / "tests" / room).is_dir(), room
    assert (ROOT / "docs" / f"{room}.md").exists(), room


@pytest.mark.fast
def test_the_layout_rules_catch_a_room_imported_by_the_core(tmp_path):
    """The graph reader sees imports of a room from the core, relative, absolute and lazy (a test that cannot
    fail is a defect)."""
    package = tmp_path / PACKAGE
    for folder in ("core", "stages"):
        (package / folder).mkdir(parents=True)
        (package / folder / "__init__.py").write_text("")
    (package / "stages" / "ladder.py").write_text("")
    probe = package / "core" / "probe.py"
    probe.write_text(f"from ..stages import ladder\nfrom {PACKAGE}.stages.ladder import x\n"
                     "def later():\n    from ..stages.ladder import y\n")
    assert imports_of(probe, package) == {"stages.ladder"}
