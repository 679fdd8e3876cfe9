"""The Grafana dashboards (deploy/grafana/dashboards) statically: the
Operations dashboard's PromQL uses only the metrics the worker exposes
(tests/worker_metrics.json) and their labels; the CX dashboard's SQL reads
only the views the BI user may read; the JSON is a current, well-formed
dashboard. Whether each SQL runs and returns rows on the real engine:
tests/integration/test_dashboards.py."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
DASHBOARDS = ROOT / "deploy" / "grafana" / "dashboards"
METRICS_FILE = ROOT / "tests" / "worker_metrics.json"
BI_FILE = ROOT / "deploy" / "clickhouse" / "users.d" / "zz-cx-bi.xml"
SCHEMA_VERSION = 42  # Grafana 12.3 (docker-compose.yml pins 12.3.1): migration v42

HISTOGRAM_SERIES = ("_bucket", "_sum", "_count")
# Labels Prometheus adds to every scraped series, and the histogram bucket's.
SCRAPE_LABELS = {"instance", "job", "service"}
PROMQL_FUNCTIONS = {
    "rate", "irate", "increase", "delta", "idelta", "deriv", "resets", "changes",
    "sum", "avg", "min", "max", "count", "topk", "bottomk", "quantile", "stddev",
    "histogram_quantile", "abs", "clamp_min", "clamp_max", "time", "timestamp",
    "absent", "vector", "scalar", "label_replace", "avg_over_time", "max_over_time",
    "min_over_time", "sum_over_time", "last_over_time", "round", "ceil", "floor",
}  # fmt: skip
PROMQL_WORDS = {
    "by", "without", "on", "ignoring", "group_left", "group_right", "bool",
    "and", "or", "unless", "offset",
}  # fmt: skip


def metrics() -> dict[str, dict[str, Any]]:
    listed: dict[str, dict[str, Any]] = json.loads(METRICS_FILE.read_text(encoding="utf-8"))[
        "metrics"
    ]
    return listed


def series_names() -> dict[str, set[str]]:
    """Every series name the worker exposes -> its labels."""
    names: dict[str, set[str]] = {}
    for name, spec in metrics().items():
        labels = set(spec["labels"])
        if spec["type"] == "histogram":
            names[f"{name}_bucket"] = labels | {"le"}
            names[f"{name}_sum"] = labels
            names[f"{name}_count"] = labels
        else:
            names[name] = labels
    return names


def boards() -> list[tuple[str, dict[str, Any]]]:
    return [
        (path.name, json.loads(path.read_text(encoding="utf-8")))
        for path in sorted(DASHBOARDS.glob("*.json"))
    ]


def panels(board: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for panel in board.get("panels", []):
        yield panel
        yield from panels(panel)


def targets(kind: str) -> list[tuple[str, dict[str, Any], dict[str, Any]]]:
    """(dashboard, panel, target) of every query to a data source of `kind`."""
    found = []
    for name, board in boards():
        for panel in panels(board):
            for target in panel.get("targets", []):
                source = target.get("datasource") or panel.get("datasource") or {}
                if source.get("type") == kind:
                    found.append((name, panel, target))
    return found


def promql_names(expr: str) -> tuple[set[str], set[str]]:
    """(series names, label names) an expression refers to."""
    text = re.sub(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'', '""', expr)
    text = re.sub(r"\[[^\]]*\]", "", text)  # ranges, e.g. [$__rate_interval]
    labels: set[str] = set()
    for matchers in re.findall(r"\{([^}]*)\}", text):
        labels |= set(re.findall(r"([A-Za-z_]\w*)\s*(?:=~|!~|!=|=)", matchers))
    text = re.sub(r"\{[^}]*\}", "", text)
    for clause in re.findall(
        r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\(([^)]*)\)", text
    ):
        labels |= {label.strip() for label in clause.split(",") if label.strip()}
    text = re.sub(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", "", text)
    names = set()
    for match in re.finditer(r"(?<![\w.])([A-Za-z_:][\w:]*)(\s*\()?", text):
        word, call = match[1], match[2]
        if call and word in PROMQL_FUNCTIONS:
            continue
        assert word not in PROMQL_FUNCTIONS or not call, word
        if word in PROMQL_WORDS:
            continue
        names.add(word)
    return names, labels


PROMETHEUS_TARGETS = targets("prometheus")


def test_the_operations_dashboard_queries_prometheus() -> None:
    assert len(PROMETHEUS_TARGETS) >= 15


@pytest.mark.parametrize(
    "expr",
    [t["expr"] for _, _, t in PROMETHEUS_TARGETS],
    ids=[f"{p['title']} {t['refId']}" for _, p, t in PROMETHEUS_TARGETS],
)
def test_promql_uses_only_the_worker_s_metrics_and_labels(expr: str) -> None:
    exposed = series_names()
    names, labels = promql_names(expr)
    assert names, f"no metric in {expr!r}"
    unknown = sorted(names - set(exposed))
    assert not unknown, f"not metrics of the worker (tests/worker_metrics.json): {unknown}"
    known_labels = set().union(*(exposed[name] for name in names)) | SCRAPE_LABELS
    assert labels <= known_labels, f"labels not on {sorted(names)}: {sorted(labels - known_labels)}"


def test_legends_name_labels_the_query_keeps() -> None:
    for _, panel, target in PROMETHEUS_TARGETS:
        _, labels = promql_names(target["expr"])
        for label in re.findall(r"\{\{\s*(\w+)\s*\}\}", target.get("legendFormat", "")):
            assert label in labels, f"{panel['title']}: legend {{{{{label}}}}} is aggregated away"


def test_the_operations_dashboard_shows_every_metric() -> None:
    used = set().union(*(promql_names(t["expr"])[0] for _, _, t in PROMETHEUS_TARGETS))
    shown = {re.sub(r"_(bucket|sum|count)$", "", name) for name in used}
    assert sorted(set(metrics()) - shown) == []


def test_the_metric_list_is_well_formed() -> None:
    for name, spec in metrics().items():
        assert re.fullmatch(r"cx_[a-z0-9_]+", name), name
        assert spec["type"] in {"counter", "gauge", "histogram"}, name
        assert (spec["type"] == "counter") == name.endswith("_total"), name
        assert spec["type"] != "histogram" or name.endswith("_seconds"), name


# --- ClickHouse ------------------------------------------------------------------


def bi_views() -> set[str]:
    grants = [q.text or "" for q in ET.parse(BI_FILE).getroot().iter("query")]
    return {m[1] for g in grants if (m := re.fullmatch(r"GRANT SELECT ON (cx\.\w+)", g.strip()))}


CLICKHOUSE_TARGETS = targets("grafana-clickhouse-datasource")


def test_clickhouse_panels_read_only_the_views_the_bi_user_may_read() -> None:
    granted = bi_views()
    assert len(CLICKHOUSE_TARGETS) >= 10
    for _, panel, target in CLICKHOUSE_TARGETS:
        sql = target["rawSql"]
        read = set(re.findall(r"\b(?:FROM|JOIN)\s+([\w.]+)", sql, flags=re.IGNORECASE))
        assert read, panel["title"]
        assert read <= granted, f"{panel['title']}: reads {sorted(read - granted)}"
        assert target["editorType"] == "sql" and target["format"] in (0, 1), panel["title"]
        assert not re.search(r"\$(?!__\w)", sql), f"{panel['title']}: a template variable"


# --- the JSON ---------------------------------------------------------------------


@pytest.mark.parametrize("name", [name for name, _ in boards()])
def test_dashboards_are_current_and_well_formed(name: str) -> None:
    board = dict(boards())[name]
    assert board["schemaVersion"] == SCHEMA_VERSION
    assert board["uid"] == name.removesuffix(".json")
    assert board.get("id") is None, "a provisioned dashboard has no id"
    ids = [panel["id"] for panel in panels(board)]
    assert len(ids) == len(set(ids)), "panel ids repeat"
    for panel in panels(board):
        position = panel["gridPos"]
        assert position["x"] + position["w"] <= 24, panel["title"]
        if panel["type"] != "row":
            assert panel.get("targets") and panel.get("description"), panel["title"]
            refs = [t["refId"] for t in panel["targets"]]
            assert len(refs) == len(set(refs)), panel["title"]
    titles = [panel["title"] for panel in panels(board) if panel["type"] != "row"]
    assert len(titles) == len(set(titles)), "panel titles repeat"
