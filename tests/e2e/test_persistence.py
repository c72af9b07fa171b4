"""Data survives a restart; Ctrl-C stops every process the runtime started; --reset starts empty."""

from __future__ import annotations

import json
import os
import uuid
from pathlib import Path

import httpx
import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from tests.e2e.conftest import start_runtime
from tests.e2e.fixture_app.app import STACK_NAME

pytestmark = pytest.mark.slow


def children(pid: int) -> set[int]:
    """Direct children of ``pid`` (Linux /proc)."""
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.add(int(entry.name))
    return found


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads the process table from /proc")
def test_state_survives_a_restart_and_ctrl_c_stops_everything(tmp_path: Path, fixture_assembly: Path) -> None:
    state = tmp_path / "state"
    key = f"kept-{uuid.uuid4()}"
    recipient = f"{uuid.uuid4().hex[:8]}@example.com"

    # Given a running system with data in a table, a bucket, a queue and the mailbox
    first = start_runtime(state, assembly=fixture_assembly)
    outputs = first.outputs[STACK_NAME]
    first.aws("dynamodb").put_item(TableName=outputs["ResultsTable"], Item={"pk": {"S": key}})
    first.aws("s3").put_object(Bucket=outputs["BucketName"], Key=f"kept/{key}", Body=b"kept")
    first.aws("sqs").send_message(QueueUrl=outputs["DlqUrl"], MessageBody=key)
    assert httpx.post(f"{outputs['HttpApiUrl']}/mail", json={"to": recipient, "code": "1"}).status_code == 202
    assert httpx.get(f"{outputs['HttpApiUrl']}/version").status_code == 200  # a warm worker exists
    started = children(first.process.pid)
    assert len(started) >= 2  # the AWS emulation and at least one function worker

    # When it is stopped with Ctrl-C
    assert first.stop() == 0
    assert not (state / "outputs.json").exists()
    assert not [pid for pid in started if Path(f"/proc/{pid}").exists() and _alive(pid)]

    # Then a restart serves the same data
    second = start_runtime(state, assembly=fixture_assembly)
    try:
        outputs = second.outputs[STACK_NAME]
        item = second.aws("dynamodb").get_item(TableName=outputs["ResultsTable"], Key={"pk": {"S": key}})
        assert "Item" in item
        body = second.aws("s3").get_object(Bucket=outputs["BucketName"], Key=f"kept/{key}")["Body"].read()
        assert body == b"kept"
        messages = second.aws("sqs").receive_message(QueueUrl=outputs["DlqUrl"], MaxNumberOfMessages=10)
        assert key in [m["Body"] for m in messages.get("Messages", [])]
        mailbox = httpx.get(second.endpoints["mailbox"], params={"to": recipient}).json()["messages"]
        assert len(mailbox) == 1
    finally:
        assert second.stop() == 0

    # And --reset starts from empty resources (here with a short WebSocket idle timeout)
    third = start_runtime(state, "--reset", "--ws-idle-timeout", "2", assembly=fixture_assembly)
    try:
        outputs = third.outputs[STACK_NAME]
        item = third.aws("dynamodb").get_item(TableName=outputs["ResultsTable"], Key={"pk": {"S": key}})
        assert "Item" not in item
        assert json.loads((state / "outputs.json").read_text())[STACK_NAME]["ResultsTable"] == outputs["ResultsTable"]
        # An idle connection is closed with 1001 "Going away", as API Gateway closes it after 10 minutes.
        with (
            connect(f"{outputs['WebSocketUrl']}?token=letmein", open_timeout=30) as socket,
            pytest.raises(ConnectionClosed) as closed,
        ):
            socket.recv(timeout=20)
        assert closed.value.rcvd is not None
        assert closed.value.rcvd.code == 1001
    finally:
        third.stop()


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z" and os.path.exists(f"/proc/{pid}")
