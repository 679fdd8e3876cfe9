"""The documentation against the code: the settings table equals the settings
model, the producer guide's property table equals the contract models, and
every relative link in README.md and docs/ reaches a file and a heading."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from schemas.events import CHANNEL_MODELS, PageView, event_type_of
from schemas.identity import Context, Identity
from streams.runtime.settings import Settings

ROOT = Path(__file__).parents[2]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]

# Defaults computed when the setting is left unset, as the table shows them.
COMPUTED_DEFAULTS = {"clickhouse_url": "chdb://<data dir>/clickhouse"}


def _tables(text: str, heading: str) -> list[list[list[str]]]:
    """The tables in the section under `heading`, as rows of cells, each
    without its header and rule."""
    section = re.split(r"^#+ ", ("\n" + text).split(f"\n{heading}\n", 1)[1], flags=re.M)[0]
    tables: list[list[list[str]]] = []
    previous = ""
    for line in section.splitlines():
        if line.startswith("|"):
            if not previous.startswith("|"):
                tables.append([])
            tables[-1].append([cell.strip() for cell in line.strip()[1:-1].split("|")])
        previous = line
    return [table[2:] for table in tables]


def _rendered(default: Any) -> str:
    if default is None or default == "":
        return "none"
    if isinstance(default, bool):
        return f"`{str(default).lower()}`"
    if isinstance(default, float) and default.is_integer():
        return f"`{int(default)}`"
    if isinstance(default, SecretStr):
        return f"`{default.get_secret_value()}`"
    return f"`{default}`"


def test_the_settings_table_is_the_settings_model() -> None:
    rows = _tables((ROOT / "docs" / "settings.md").read_text(), "# Settings")[0]
    documented = {name.strip("`"): default for name, default, _meaning in rows}
    expected = {
        f"CX_{name.upper()}": (
            f"`{COMPUTED_DEFAULTS[name]}`"
            if name in COMPUTED_DEFAULTS
            else _rendered(field.default)
        )
        for name, field in Settings.model_fields.items()
    }
    assert sorted(documented) == sorted(expected), "documented settings differ from the model"
    assert documented == expected
    assert len(rows) == len(documented), "a setting is documented twice"


def test_the_computed_clickhouse_default_is_what_the_table_says() -> None:
    settings = Settings(data_dir=Path("/srv/cx"), clickhouse_url="")
    assert settings.clickhouse_url == "chdb:///srv/cx/clickhouse"


def test_the_producer_guide_lists_every_property_of_every_event_type() -> None:
    guide = (ROOT / "docs" / "producers.md").read_text()
    events, types = _tables(guide, "### `properties` by event type")

    def names(cell: str) -> list[str]:
        return re.findall(r"`([a-z_]+)`", cell)

    documented = {names(t)[0]: (names(req), names(opt)) for t, req, opt in events}
    expected = {}
    for models in CHANNEL_MODELS.values():
        for model in models:
            fields = model.model_fields["properties"].annotation.model_fields  # type: ignore[union-attr]
            expected[event_type_of(model)] = (
                [name for name, f in fields.items() if f.is_required()],
                [name for name, f in fields.items() if not f.is_required()],
            )
    assert documented == expected
    properties = {name for req, opt in expected.values() for name in req + opt}
    described = {name for row in types for name in names(row[0])}
    assert properties <= described, "a property without its type and rules"


# -- links ----------------------------------------------------------------------

LINK = re.compile(r"(?<!!)\[[^\]]*\]\(([^)\s]+)\)")
CODE_BLOCK = re.compile(r"^```.*?^```", flags=re.M | re.S)


def _slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces
    as hyphens."""
    text = re.sub(r"[`*_]", lambda m: "_" if m.group() == "_" else "", heading.strip())
    text = text.lower()
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def _anchors(page: Path) -> set[str]:
    text = CODE_BLOCK.sub("", page.read_text())
    seen: dict[str, int] = {}
    anchors = set()
    for heading in re.findall(r"^#{1,6} (.+)$", text, flags=re.M):
        slug = _slug(heading)
        count = seen.get(slug, 0)
        seen[slug] = count + 1
        anchors.add(slug if count == 0 else f"{slug}-{count}")
    return anchors


