"""A thread node reports only what happened, on real processes: a nonce reused on a node that did
not see another prover move the thread never settles; a paused node with full sub-blocks still
answers every submit; a prover that cannot pay keeps its transactions, says why, and goes on by
itself once funded. Requests are built from docs/protocol.md, as in test_transactions.py."""
import json
import time

import pytest

from devnet_harness import Client, devnet, running_devnet_in_dir
from test_transactions import Account, data, text, thread_id, u32, u64

SEED = 11


def increment(account, nonce, by):
    """A signed `counter.increment(by)` and its hash."""
    import hashlib

    signing = (text("zkthreads/thread-tx/v1") + u64(thread_id("counter")) + data(account.public) + u64(nonce)
               + text("increment") + u32(1) + u64(by))
    signature = account.key.sign(signing)
    tx = {
        "thread_id": thread_id("counter"), "sender_public_key": account.public.hex(), "nonce": nonce,
        "entrypoint": "increment", "calldata": [by], "signature": signature.hex(),
    }
    return tx, hashlib.sha256(signing + signature).hexdigest()


def transfer(sequencer, sender, to_address, amount, max_fee=1500):
    """Signs and submits an L2 fee-token transfer; returns the reply envelope and body."""
    _, info = sequencer.request("account", {"account": sender.address})
    nonce = info["next_nonce"]
    payload = bytes([1]) + b"".join(u64(int(to_address[2 + 16 * i:2 + 16 * (i + 1)], 16)) for i in range(4)) + u64(amount)
    signing = text("zkthreads/l2-tx/v1") + data(sender.public) + u64(nonce) + u64(max_fee) + payload
    tx = {
        "sender_public_key": sender.public.hex(), "nonce": nonce, "max_fee": max_fee,
        "payload": {"type": "transfer", "to": to_address, "amount": amount},
        "signature": sender.key.sign(signing).hex(),
    }
    return sequencer.request("submit", {"tx": tx, "wait": True})


def until(predicate, seconds=20.0):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    return predicate()


@pytest.fixture(scope="module")
def net():
    config = f"seed: {SEED}\nfault_hooks: true\nthreads:\n  - name: counter\n    max_sub_block: 1\n"
    with running_devnet_in_dir(config, first_port=22000) as (processes, data_dir):
        attach = devnet("attach", "counter", data_dir=data_dir)
        assert attach.returncode == 0, attach.stderr
        status = devnet("status", "--json", data_dir=data_dir)
        processes = {p["name"]: p for p in json.loads(status.stdout)}
        processes["_data_dir"] = data_dir
        yield processes


def api(net, name):
    return Client(net[name]["endpoints"]["api"])


def test_a_nonce_reused_on_a_stale_prover_never_settles(net):
    alice = Account("alice", SEED)
    first, second = api(net, "node-counter"), api(net, "node-counter-2")
    _, nonce = second.request("nonce", {"address": alice.address})
    tx, settled_hash = increment(alice, nonce["nonce"], 1)
    envelope, reply = second.request("submit", {"tx": tx})
    assert envelope["status"] == "ok", reply
    _, final = second.request("tx_status", {"tx_hash": settled_hash, "wait_ms": 4000})
    assert final["status"] == "settled" and final["l2_tx_hash"] and final["block"], final

    # The other node is offered a different transaction with the nonce just used.
    reused, reused_hash = increment(alice, nonce["nonce"], 2)
    envelope, reply = first.request("submit", {"tx": reused})
    if envelope["status"] == "error":
        assert reply["code"] == "WRONG_NONCE", reply
    else:
        _, final = first.request("tx_status", {"tx_hash": reused_hash, "wait_ms": 4500})
        assert final["status"] == "failed" and final["code"] == "WRONG_NONCE", final
    # And its nonce answer is the canonical one.
    _, answer = first.request("nonce", {"address": alice.address})
    assert answer["nonce"] == nonce["nonce"] + 1
    first.close()
    second.close()


def test_a_paused_node_with_full_sub_blocks_answers_every_submit(net):
    bob = Account("bob", SEED)
    node, admin = api(net, "node-counter"), Client(net["node-counter"]["endpoints"]["admin"])
    envelope, info = admin.request("pause")
    assert envelope["status"] == "ok", info
    _, nonce = node.request("nonce", {"address": bob.address})
    hashes = []
    for i in range(6):
        tx, tx_hash = increment(bob, nonce["nonce"] + i, 1)
        envelope, reply = node.request("submit", {"tx": tx})  # the client gives up after 5 s
        assert envelope["status"] == "ok" and reply["status"] == "pending", reply
        hashes.append(tx_hash)
    _, info = node.request("node_info")
    assert info["paused"] and info["pending"] >= 6 and info["waiting"], info
    admin.request("resume")
    for tx_hash in hashes:
        _, final = node.request("tx_status", {"tx_hash": tx_hash, "wait_ms": 4500})
        if final["status"] != "settled":
            _, final = node.request("tx_status", {"tx_hash": tx_hash, "wait_ms": 4500})
        assert final["status"] == "settled", final
    node.close()
    admin.close()


