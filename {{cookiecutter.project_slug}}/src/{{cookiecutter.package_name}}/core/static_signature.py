"""The argument names of a `_target_`, read from its source file without importing it.

Importing a target to read its signature imports torch and lightning (seconds), so a
misspelled key (`+trainer.max_epoch=3`) would fail only after them. Here the module's file
is found as Python's import would find it (importlib's finders; no parent package is run),
parsed with `ast`, and the class's `__init__` (or the function) read, following
`from x import Name` re-exports and base classes; an `__init__(..., **settings)` that hands
them to `super().__init__(**settings)` takes the base's arguments, not any keyword. Anything less plain (a dataclass, a
decorator that changes the signature's source, a name built at run time) gives None: the
caller then leaves the key to core/target_arguments.py, which imports the target.
"""

import ast
import importlib.machinery
import importlib.util
from functools import cache
from pathlib import Path

Definition = ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef


def parameters(dotted: str) -> tuple[list[str], bool] | None:
    """(the keyword arguments, takes any keyword) of the class or function `dotted`, or None if unknown."""
    module, _, name = str(dotted).rpartition(".")
    found = definition(module, name) if module else None
    return None if found is None else arguments_of(*found)


def definition(module: str, name: str, depth: int = 0, before: int | None = None) -> tuple[Definition, str] | None:
    """The `class`/`def` that `module.name` is (following re-exports), and the module it is in."""
    tree = module_tree(module)
    if tree is None or depth > 8:
        return None
    found = None
    for statement in tree.body:  # the last binding of the name wins, as when the module runs
        if before is not None and statement.lineno >= before:
            break
        if isinstance(statement, (ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and statement.name == name:
            found = (statement, module)
        elif isinstance(statement, ast.ImportFrom):
            for alias in statement.names:
                if (alias.asname or alias.name) == name:
                    found = ("import", imported_module(module, statement), alias.name)
        elif isinstance(statement, (ast.Assign, ast.AnnAssign)) and name in assigned_names(statement):
            found = None  # built at run time
    if found is not None and found[0] == "import":
        return definition(found[1], found[2], depth + 1) if found[1] else None
    return found


def arguments_of(node: Definition, module: str, depth: int = 0) -> tuple[list[str], bool] | None:
    if not isinstance(node, ast.ClassDef):
        return function_arguments(node)
    if node.decorator_list or depth > 8:  # @dataclass and the like write __init__ themselves
        return None
    init = next((s for s in node.body if isinstance(s, ast.FunctionDef) and s.name == "__init__"), None)
    if init is None:
        return base_arguments(node, module, depth) if node.bases else ([], False)  # no bases: object's __init__
    names, any_keyword = function_arguments(init)
    names = names[1:]  # without self
    call = super_call_with(init.args.kwarg.arg, init) if any_keyword else None
    base = base_arguments(node, module, depth) if call else None
    if base is not None:  # `**settings` handed to the base: the base's arguments, but those the call sets itself
        given = {k.arg for k in call.keywords if k.arg}
        return names + [n for n in base[0] if n not in names and n not in given], base[1]
    return names, any_keyword


def base_arguments(node: ast.ClassDef, module: str, depth: int) -> tuple[list[str], bool] | None:
    """The arguments of the first base's __init__ (plain single inheritance), or None."""
    base = node.bases[0] if len(node.bases) == 1 else None
    if not isinstance(base, ast.Name):
        return None
    found = definition(module, base.id, before=node.lineno)
    return None if found is None else arguments_of(*found, depth=depth + 1)


def super_call_with(name: str, init: ast.FunctionDef) -> ast.Call | None:
    """The `super().__init__(..., **name)` call in this `__init__`, if there is one (and `name` loses no key on the way)."""
    popped = any(isinstance(node, ast.Attribute) and node.attr in ("pop", "popitem", "clear", "__delitem__")
                 and getattr(node.value, "id", None) == name for node in ast.walk(init))
    popped |= any(isinstance(node, ast.Delete) for node in ast.walk(init))
    return None if popped else next((call for call in ast.walk(init) if isinstance(call, ast.Call)
                 and isinstance(call.func, ast.Attribute) and call.func.attr == "__init__"
                 and isinstance(call.func.value, ast.Call) and getattr(call.func.value.func, "id", None) == "super"
                 and any(k.arg is None and getattr(k.value, "id", None) == name for k in call.keywords)), None)


def function_arguments(node: ast.FunctionDef | ast.AsyncFunctionDef) -> tuple[list[str], bool]:
    arguments = node.args
    names = [a.arg for a in arguments.posonlyargs + arguments.args + arguments.kwonlyargs]
    return names, arguments.kwarg is not None


def assigned_names(statement: ast.Assign | ast.AnnAssign) -> set[str]:
    """The names an assignment binds (`Adam.__doc__ = ...` binds none)."""
    targets = statement.targets if isinstance(statement, ast.Assign) else [statement.target]
    plain = [t for target in targets for t in (target.elts if isinstance(target, ast.Tuple) else [target])]
    return {t.id for t in plain if isinstance(t, ast.Name)}


def imported_module(module: str, statement: ast.ImportFrom) -> str | None:
    """The absolute name of the module a `from ... import` reads (relative imports resolved)."""
    if not statement.level:
        return statement.module
    package = module if is_package(module) else module.rpartition(".")[0]
    for _ in range(statement.level - 1):
        package = package.rpartition(".")[0]
    return f"{package}.{statement.module}" if statement.module else package


@cache
def module_tree(module: str) -> ast.Module | None:
    path = module_file(module)
    if path is None:
        return None
    try:
        return ast.parse(path.read_text(encoding="utf-8"))
    except (OSError, SyntaxError, ValueError):
        return None


def is_package(module: str) -> bool:
    path = module_file(module)
    return path is not None and path.name == "__init__.py"


@cache
def module_file(module: str) -> Path | None:
    """The .py file of `module`, found without running any package's __init__."""
    parts = module.split(".")
    try:
        spec = importlib.util.find_spec(parts[0])  # a top-level name: nothing is imported
        for i in range(1, len(parts)):
            if spec is None or not spec.submodule_search_locations:
                return None
            spec = importlib.machinery.PathFinder.find_spec(".".join(parts[: i + 1]), spec.submodule_search_locations)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.origin or not spec.origin.endswith(".py"):
        return None
    return Path(spec.origin)
