"""A client in another language talks to a devnet secured with CurveZMQ, using only pyzmq.

It follows docs/wire-protocol.md (Security): the three keys `devnet credentials --json` prints go
into pyzmq's curve_secretkey, curve_publickey and curve_serverkey. Without them, or with keys the
devnet does not list, nothing comes back.
"""
import json

import pytest
import zmq

from devnet_harness import TIMEOUT_MS, devnet, running_devnet_in_dir

# How long a client without the right keys waits to be sure nothing comes.
REFUSED_WAIT_MS = 1000


@pytest.fixture(scope="module")
def secured():
    with running_devnet_in_dir("security: curve\nthreads:\n  - name: counter\n", first_port=24000) as (
        processes,
        data_dir,
    ):
        printed = devnet("credentials", "--json", data_dir=data_dir)
        assert printed.returncode == 0, printed.stderr
        yield processes, json.loads(printed.stdout), data_dir


def dealer(endpoint, keys=None, timeout_ms=TIMEOUT_MS):
    """A DEALER socket, with CURVE client keys when given: (secret, public, server)."""
    sock = zmq.Context.instance().socket(zmq.DEALER)
    sock.setsockopt(zmq.LINGER, 0)
    sock.setsockopt(zmq.RCVTIMEO, timeout_ms)
    if keys is not None:
        secret, public, server = keys
        sock.curve_secretkey = secret.encode()
        sock.curve_publickey = public.encode()
        sock.curve_serverkey = server.encode()
    sock.connect(endpoint)
    return sock


def health(sock):
    """Sends `health` and returns the reply's (envelope, payload), or None if nothing comes in time."""
    sock.send_multipart([json.dumps({"v": 1, "type": "health", "id": 1}).encode(), b"{}"])
    try:
        frames = sock.recv_multipart()
    except zmq.Again:
        return None
    return json.loads(frames[0]), json.loads(frames[1])


def member_keys(credentials):
    return credentials["member_secret_key"], credentials["member_public_key"], credentials["server_public_key"]


def test_credentials_name_the_keys_and_the_endpoints(secured):
    processes, credentials, data_dir = secured
    assert credentials["security"] == "curve"
    for field in ("server_public_key", "member_public_key", "member_secret_key", "admin_public_key"):
        assert len(credentials[field]) == 40, field
    assert "admin_secret_key" not in credentials
    assert credentials["endpoints"]["sequencer"]["api"] == processes["sequencer"]["endpoints"]["api"]
    status = devnet("status", data_dir=data_dir)
    assert "security: CurveZMQ" in status.stdout


def test_a_client_with_the_credentials_gets_replies(secured):
    processes, credentials, _ = secured
    for name, process in processes.items():
        sock = dealer(process["endpoints"]["api"], member_keys(credentials))
        reply = health(sock)
        sock.close()
        assert reply is not None, f"no reply from {name}"
        envelope, payload = reply
        assert envelope["status"] == "ok" and payload["name"] == name


def test_a_client_without_the_credentials_gets_nothing(secured):
    processes, credentials, _ = secured
    api = processes["sequencer"]["endpoints"]["api"]
    # No keys at all.
    sock = dealer(api, timeout_ms=REFUSED_WAIT_MS)
    assert health(sock) is None
    sock.close()
    # A key pair of its own, with the devnet's (public) server key.
    public, secret = zmq.curve_keypair()
    sock = dealer(
        api, (secret.decode(), public.decode(), credentials["server_public_key"]), timeout_ms=REFUSED_WAIT_MS
    )
    assert health(sock) is None
    sock.close()


def test_the_admin_endpoint_refuses_the_member_key(secured):
    processes, credentials, _ = secured
    sock = dealer(processes["sequencer"]["endpoints"]["admin"], member_keys(credentials), timeout_ms=REFUSED_WAIT_MS)
    assert health(sock) is None
    sock.close()


def test_gap_fetches_work_over_curve(secured):
    processes, credentials, _ = secured
    sock = dealer(processes["sequencer"]["endpoints"]["api"], member_keys(credentials))
    sock.send_multipart([json.dumps({"v": 1, "type": "events", "id": 2}).encode(), b'{"from_seq": 1}'])
    envelope, payload = (json.loads(frame) for frame in sock.recv_multipart())
    sock.close()
    assert envelope["status"] == "ok"
    assert payload["last_seq"] >= 1, "the counter thread's registration made blocks"
    assert payload["events"][0]["seq"] == 1