def test_a_prover_that_cannot_pay_says_so_and_resumes_once_funded(net):
    carol, alice, prover = Account("carol", SEED), Account("alice", SEED), Account("prover-counter-1", SEED)
    sequencer, node = api(net, "sequencer"), api(net, "node-counter")
    _, info = sequencer.request("account", {"account": prover.address})
    envelope, reply = transfer(sequencer, prover, alice.address, info["balance"] - 1500)
    assert envelope["status"] == "ok" and reply["receipt"]["status"] == "accepted", reply

    _, nonce = node.request("nonce", {"address": carol.address})
    tx, tx_hash = increment(carol, nonce["nonce"], 3)
    envelope, reply = node.request("submit", {"tx": tx})
    assert envelope["status"] == "ok", reply
    stuck = until(lambda: node.request("node_info")[1].get("waiting"))
    assert stuck and "INSUFFICIENT_BALANCE" in stuck and "prover-counter-1" in stuck, stuck
    _, status = node.request("tx_status", {"tx_hash": tx_hash})
    assert status["status"] == "pending" and "INSUFFICIENT_BALANCE" in status["waiting"], status

    envelope, reply = transfer(sequencer, alice, prover.address, 1_000_000)
    assert envelope["status"] == "ok" and reply["receipt"]["status"] == "accepted", reply
    final = until(lambda: (lambda s: s if s["status"] == "settled" else None)(
        node.request("tx_status", {"tx_hash": tx_hash, "wait_ms": 1000})[1]))
    assert final and final["status"] == "settled", final
    assert node.request("node_info")[1].get("waiting") is None
    sequencer.close()
    node.close()


def test_strict_hashes_waits_and_codes(net):
    sequencer, manager = api(net, "sequencer"), api(net, "manager")
    envelope, error = sequencer.request("receipt", {"tx_hash": "xyz"})
    assert envelope["status"] == "error" and error["code"] == "BAD_PAYLOAD" and "tx_hash" in error["message"]
    envelope, error = sequencer.request("receipt", {"tx_hash": "ab" * 32, "wait_ms": -1})
    assert envelope["status"] == "error" and error["code"] == "BAD_PAYLOAD" and "wait_ms" in error["message"]
    envelope, error = manager.request("view", {"thread": "nope", "entrypoint": "get", "arguments": []})
    assert envelope["status"] == "error" and error["code"] == "UNKNOWN_THREAD", error
    _, prover = sequencer.request("account", {"account": "prover-counter-2"})
    assert prover["public_key"] == Account("prover-counter-2", SEED).public.hex()
    _, listed = sequencer.request("accounts")
    provers = [a for a in listed["accounts"] if (a.get("name") or "").startswith("prover-")]
    assert provers and all(a.get("public_key") for a in provers), provers
    sequencer.close()
    manager.close()


def test_a_restarted_node_reports_syncing_until_it_has_synced(net):
    """With the manager frozen, a restarted node cannot sync: it says so in `health` and answers
    no nonce from stale state; once the manager runs again, it syncs and reports healthy."""
    import os
    import signal
    import subprocess

    from devnet_harness import DEVNET

    manager_pid = net["manager"]["pid"]
    node = net["node-counter"]
    os.kill(node["pid"], signal.SIGKILL)
    os.kill(manager_pid, signal.SIGSTOP)
    try:
        restart = subprocess.Popen([DEVNET, "restart", "node-counter", "--data-dir", net["_data_dir"]],
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        admin = Client(node["endpoints"]["admin"])

        def syncing():
            try:
                envelope, health = admin.request("health")
            except Exception:
                return None
            return health if health.get("status") == "syncing" else None

        health = until(syncing, seconds=20)
        assert health and health["detail"], health
        assert restart.poll() is None  # restart waits for a healthy node
    finally:
        os.kill(manager_pid, signal.SIGCONT)
    out, err = restart.communicate(timeout=60)
    assert restart.returncode == 0, err
    envelope, health = admin.request("health")
    assert health["status"] == "healthy", health
    # Its counts cover what settled before the restart too.
    node_api = api(net, "node-counter")
    _, info = node_api.request("node_info")
    assert info["settled"] >= 6 and info["failed"] >= 0, info
    node_api.close()
    admin.close()


def test_a_receipt_pending_when_the_sequencer_restarts_is_asked_again_at_once():
    """With on-demand blocks, a node's sub-block waits on L2 for a block. The sequencer is killed
    and restarted meanwhile: the node asks for the receipt again within seconds, not after its
    earlier wait would have timed out."""
    import os
    import signal

    dave = Account("dave", SEED)
    config = f"seed: {SEED}\nsequencer:\n  block_mode: on_demand\nthreads:\n  - name: counter\n"
    with running_devnet_in_dir(config, first_port=23000) as (processes, data_dir):
        sequencer = api(processes, "sequencer")
        node = api(processes, "node-counter")
        admin = Client(processes["node-counter"]["endpoints"]["admin"])

        def registered():
            sequencer.request("mine")
            return admin.request("health")[1]["status"] == "healthy"

        assert until(registered), "the counter thread never registered"
        _, nonce = node.request("nonce", {"address": dave.address})
        tx, tx_hash = increment(dave, nonce["nonce"], 4)
        envelope, reply = node.request("submit", {"tx": tx})
        assert envelope["status"] == "ok", reply
        sealed = until(lambda: node.request("tx_status", {"tx_hash": tx_hash})[1]["status"] == "sealed")
        assert sealed
        sequencer.close()

        os.kill(processes["sequencer"]["pid"], signal.SIGKILL)
        restart = devnet("restart", "sequencer", data_dir=data_dir)
        assert restart.returncode == 0, restart.stderr
        sequencer = api(processes, "sequencer")
        envelope, mined = sequencer.request("mine")
        assert envelope["status"] == "ok", mined
        _, final = node.request("tx_status", {"tx_hash": tx_hash, "wait_ms": 4500})
        if final["status"] != "settled":
            _, final = node.request("tx_status", {"tx_hash": tx_hash, "wait_ms": 4500})
        assert final["status"] == "settled", final
        for client in (sequencer, node, admin):
            client.close()
