"""`cx demo` is the README's first command: run it as a user would."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration


def test_demo_stores_what_the_generator_sent(tmp_path: Path) -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "streams.cli",
            "demo",
            "--people",
            "300",
            "--data-dir",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    out = result.stdout
    assert result.returncode == 0, out + result.stderr
    stored = int(re.search(r"touchpoints stored: ([\d,]+)", out)[1].replace(",", ""))  # type: ignore[index]
    dead = int(re.search(r"dead letters:\s+([\d,]+)", out)[1].replace(",", ""))  # type: ignore[index]
    expected = re.search(
        r"expected from the generator: ([\d,]+) touchpoints, ([\d,]+) dead letters", out
    )
    assert expected is not None
    assert (stored, dead) == tuple(int(g.replace(",", "")) for g in expected.groups())
    assert "worker stopped (exit code 0)" in out
    for heading in ("awareness", "post_purchase", "invalid_json"):
        assert heading in out
