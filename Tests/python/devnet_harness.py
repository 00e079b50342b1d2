"""Starts a devnet with the built `devnet` executable (DEVNET_BIN_DIR, default .build/debug) for a
test module, and a DEALER client that speaks wire protocol v1 as docs/wire-protocol.md describes."""
import contextlib
import json
import os
import random
import subprocess
import tempfile

import zmq

BIN = os.environ.get("DEVNET_BIN_DIR", os.path.join(os.path.dirname(__file__), "..", "..", ".build", "debug"))
DEVNET = os.path.join(BIN, "devnet")
TIMEOUT_MS = int(5000 * float(os.environ.get("DEVNET_TEST_TIMEOUT_SCALE", "1")))


def devnet(*args, data_dir):
    return subprocess.run([DEVNET, *args, "--data-dir", data_dir], capture_output=True, text=True, timeout=120)


@contextlib.contextmanager
def running_devnet(config_body, first_port):
    """Yields {name: process} of a devnet started from `config_body` (YAML without base_port)."""
    with running_devnet_in_dir(config_body, first_port) as (processes, _):
        yield processes


@contextlib.contextmanager
def running_devnet_in_dir(config_body, first_port):
    """Yields ({name: process}, data_dir) of a devnet started from `config_body`."""
    data_dir = tempfile.mkdtemp(prefix="devnet-py-")
    base_port = first_port + random.randrange(0, 250) * 30
    config = os.path.join(data_dir, "devnet.yaml")
    with open(config, "w") as f:
        f.write(f"base_port: {base_port}\n{config_body}")
    up = devnet("up", config, data_dir=data_dir)
    assert up.returncode == 0, up.stderr
    try:
        status = devnet("status", "--json", data_dir=data_dir)
        assert status.returncode == 0, status.stderr
        yield {p["name"]: p for p in json.loads(status.stdout)}, data_dir
    finally:
        down = devnet("down", data_dir=data_dir)
        assert down.returncode == 0, down.stderr


class Client:
    """A DEALER socket that sends [envelope, payload] and reads the reply with the same id."""

    def __init__(self, endpoint):
        self.socket = zmq.Context.instance().socket(zmq.DEALER)
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
