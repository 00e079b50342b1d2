"""A client in another language speaks wire protocol v1 to real daemons, using only pyzmq.

Nothing here knows Swift: it follows docs/wire-protocol.md. The devnet is started with the built
`devnet` executable (DEVNET_BIN_DIR, default .build/debug).
"""
import json
import time

import pytest

from devnet_harness import TIMEOUT_MS, Client
from devnet_harness import running_devnet as start_devnet


@pytest.fixture(scope="module")
def running_devnet():
    with start_devnet("threads:\n  - name: token\n  - name: counter\n", first_port=13000) as processes:
        yield processes


def test_health_on_every_daemon(running_devnet):
    assert set(running_devnet) == {"sequencer", "manager", "node-token", "node-counter"}
    for name, process in running_devnet.items():
        client = Client(process["endpoints"]["admin"])
        envelope, health = client.request("health")
        assert envelope == {"v": 1, "type": "health", "id": 1, "status": "ok"}
        assert health["name"] == name
        assert health["status"] == "healthy"
        assert health["protocol_version"] == 1
        assert health["pid"] == process["pid"]
        assert health["endpoints"] == process["endpoints"]
        client.close()


def test_stats_and_api_endpoint(running_devnet):
    client = Client(running_devnet["sequencer"]["endpoints"]["api"])
    envelope, stats = client.request("stats")
    assert envelope["status"] == "ok"
    for key in ("requests", "error_replies", "bad_messages", "events_published", "uptime_ms", "counters"):
        assert key in stats
    assert stats["role"] == "sequencer"
    client.close()


def test_errors_are_replies_with_codes(running_devnet):
    client = Client(running_devnet["manager"]["endpoints"]["admin"])
    envelope, error = client.request("no_such_type")
    assert envelope["status"] == "error" and envelope["id"] == 1
    assert error["code"] == "UNKNOWN_TYPE"
    assert "health" in error["message"]

    envelope, error = client.request("health", version=99)
    assert envelope["status"] == "error" and envelope["id"] == 2
    assert error["code"] == "UNSUPPORTED_VERSION"

    envelope, error = client.request("events", {"from_seq": "yesterday"})
    assert error["code"] == "BAD_PAYLOAD"
    assert "from_seq" in error["message"]

    # Garbage: a single frame that is not an envelope at all.
    client.socket.send_multipart([b"\x00\xffnot json"])
    envelope, error = client.read()
    assert envelope["status"] == "error"
    assert error["code"] == "BAD_ENVELOPE"

    # The daemon keeps serving.
    envelope, health = client.request("health")
    assert health["status"] == "healthy"
    client.close()


def test_event_gap_fetch(running_devnet):
    client = Client(running_devnet["sequencer"]["endpoints"]["api"])
    envelope, reply = client.request("events", {"from_seq": 1, "limit": 1000})
    assert envelope["status"] == "ok"
    assert set(reply) == {"events", "last_seq", "first_available_seq"}
    seqs = [event["seq"] for event in reply["events"]]
    # Everything kept is returned, oldest first, without gaps, ending at last_seq.
    assert seqs == list(range(reply["first_available_seq"], reply["last_seq"] + 1))
    for event in reply["events"]:
        assert isinstance(event["topic"], str) and isinstance(json.loads(event["payload"]), dict)
    envelope, later = client.request("events", {"from_seq": reply["last_seq"] + 1})
    assert later["events"] == []
    client.close()


def test_admin_shutdown_stops_a_daemon(running_devnet):
    process = running_devnet["node-counter"]
    client = Client(process["endpoints"]["admin"])
    envelope, reply = client.request("shutdown")
    assert envelope["status"] == "ok"
    assert reply == {"stopping": True}
    client.close()
    deadline = time.time() + TIMEOUT_MS / 1000
    while time.time() < deadline and running(process["pid"]):
        time.sleep(0.02)
    assert not running(process["pid"])


def running(pid):
    """Whether the process exists and is not a zombie (gone between two reads counts as gone)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return not f.read().split(") ")[1].startswith("Z")
    except FileNotFoundError:
        return False


def test_oversized_requests_get_an_error_reply(running_devnet):
    client = Client(running_devnet["manager"]["endpoints"]["api"])
    big = b"{" + b" " * (17 * 1024 * 1024) + b"}"
    client.socket.send_multipart([json.dumps({"v": 1, "type": "health", "id": 99}).encode(), big])
    envelope, error = client.read(99)
    assert envelope["status"] == "error"
    assert error["code"] == "BAD_ENVELOPE" and "limit" in error["message"]
    envelope, health = client.request("health")
    assert health["status"] == "healthy"
    client.close()
