"""What imports what: the worker image has no development tooling
(`streams.dev`), and the pure cores of the stages do no I/O."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
STREAMS = ROOT / "streams"
DEV = "streams.dev"


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported(node: ast.AST, module: str) -> list[str]:
    """The modules an import statement imports (a `from a import b` counts
    as a and a.b: b may be a module), relative imports resolved."""
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    if isinstance(node, ast.ImportFrom):
        if node.level:
            package = module.split(".")
            base = ".".join(package[: len(package) - node.level])
            source = f"{base}.{node.module}" if node.module else base
        else:
            source = node.module or ""
        return [source, *(f"{source}.{alias.name}" for alias in node.names)]
    return []


def module_level_imports(tree: ast.Module, module: str) -> Iterator[str]:
    """Imports run when the module is imported: outside functions, and not
    under `if TYPE_CHECKING:`."""

    def visit(nodes: list[ast.stmt]) -> Iterator[str]:
        for node in nodes:
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
                yield from visit(node.orelse)
                continue
            yield from imported(node, module)
            for field in ("body", "orelse", "finalbody", "handlers"):
                children = getattr(node, field, None)
                if isinstance(children, list):
                    yield from visit([c for c in children if isinstance(c, ast.stmt)])
                    for handler in children:
                        if isinstance(handler, ast.ExceptHandler):
                            yield from visit(handler.body)

    yield from visit(tree.body)


def is_under(name: str, package: str) -> bool:
    return name == package or name.startswith(package + ".")


def parse(path: Path) -> ast.Module:
    return ast.parse(path.read_text(encoding="utf-8"), str(path))


RUNTIME_FILES = sorted(p for p in STREAMS.rglob("*.py") if DEV not in module_name(p))


def test_the_runtime_is_not_development_tooling() -> None:
    """No module outside streams/dev imports it, but the CLI's dev commands."""
    assert (STREAMS / "dev" / "__init__.py").exists()
    assert len(RUNTIME_FILES) > 40
    offenders = []
    for path in RUNTIME_FILES:
        module = module_name(path)
        tree = parse(path)
        if path == STREAMS / "cli.py":
            names: list[str] = list(module_level_imports(tree, module))
        else:  # not even inside a function
            names = [name for node in ast.walk(tree) for name in imported(node, module)]
        offenders += [f"{module} imports {n}" for n in names if is_under(n, DEV)]
    assert offenders == []


def test_the_cli_imports_development_tooling_only_in_the_dev_commands() -> None:
    """Each import of streams.dev in streams/cli.py is in a function marked
    `@_dev_tooling`, which says in one line what is missing when it is."""
    tree = parse(STREAMS / "cli.py")
    dev_functions = set()
    for node in ast.walk(tree):
        if not isinstance(node, ast.FunctionDef):
            continue
        uses_dev = any(
            is_under(name, DEV)
            for child in ast.walk(node)
            for name in imported(child, "streams.cli")
        )
        marked = any(ast.unparse(d) == "_dev_tooling" for d in node.decorator_list)
        if uses_dev:
            assert marked, f"streams/cli.py: {node.name} imports {DEV} unmarked"
            dev_functions.add(node.name)
    assert dev_functions >= {"dev_broker", "generate", "produce", "demo", "bench_throughput"}


# The pure cores: decisions and encodings, tested without a broker or a
# database; the stages (stage.py, sink.py) do their I/O.
PURE_MODULES = [
    *(f"streams.journeys.{m}" for m in ("fold", "pains", "records", "rules", "state", "steps")),
    "streams.journeys.rows",
    *(f"streams.ingest.{m}" for m in ("route", "touchpoint", "pseudonym")),
    *(f"streams.identity.{m}" for m in ("graph", "rules", "log", "rows")),
    "streams.store.rows",
    "streams.store.dedup",
    "streams.deadletters.letter",
    "streams.deadletters.rows",
    "streams.deadletters.select",
    "streams.deadletters.present",
    *(f"streams.alerts.{m}" for m in ("rules", "evaluate", "episodes", "slices", "stats")),
    "streams.clickhouse.bundle",
    *(f"streams.runtime.{m}" for m in ("headers", "partitioning", "right_size")),
]
IO_MODULES = [
    "aiokafka",
    "faust",
    "mode",
    "clickhouse_connect",
    "chdb",
    "asyncio",
    "socket",
    "subprocess",
    "http",
    "urllib.request",
    "streams.runtime.kafka",
    "streams.clickhouse.client",
]


def _file_of(module: str) -> Path | None:
    base = ROOT.joinpath(*module.split("."))
    for path in (base.with_suffix(".py"), base / "__init__.py"):
        if path.exists():
            return path
    return None


def _imports_of(module: str) -> list[str]:
    path = _file_of(module)
    return list(module_level_imports(parse(path), module)) if path is not None else []


def _reached(start: str) -> dict[str, str]:
    """Every module importing `start` imports (ours followed, with their
    packages' __init__), each with the module of ours that imports it."""
    seen: dict[str, str] = {}
    todo = [start]
    while todo:
        module = todo.pop()
        for name in _imports_of(module):
            parts = name.split(".")
            for depth in range(1, len(parts) + 1):
                prefix = ".".join(parts[:depth])
                if prefix in seen or (depth > 1 and _file_of(prefix) is None):
                    continue
                seen[prefix] = module
                if parts[0] in {"streams", "schemas"}:
                    todo.append(prefix)
    return seen


@pytest.mark.parametrize("module", PURE_MODULES)
def test_a_pure_module_imports_no_io(module: str) -> None:
    assert _file_of(module) is not None, f"{module} is gone: update PURE_MODULES"
    reached = _reached(module)
    found = {
        name: via for name, via in reached.items() if any(is_under(name, io) for io in IO_MODULES)
    }
    assert found == {}, f"{module} reaches I/O (module: imported by)"
