"""The house's boundaries, read from the source: no import cycle, translate/ never reaches plugins/
or cli/, inference and the app never import the trainer, and every module names its one job."""
from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).parent.parent
PACKAGES = {"translate": ROOT / "translate", "translate.plugins": ROOT / "plugins", "translate.cli": ROOT / "cli"}


def _modules() -> dict[str, Path]:
    mods = {}
    for pkg, folder in PACKAGES.items():
        for f in folder.rglob("*.py"):
            parts = list(f.relative_to(folder).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts = parts[:-1]
            mods[".".join([pkg, *parts])] = f
    return mods


def _is_type_checking(node: ast.AST) -> bool:
    return isinstance(node, ast.If) and isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING"


def _imports(name: str, path: Path, mods: dict[str, Path]) -> set[str]:
    """Modules `name` imports (module level and inside functions; TYPE_CHECKING blocks skipped).
    `from pkg import sub` counts as an import of pkg.sub when that is a module."""
    tree = ast.parse(path.read_text())
    skip = {id(n) for block in ast.walk(tree) if _is_type_checking(block) for n in ast.walk(block)}
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(parts + ([node.module] if node.module else []))
            subs = [f"{base}.{a.name}" for a in node.names if f"{base}.{a.name}" in mods]
            found.update(subs or [base])
    out = set()
    for dep in found:
        while dep and dep not in mods:
            dep = dep.rpartition(".")[0]
        if dep and dep != name:
            out.add(dep)
    return out


def graph() -> dict[str, set[str]]:
    mods = _modules()
    return {name: _imports(name, path, mods) for name, path in mods.items()}


def cycles(g: dict[str, set[str]]) -> list[list[str]]:
    found, state = [], {}

    def visit(node: str, stack: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(g[node]):
            if state.get(nxt) == 1:
                found.append(stack[stack.index(nxt):] + [nxt])
            elif nxt not in state:
                visit(nxt, stack + [nxt])
        state[node] = 2

    for node in sorted(g):
        if node not in state:
            visit(node, [node])
    return found


def depth(g: dict[str, set[str]]) -> int:
    """The longest import chain (in edges) of the acyclic graph."""
    memo: dict[str, int] = {}

    def d(node: str) -> int:
        if node not in memo:
            memo[node] = 1 + max((d(n) for n in g[node]), default=-1)
        return memo[node]

    return max(d(n) for n in g)


def test_no_import_cycle() -> None:
    assert cycles(graph()) == []


def test_arrows_point_one_way() -> None:
    g = graph()
    core = [m for m in g if not m.startswith(("translate.plugins", "translate.cli"))]
    for m in core:
        bad = sorted(d for d in g[m] if d.startswith(("translate.plugins", "translate.cli")))
        assert not bad or m == "translate.__main__", f"{m} imports {bad}"
    for m in g:
        if m.startswith(("translate.inference", "translate.app")):  # the app stands on inference, never on training
            assert not any(d.startswith(("translate.engine", "translate.jobs.train")) for d in g[m]), f"{m} imports the engine"
    assert not any(d.startswith("translate.engine") for d in g["translate.variant"])


def test_every_module_says_its_job_and_stays_small() -> None:
    for name, path in _modules().items():
        tree = ast.parse(path.read_text())
        assert ast.get_docstring(tree), f"{name} has no docstring"
        lines = len(path.read_text().splitlines())
        assert lines <= 450, f"{name} has {lines} lines: split it along a boundary"


def test_rooms_by_audience_keep_the_top_level_small() -> None:
    """The plugin author's kit, the use cases and the core each have their place: at most 12
    modules at the top of translate/ (the core), the rest in folders named for who uses them."""
    top = sorted(p.stem for p in (ROOT / "translate").glob("*.py"))
    assert len(top) <= 12, top
    assert {"variant", "config", "errors", "files", "device"} <= set(top)


def test_modules_of_earlier_versions_answer_to_their_old_names() -> None:
    import importlib

    import translate.jobs.train
    import translate.kit.losses

    assert importlib.import_module("translate.losses") is translate.kit.losses  # one module, two names
    assert importlib.import_module("translate.train") is translate.jobs.train
    from translate.families import TwoDomainVariant  # how a 0.1 plugin imports its base
    from translate.kit.families import TwoDomainVariant as same

    assert TwoDomainVariant is same
    assert translate.kit.losses.__spec__.name == "translate.kit.losses"


if __name__ == "__main__":  # `python tests/test_layout.py`: the figures for a review
    g = graph()
    print(f"{len(g)} modules, longest import chain {depth(g)}, cycles {len(cycles(g))}")


def test_data_never_imports_the_metrics_and_the_core_names_no_built_in() -> None:
    g = graph()
    for name, deps in g.items():
        if name.startswith("translate.data"):
            assert not any(d.startswith("translate.metrics") for d in deps), f"{name} imports the metrics"
    built_ins = ("cyclegan", "discogan", "srgan", "cgan", "cogan", "pix2pix")
    for path in [ROOT / "translate" / "jobs" / "gallery.py", ROOT / "translate" / "inference" / "sources.py",
                 *(ROOT / "translate" / "metrics").glob("*.py")]:
        code = "\n".join(line for line in path.read_text().splitlines() if not line.lstrip().startswith("#"))
        tree = ast.parse(code)
        names = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)} | {
            n.name for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.ClassDef))}
        strings = {n.value.lower() for n in ast.walk(tree) if isinstance(n, ast.Constant) and isinstance(n.value, str)}
        assert not any(b in x.lower() for b in built_ins for x in names), path
        assert not any(s == b for b in built_ins for s in strings), path  # no `variant == "cyclegan"` branches
