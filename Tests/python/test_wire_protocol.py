"""A client in another language speaks wire protocol v1 to real daemons, using only pyzmq.

Nothing here knows Swift: it follows docs/wire-protocol.md. The devnet is started with the built
`devnet` executable (DEVNET_BIN_DIR, default .build/debug).
"""
import json
import os
import random
import re
import socket
import struct
import tempfile
import time
import urllib.error
import urllib.request

import pytest
import zmq

from devnet_harness import TIMEOUT_MS, Client, devnet
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


def test_loose_envelopes_and_payloads_are_refused(running_devnet):
    client = Client(running_devnet["sequencer"]["endpoints"]["admin"])
    for envelope in (
        {"v": 1, "type": "health", "id": None},
        {"v": 1, "type": "health", "id": "7"},
        {"v": 1, "type": "health", "id": -7},
        {"v": 1, "type": "health", "id": 7.5},
        {"v": 1, "type": "health", "id": 2**64},
        {"v": 1, "type": "health"},
        {"v": 1, "type": "health", "id": {"v": 1, "type": "health", "id": 7}},
        {"v": 1, "type": "health", "id": 7, "payload": {}},
        {"v": "1", "type": "health", "id": 7},
        {"v": 1, "type": ["health"], "id": 7},
    ):
        client.socket.send_multipart([json.dumps(envelope).encode(), b"{}"])
        reply, error = client.read()
        assert reply["status"] == "error", envelope
        assert error["code"] == "BAD_ENVELOPE", (envelope, error)
        if not isinstance(envelope.get("id"), int) or isinstance(envelope.get("id"), bool) or envelope["id"] < 0:
            assert "id" not in reply, (envelope, reply)
    for payload in (b"[]", b"5", b'"x"', b"null", b"{} {}"):
        client.socket.send_multipart([json.dumps({"v": 1, "type": "health", "id": 900}).encode(), payload])
        reply, error = client.read(900)
        assert reply["status"] == "error" and error["code"] == "BAD_PAYLOAD", (payload, error)
    client.socket.send_multipart([json.dumps({"v": 1, "type": "health", "id": 901}).encode(), b""])
    reply, health = client.read(901)
    assert reply["status"] == "ok" and health["status"] == "healthy"
    client.close()


def memory_kb(pid, field):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise AssertionError(f"no {field} for pid {pid}")


def timed_health(endpoint):
    client = Client(endpoint)
    started = time.monotonic()
    envelope, health = client.request("health")
    elapsed = time.monotonic() - started
    client.close()
    assert envelope["status"] == "ok" and health["status"] == "healthy"
    return elapsed


def connect_tcp(endpoint):
    """A plain TCP connection. An events endpoint flooded with subscriptions closes now and then
    to drop them (and binds again within milliseconds), so a refused connection is tried again."""
    host, port = endpoint[len("tcp://"):].rsplit(":", 1)
    deadline = time.monotonic() + TIMEOUT_MS / 1000
    while True:
        try:
            return socket.create_connection((host, int(port)), timeout=TIMEOUT_MS / 1000)
        except ConnectionRefusedError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.01)


def subscribe_raw(endpoint, prefix):
    """Sends one subscription as a SUB socket would, speaking ZMTP 3.0 by hand (a libzmq SUB
    socket keeps its own subscriptions in a recursive tree that a huge one overflows). Returns
    whether the whole subscription could be sent before the peer hung up."""
    connection = connect_tcp(endpoint)
    try:
        greeting = b"\xff" + b"\x00" * 8 + b"\x7f" + bytes([3, 0]) + b"NULL".ljust(20, b"\x00") + b"\x00" * 32
        connection.sendall(greeting)
        received = b""
        while len(received) < 64:
            chunk = connection.recv(64 - len(received))
            assert chunk, "the events endpoint closed the connection during the greeting"
            received += chunk
        ready = b"\x05READY" + bytes([len(b"Socket-Type")]) + b"Socket-Type" + struct.pack(">I", 3) + b"SUB"
        connection.sendall(bytes([0x04, len(ready)]) + ready)
        body = b"\x01" + prefix
        connection.sendall(bytes([0x02]) + struct.pack(">Q", len(body)) + body)
        # The peer may hang up only after the last byte arrived; give it a moment to say so.
        connection.settimeout(1)
        try:
            while connection.recv(65536):
                pass
            return False
        except socket.timeout:
            return True
    except (BrokenPipeError, ConnectionResetError):
        return False
    finally:
        connection.close()


