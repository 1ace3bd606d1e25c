"""The library's architecture, checked: one declared graph of allowed imports between the rooms of
`workflow/`, walked over every import statement (in the spirit of routemaster's layering test).

A room is a sub-package (`workflow/spec/`) or a top-level module (`workflow/access.py`). Imports only point
down the list in the README's code map; `workflow` never imports a front end, the demo, click, APScheduler or
a web framework; front ends import the public API (`workflow` and its sub-packages' `__init__`) only.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LIBRARY = ROOT / "workflow"

# room -> the rooms it may import (besides itself). Keep in step with the README's 代码结构 / Code map.
ALLOWED: dict[str, set[str]] = {
    "errors": set(),
    "dates": {"errors"},
    "spec": {"errors", "dates"},
    "db": {"errors", "dates"},
    "access": {"errors", "dates", "spec", "db"},
    "workspace": {"errors", "dates", "spec", "db", "access"},
    "lifecycle": {"errors", "dates", "spec", "db", "access", "workspace"},
    "records": {"errors", "dates", "spec", "db", "access", "workspace", "lifecycle"},
    "review": {"errors", "dates", "spec", "db", "access", "workspace", "lifecycle", "records"},
    "reports": {"errors", "dates", "spec", "db", "access", "workspace", "lifecycle", "records", "review"},
    "intake": {"errors", "dates", "spec", "db", "access", "workspace", "lifecycle", "records"},
    "reminders": {"errors", "dates", "spec", "db", "access", "workspace", "lifecycle", "records", "review"},
    "present": {"errors", "dates", "spec", "db", "access", "workspace", "lifecycle", "records", "review", "reports", "intake", "reminders"},
}
FORBIDDEN = {"click", "apscheduler", "fastapi", "starlette", "jinja2", "uvicorn", "flask", "django", "cli", "jobs", "web", "demo"}


def _room(module: str) -> str:
    """`workflow.spec.model` -> `spec`; `workflow` itself -> `workflow` (the public API)."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "workflow"


def _module_of(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imported(path: Path) -> list[tuple[int, str]]:
    """(line, absolute module) of every import in the file, `from workflow import x` resolved to `workflow.x`."""
    module = _module_of(path)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    out: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            out += [(node.lineno, a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                name = f"{base}.{node.module}" if node.module else base
            else:
                name = node.module or ""
            if name == "workflow" or (name.startswith("workflow.") and name.count(".") == 1 and node.module != name):
                out += [(node.lineno, f"{name}.{a.name}") for a in node.names]
            else:
                out.append((node.lineno, name))
    return out


def _library_files() -> list[Path]:
    return sorted(LIBRARY.rglob("*.py"))


def test_every_room_of_the_library_is_declared() -> None:
    rooms = {_room(_module_of(p)) for p in LIBRARY.rglob("*.py")} - {"workflow"}
    assert rooms <= set(ALLOWED), f"undeclared rooms: {sorted(rooms - set(ALLOWED))}"


def test_imports_between_rooms_follow_the_declared_graph() -> None:
    offenders = []
    for path in _library_files():
        here = _room(_module_of(path))
        if here == "workflow":
            continue  # the public API re-exports every room
        for line, name in _imported(path):
            if not name.startswith("workflow"):
                continue
            there = _room(name)
            if there != here and there not in ALLOWED[here]:
                offenders.append(f"{path.relative_to(ROOT)}:{line}: {here} → {there}")
    assert offenders == []


def test_the_library_imports_no_front_end_no_demo_and_no_framework() -> None:
    offenders = [
        f"{path.relative_to(ROOT)}:{line}: {name}"
        for path in LIBRARY.rglob("*.py")
        for line, name in _imported(path)
        if name.split(".")[0] in FORBIDDEN
    ]
    assert offenders == []


def test_front_ends_import_only_the_public_api() -> None:
    """`cli.py`, `jobs/` and `web/` import `workflow` or a sub-package's `__init__`, never a module inside one."""
    packages = {_module_of(p) for p in LIBRARY.rglob("__init__.py")}
    front = [ROOT / "cli.py", *sorted((ROOT / "jobs").rglob("*.py")), *sorted((ROOT / "web").rglob("*.py"))]
    offenders = []
    for path in front:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            offenders += [f"{path.relative_to(ROOT)}:{node.lineno}: {n}" for n in names if n.startswith("workflow") and n not in packages]
    assert offenders == []


def test_the_graph_has_no_circle() -> None:
    """The declared graph itself is a hierarchy (a circle there would allow one in the code)."""
    seen: dict[str, int] = {}

    def depth(room: str, path: tuple[str, ...] = ()) -> int:
        assert room not in path, f"circle: {' → '.join((*path, room))}"
        if room not in seen:
            seen[room] = 1 + max((depth(r, (*path, room)) for r in ALLOWED[room]), default=0)
        return seen[room]

    for room in ALLOWED:
        depth(room)


def test_the_readme_code_map_names_every_room_and_no_other() -> None:
    """The README's 代码结构 / Code map has a line per room, in both languages, and no room that is gone."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for room in ALLOWED:
        path = f"`workflow/{room}/`" if (LIBRARY / room).is_dir() else f"`workflow/{room}.py`"
        assert (LIBRARY / room).is_dir() or (LIBRARY / f"{room}.py").is_file(), f"declared room {room} is not in the tree"
        assert readme.count(f"| {path} |") == 2, f"{path} is not in both code maps"


def test_every_package_is_installed() -> None:
    """`pip install .` ships every package of the tree (a sub-package missing from pyproject.toml is missing for users)."""
    import tomllib

    listed = set(tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]["packages"])
    tree = {
        ".".join(p.parent.relative_to(ROOT).parts)
        for top in ("workflow", "jobs", "demo", "web")
        for p in (ROOT / top).rglob("__init__.py")
    }
    assert sorted(tree - listed) == []