def _links() -> list[tuple[Path, str]]:
    return [
        (page, target)
        for page in PAGES
        for target in LINK.findall(CODE_BLOCK.sub("", page.read_text()))
    ]


def test_the_slugs_are_githubs() -> None:
    assert _slug("Compressing the worker's own topics (`CX_KAFKA_COMPRESSION`)") == (
        "compressing-the-workers-own-topics-cx_kafka_compression"
    )
    assert _slug("Garbage collection (`streams/runtime/gc_watch.py`)") == (
        "garbage-collection-streamsruntimegc_watchpy"
    )


@pytest.mark.parametrize(
    ("page", "target"), _links(), ids=lambda v: v.name if isinstance(v, Path) else str(v)
)
def test_every_relative_link_resolves(page: Path, target: str) -> None:
    if re.match(r"^[a-z]+:", target):
        assert target.startswith("https://"), f"{page.name}: {target}"
        return
    path, _, anchor = target.partition("#")
    resolved = (page.parent / path).resolve() if path else page
    assert resolved.is_relative_to(ROOT), f"{page.name}: {target} leaves the repository"
    assert resolved.exists(), f"{page.name}: {target} does not exist"
    if anchor:
        assert resolved.suffix == ".md", f"{page.name}: {target}"
        assert anchor in _anchors(resolved), f"{page.name}: no heading #{anchor} in {path}"


@pytest.mark.parametrize(
    ("heading", "model"),
    [
        ("### The envelope", "envelope"),
        ("### `identity`", "identity"),
        ("### `context`", "context"),
    ],
)
def test_the_producer_guide_lists_every_field(heading: str, model: str) -> None:
    fields = {
        "envelope": [*PageView.model_fields],
        "identity": [*Identity.model_fields],
        "context": [*Context.model_fields],
    }[model]
    guide = (ROOT / "docs" / "producers.md").read_text()
    (rows,) = _tables(guide, heading)
    assert sorted(row[0].strip("`") for row in rows) == sorted(fields)


def test_the_testing_page_names_every_test_file() -> None:
    """docs/testing.md says what each test file shows: none left out."""
    page = (ROOT / "docs" / "testing.md").read_text()
    files = sorted(
        path.relative_to(ROOT / "tests").as_posix() for path in (ROOT / "tests").glob("*/test_*.py")
    )
    assert files, "no test files found"
    assert [name for name in files if f"`{name}`" not in page] == []


def test_the_cli_page_names_every_command() -> None:
    """docs/cli.md has a row for each `cx` command, in its table."""
    import click

    from streams.cli import main

    def leaves(group: click.Group, path: tuple[str, ...]) -> list[str]:
        found = []
        for name, command in group.commands.items():
            if isinstance(command, click.Group):
                found += leaves(command, (*path, name))
            else:
                found.append(" ".join(("cx", *path, name)))
        return found

    rows = _tables((ROOT / "docs" / "cli.md").read_text(), "# The `cx` command")[0]
    documented = [row[0] for row in rows]
    commands = leaves(main, ())
    assert len(commands) > 15
    assert [c for c in commands if not any(cell.startswith(f"`{c}") for cell in documented)] == []


_PATH = re.compile(r"\b(?:streams|schemas|tests|deploy)/[\w./-]*\w")
_MODULE = re.compile(r"\b(?:streams|schemas)(?:\.[a-z_]+)+")


def test_every_file_and_module_the_docs_name_exists() -> None:
    """A page that names `streams/x/y.py` or `streams.x.y` names something
    there is: a move of code moves its mentions too."""
    missing = []
    for page in PAGES:
        text = page.read_text()
        for path in set(_PATH.findall(text)):
            if not (ROOT / path).exists():
                missing.append(f"{page.name}: {path}")
        for module in set(_MODULE.findall(text)):
            parts = module.split(".")
            # streams.a.b may be a module or a name in module streams.a
            candidates = [ROOT.joinpath(*parts[:n]) for n in (len(parts), len(parts) - 1)]
            if not any(c.with_suffix(".py").exists() or c.is_dir() for c in candidates):
                missing.append(f"{page.name}: {module}")
    assert missing == []