def received_event(subscriber, topic, mine, timeout):
    """Asks for blocks (`mine`) until `subscriber` receives an event of `topic`: a subscriber
    that was dropped reconnects on its own, and only then sees new events."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        mine()
        while subscriber.poll(200):
            frames = subscriber.recv_multipart()
            if frames[0] == topic:
                return json.loads(frames[1])
    return None


def test_a_flood_of_subscriptions_leaves_the_events_endpoint_bounded(running_devnet):
    process = running_devnet["sequencer"]
    endpoints = process["endpoints"]
    context = zmq.Context()
    # A subscriber that plays by the rules, connected before the flood and left alone throughout.
    loyal = context.socket(zmq.SUB)
    loyal.setsockopt(zmq.LINGER, 0)
    loyal.setsockopt(zmq.SUBSCRIBE, b"")
    loyal.connect(endpoints["events"])
    rss_before = memory_kb(process["pid"], "VmRSS")
    flood = []
    try:
        # 100,000 distinct subscriptions of 60 bytes (the limit is 64) over four connections.
        # Unbounded, the daemon keeps every one in a tree with a node per byte: hundreds of MB.
        for _ in range(4):
            sub = context.socket(zmq.SUB)
            sub.setsockopt(zmq.LINGER, 0)
            sub.setsockopt(zmq.SNDHWM, 0)  # or libzmq sends only the first 1000 on connect
            for _ in range(25_000):
                sub.setsockopt(zmq.SUBSCRIBE, os.urandom(60))
            sub.connect(endpoints["events"])
            flood.append(sub)
        # Give the subscriptions time to arrive, and the daemon to answer while they do. A SUB
        # socket sends its subscriptions again when it reconnects, but only once it is used:
        # polling the flood keeps it coming back, as a determined peer would.
        deadline = time.monotonic() + 8
        while time.monotonic() < deadline:
            assert timed_health(endpoints["admin"]) < 5
            for _ in range(10):
                for sub in flood:
                    sub.poll(0)
                time.sleep(0.05)
        assert timed_health(endpoints["api"]) < 5
        growth_mb = (memory_kb(process["pid"], "VmHWM") - rss_before) / 1024
        assert growth_mb < 100, f"the daemon grew by {growth_mb:.0f} MB under a flood of subscriptions"

        for sub in flood:
            sub.close(linger=0)
        flood = []
        # Normal subscribers get events again: the one that was there all along (dropped with the
        # flood, it reconnected by itself) and a new one.
        client = Client(endpoints["api"])
        mine = lambda: client.request("mine")
        fresh = context.socket(zmq.SUB)
        fresh.setsockopt(zmq.LINGER, 0)
        fresh.setsockopt(zmq.SUBSCRIBE, b"block")
        fresh.connect(endpoints["events"])
        flood.append(fresh)
        for subscriber in (loyal, fresh):
            assert received_event(subscriber, b"block", mine, 4 * TIMEOUT_MS / 1000) is not None
        client.close()

        # Dropping the subscribers is logged with the count, a line per drop, not per subscription.
        with open(process["log"]) as f:
            drops = [line for line in f if "distinct subscriptions" in line]
        assert drops and len(drops) < 1000, drops[:3]
        assert re.search(r"\d+ distinct subscriptions", drops[0]), drops[0]
    finally:
        for sock in flood + [loyal]:
            sock.close(linger=0)
        context.term()


def test_a_flood_on_every_endpoint_leaves_the_daemon_answering(running_devnet):
    process = running_devnet["manager"]
    endpoints = process["endpoints"]
    context = zmq.Context()
    flood = []
    try:
        # One enormous subscription, and thousands of random ones, on the events endpoint.
        assert not subscribe_raw(endpoints["events"], b"x" * (50 * 1024 * 1024)), "a 50 MiB subscription was read"
        for _ in range(8):
            sub = context.socket(zmq.SUB)
            for _ in range(500):
                sub.setsockopt(zmq.SUBSCRIBE, os.urandom(random.randrange(1, 200)))
            sub.connect(endpoints["events"])
            flood.append(sub)
        # Connections that speak no ZeroMQ at all.
        garbage = []
        for n in range(1000):
            connection = connect_tcp(endpoints[("events", "api", "admin")[n % 3]])
            connection.sendall(os.urandom(64))
            garbage.append(connection)
        # Peers that send requests and never read a reply.
        for _ in range(20):
            dealer = context.socket(zmq.DEALER)
            dealer.setsockopt(zmq.SNDHWM, 0)
            dealer.connect(endpoints["api"])
            for n in range(1000):
                envelope = json.dumps({"v": 1, "type": "events", "id": n}).encode()
                dealer.send_multipart([envelope, b'{"from_seq": 1}'])
            flood.append(dealer)
        time.sleep(1)

        # Generous bounds: the machine is shared and noisy; before the limits this took 15 s
        # or more, and gigabytes.
        for _ in range(3):
            assert timed_health(endpoints["admin"]) < 5
            assert timed_health(endpoints["api"]) < 5
        assert memory_kb(process["pid"], "VmHWM") < 500 * 1024

        # A subscriber that plays by the rules still gets events.
        client = Client(endpoints["api"])
        envelope, events = client.request("events", {"from_seq": 1, "limit": 1})
        assert envelope["status"] == "ok"
        client.close()

        # And it stops at once when asked, flood or not.
        client = Client(endpoints["admin"])
        envelope, reply = client.request("shutdown")
        assert reply == {"stopping": True}
        client.close()
        deadline = time.time() + 5 * TIMEOUT_MS / 5000
        while time.time() < deadline and running(process["pid"]):
            time.sleep(0.02)
        assert not running(process["pid"])
        for connection in garbage:
            connection.close()
    finally:
        for sock in flood:
            sock.close(linger=0)
        context.term()


def scrape(url):
    with urllib.request.urlopen(url, timeout=5) as response:
        assert response.status == 200
        assert response.headers["Content-Type"].startswith("text/plain; version=0.0.4")
        return response.read().decode()


def sample(text, name, **labels):
    """The value of one sample in Prometheus text format, or None."""
    for line in text.splitlines():
        if line.startswith("#") or not line.startswith(name):
            continue
        series, value = line.rsplit(" ", 1)
        if series.split("{")[0] != name:
            continue
        found = dict(re.findall(r'(\w+)="([^"]*)"', series))
        if all(found.get(k) == v for k, v in labels.items()):
            return float(value)
    return None


def test_metrics_port_serves_prometheus_text_on_each_daemon():
    data_dir = tempfile.mkdtemp(prefix="devnet-py-")
    base = 26500 + random.randrange(0, 100) * 10
    config = os.path.join(data_dir, "devnet.yaml")
    with open(config, "w") as f:
        f.write(f"base_port: {base}\nmetrics_port: {base + 5000}\nthreads:\n  - name: counter\n")
    up = devnet("up", config, data_dir=data_dir)
    assert up.returncode == 0, up.stderr
    assert "METRICS" in up.stdout and f"http://127.0.0.1:{base + 5000}/metrics" in up.stdout
    try:
        status = json.loads(devnet("status", "--json", data_dir=data_dir).stdout)
        urls = {p["name"]: p["endpoints"]["metrics"] for p in status}
        assert urls == {
            "sequencer": f"http://127.0.0.1:{base + 5000}/metrics",
            "manager": f"http://127.0.0.1:{base + 5001}/metrics",
            "node-counter": f"http://127.0.0.1:{base + 5002}/metrics",
        }
        # One thread transaction, sent and settled through the CLI.
        sent = devnet("send", "counter", "increment", "5", "--from", "alice", data_dir=data_dir)
        assert sent.returncode == 0, sent.stderr + sent.stdout
        node = scrape(urls["node-counter"])
        assert sample(node, "zkdevnet_thread_transactions_admitted_total") >= 1
        assert sample(node, "zkdevnet_thread_transactions_final_total", status="settled") >= 1
        assert sample(node, "zkdevnet_settlement_latency_seconds_count") >= 1
        assert sample(node, "zkdevnet_prove_seconds_count", proof_system="reexec") >= 1
        assert sample(node, "zkdevnet_db_commit_seconds_count") >= 1
        manager = scrape(urls["manager"])
        assert sample(manager, "zkdevnet_sub_blocks_total", outcome="accepted", reason="none") >= 1
        assert sample(manager, "zkdevnet_thread_transactions_settled_total") >= 1
        assert sample(manager, "zkdevnet_proof_verify_seconds_count", proof_system="reexec") >= 1
        sequencer = scrape(urls["sequencer"])
        assert sample(sequencer, "zkdevnet_l2_transactions_admitted_total", kind="thread_update") >= 1
        assert sample(sequencer, "zkdevnet_fees_charged_total") > 0
        assert sample(sequencer, "zkdevnet_blocks_total") >= 1
        # A refused transfer shows under its reason.
        refused = devnet("transfer", "--from", "alice", "--to", "bob", "1", "--max-fee", "1", data_dir=data_dir)
        assert refused.returncode != 0 and "FEE" in (refused.stderr + refused.stdout).upper()
        rejected = re.findall(r'zkdevnet_l2_transactions_rejected_total\{reason="([A-Z_]+)"\} 1', scrape(urls["sequencer"]))
        assert len(rejected) == 1 and "FEE" in rejected[0], rejected
        # Other paths and non-HTTP bytes get errors, and the endpoint keeps serving.
        with pytest.raises(urllib.error.HTTPError) as missing:
            urllib.request.urlopen(urls["manager"].replace("/metrics", "/other"), timeout=5)
        assert missing.value.code == 404
        with socket.create_connection(("127.0.0.1", base + 5001), timeout=5) as raw:
            raw.sendall(b"\x00\xffgarbage\r\n\r\n")
            assert raw.recv(100).startswith(b"HTTP/1.1 400")
        assert sample(scrape(urls["manager"]), "zkdevnet_thread_transactions_settled_total") >= 1
    finally:
        down = devnet("down", data_dir=data_dir)
        assert down.returncode == 0, down.stderr
