"""No DynamoDB Scan anywhere in runtime/: every access path is GetItem, Query or a keyed write."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

RUNTIME = Path(__file__).resolve().parents[2] / "runtime"

# `.scan(` (client or resource), the operation name as a string ("Scan" / 'scan' for a
# paginator or a raw request), and the resource's `scan` attribute passed around.
# `ScanIndexForward` and `Select=` belong to Query and are fine.
SCAN = re.compile(r"""\.scan\s*\(|["']Scan["']|get_paginator\(\s*["']scan["']\s*\)|\.scan\b(?!\w)""")


def scan_uses(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if SCAN.search(line)]


def test_runtime_never_scans() -> None:
    offenders = {
        str(path.relative_to(RUNTIME.parent)): uses
        for path in sorted(RUNTIME.rglob("*.py"))
        if (uses := scan_uses(path.read_text()))
    }
    assert offenders == {}


def test_the_runtime_tree_is_there() -> None:
    assert len(list(RUNTIME.rglob("*.py"))) > 10


@pytest.mark.parametrize(
    "line",
    [
        "client.scan(TableName=name)",
        "table.scan ()",
        'client.get_paginator("scan")',
        "operation = 'Scan'",
        'self._client._make_api_call("Scan", request)',
        "fetch = table.scan",
    ],
)
def test_the_check_catches_scans(line: str) -> None:
    assert scan_uses(line)


@pytest.mark.parametrize(
    "line",
    [
        'request["ScanIndexForward"] = False',
        'client.query(Select="COUNT", TableName=name)',
        "# never Scan here",
        "rescan_interval = 3",
    ],
)
def test_the_check_ignores_query_options(line: str) -> None:
    assert not scan_uses(line)
