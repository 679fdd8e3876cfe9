"""SQL lives in .sql files beside this module: migrations/ and queries/."""

from __future__ import annotations

import re
from functools import cache
from importlib import resources


def _read(path: str) -> str:
    return resources.files(__package__).joinpath("sql", path).read_text(encoding="utf-8")


_INCLUDE = re.compile(r"\{\{include ([a-z0-9_]+)\}\}")
"""`{{include NAME}}` in a query: queries/NAME.sql's code (comments
dropped), in parentheses. A condition two queries share is written once."""


@cache
def query(name: str) -> str:
    """The text of queries/NAME.sql, its includes filled in."""
    return _INCLUDE.sub(
        lambda found: f"({statements(query(found.group(1)))[0]})", _read(f"queries/{name}.sql")
    )


def statements(sql: str) -> list[str]:
    """Split a file into statements on ';' at the end of a line; drops
    comment-only pieces."""
    pieces = [piece.strip() for piece in sql.split(";\n")]
    result = []
    for piece in pieces:
        code = (
            "\n".join(line for line in piece.splitlines() if not line.lstrip().startswith("--"))
            .strip()
            .rstrip(";")
        )
        if code:
            result.append(code)
    return result


def migrations() -> list[tuple[int, str, str]]:
    """(version, name, text) of every migration file, in order."""
    folder = resources.files(__package__).joinpath("sql", "migrations")
    found = []
    for entry in folder.iterdir():
        if entry.name.endswith(".sql"):
            version = int(entry.name.split("_", 1)[0])
            found.append((version, entry.name, entry.read_text(encoding="utf-8")))
    return sorted(found)
