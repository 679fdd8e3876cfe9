"""The read-only BI user: grants on exactly the views the migrations create,
views that run with their creator's rights, and a profile that cannot write.
chdb has no users, so the grants are checked in the deployed configuration;
the profile's settings on the real engine are an integration test."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path, PurePosixPath

from streams.clickhouse import sql
from tests.unit.test_deploy import bind_mounts, environment, load_compose, service

ROOT = Path(__file__).resolve().parents[2]
BI_FILE = ROOT / "deploy/clickhouse/users.d/zz-cx-bi.xml"
_VIEW = re.compile(r"CREATE (?:MATERIALIZED )?VIEW IF NOT EXISTS \{database:Identifier\}\.(\w+)")


def created_views() -> set[str]:
    """Plain views the migrations create (materialized views write, BI
    does not read them)."""
    return {
        name
        for _, _, text in sql.migrations()
        for name in _VIEW.findall(text)
        if not name.endswith("_mv")
    }


def bi_user() -> ET.Element:
    user = ET.parse(BI_FILE).getroot().find("users/cx_bi")
    assert user is not None
    return user


def test_the_bi_user_may_select_the_views_and_nothing_else() -> None:
    views = created_views()
    assert {"scores_daily", "funnel_daily", "response_times_daily", "pain_points_daily"} <= views
    grants = [q.text or "" for q in bi_user().findall("grants/query")]
    assert all(re.fullmatch(r"GRANT SELECT ON cx\.\w+", g) for g in grants), grants
    assert {g.rsplit(".", 1)[1] for g in grants} == views


def test_every_view_runs_with_its_creators_rights() -> None:
    altered = {
        name
        for _, _, text in sql.migrations()
        for name in re.findall(
            r"ALTER TABLE \{database:Identifier\}\.(\w+) MODIFY SQL SECURITY DEFINER", text
        )
    }
    assert altered == created_views()


def test_the_bi_profile_is_read_only_and_deployed() -> None:
    root = ET.parse(BI_FILE).getroot()
    profile = bi_user().findtext("profile")
    assert root.findtext(f"profiles/{profile}/readonly") in ("1", "2")
    password = bi_user().find("password")
    assert password is not None
    clickhouse = service(load_compose(), "clickhouse")
    assert password.get("from_env") in environment(clickhouse)
    targets = {PurePosixPath(t) for s, t in bind_mounts(clickhouse) if Path(s).name == BI_FILE.name}
    assert targets == {PurePosixPath("/etc/clickhouse-server/users.d") / BI_FILE.name}
