"""A client in another language speaks wire protocol v1 to real daemons, using only pyzmq.

Nothing here knows Swift: it follows docs/wire-protocol.md. The devnet is started with the built
`devnet` executable (DEVNET_BIN_DIR, default .build/debug).
"""
import json
import os
import random
import subprocess
import tempfile
import time

import pytest
import zmq

BIN = os.environ.get("DEVNET_BIN_DIR", os.path.join(os.path.dirname(__file__), "..", "..", ".build", "debug"))
DEVNET = os.path.join(BIN, "devnet")
TIMEOUT_MS = int(5000 * float(os.environ.get("DEVNET_TEST_TIMEOUT_SCALE", "1")))


def devnet(*args, data_dir):
    return subprocess.run([DEVNET, *args, "--data-dir", data_dir], capture_output=True, text=True, timeout=120)


@pytest.fixture(scope="module")
def running_devnet():
    data_dir = tempfile.mkdtemp(prefix="devnet-pyzmq-")
    base_port = 13000 + random.randrange(0, 250) * 30
    config = os.path.join(data_dir, "devnet.yaml")
    with open(config, "w") as f:
        f.write(f"base_port: {base_port}\nthreads:\n  - name: token\n  - name: counter\n")
    up = devnet("up", config, data_dir=data_dir)
    assert up.returncode == 0, up.stderr
    status = devnet("status", "--json", data_dir=data_dir)
    assert status.returncode == 0, status.stderr
    processes = {p["name"]: p for p in json.loads(status.stdout)}
    yield processes
    down = devnet("down", data_dir=data_dir)
    assert down.returncode == 0, down.stderr


class Client:
    """A DEALER socket that sends [envelope, payload] and reads the reply with the same id."""

    def __init__(self, endpoint):
        self.context = zmq.Context.instance()
        self.socket = self.context.socket(zmq.DEALER)
        self.socket.setsockopt(zmq.LINGER, 0)
        self.socket.setsockopt(zmq.RCVTIMEO, TIMEOUT_MS)
        self.socket.connect(endpoint)
        self.next_id = 1

    def request(self, msg_type, payload=None, version=1):
        request_id = self.next_id
        self.next_id += 1
        envelope = {"v": version, "type": msg_type, "id": request_id}
        self.socket.send_multipart([json.dumps(envelope).encode(), json.dumps(payload or {}).encode()])
        return self.read(request_id)

    def read(self, request_id=None):
        while True:
            frames = self.socket.recv_multipart()
            assert len(frames) == 2, frames
            envelope, payload = json.loads(frames[0]), json.loads(frames[1])
            if request_id is None or envelope.get("id") == request_id:
                return envelope, payload

    def close(self):
        self.socket.close()


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
