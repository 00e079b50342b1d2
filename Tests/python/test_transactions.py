"""Signs and submits transactions from Python, following docs/protocol.md and docs/wire-protocol.md.

Keys, addresses, thread ids and signing bytes are computed here from the documented encodings,
with `cryptography`'s Ed25519 and `hashlib`; nothing comes from the Swift code. If the documents
and the daemons disagreed, the daemons would refuse these signatures.
"""
import hashlib
import json
import time
import struct

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from devnet_harness import Client, running_devnet

P = 2**64 - 2**32 + 1
SEED = 7


def u32(n):
    return struct.pack(">I", n)


def u64(n):
    return struct.pack(">Q", n)


def text(s):
    raw = s.encode()
    return u32(len(raw)) + raw


def data(b):
    return u32(len(b)) + b


def split_words(digest):
    return [int.from_bytes(digest[i:i + 8], "big") % P for i in range(0, 32, 8)]


class Account:
    def __init__(self, label, seed):
        secret = hashlib.sha256(text("zkthreads/devnet-account/v1") + text(label) + u64(seed)).digest()
        self.key = Ed25519PrivateKey.from_private_bytes(secret)
        self.public = self.key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        self.words = split_words(hashlib.sha256(self.public).digest())
        self.address = "0x" + "".join(f"{w:016x}" for w in self.words)


def thread_id(name):
    digest = hashlib.sha256(text("zkthreads/thread-id/v1") + text(name)).digest()
    return int.from_bytes(digest[:8], "big") % P


@pytest.fixture(scope="module")
def devnet():
    with running_devnet(f"seed: {SEED}\nthreads:\n  - name: counter\n", first_port=21000) as processes:
        yield processes


def test_accounts_match_the_documented_derivation(devnet):
    sequencer = Client(devnet["sequencer"]["endpoints"]["api"])
    for name in ("alice", "bob", "prover-counter-1"):
        _, info = sequencer.request("account", {"account": name})
        assert info["address"] == Account(name, SEED).address
    sequencer.close()


def test_a_signed_transfer_from_python_is_accepted(devnet):
    alice, bob = Account("alice", SEED), Account("bob", SEED)
    sequencer = Client(devnet["sequencer"]["endpoints"]["api"])
    _, before = sequencer.request("account", {"account": bob.address})
    _, sender = sequencer.request("account", {"account": "alice"})
    nonce, amount, max_fee = sender["next_nonce"], 777, 5000
    payload = bytes([1]) + b"".join(u64(w) for w in bob.words) + u64(amount)
    signing = text("zkthreads/l2-tx/v1") + data(alice.public) + u64(nonce) + u64(max_fee) + payload
    signature = alice.key.sign(signing)
    tx = {
        "sender_public_key": alice.public.hex(), "nonce": nonce, "max_fee": max_fee,
        "payload": {"type": "transfer", "to": bob.address, "amount": amount}, "signature": signature.hex(),
    }
    envelope, reply = sequencer.request("submit", {"tx": tx, "wait": True})
    assert envelope["status"] == "ok", reply
    assert reply["tx_hash"] == hashlib.sha256(signing + signature).hexdigest()
    assert reply["receipt"]["status"] == "accepted"
    _, after = sequencer.request("account", {"account": bob.address})
    assert after["balance"] == before["balance"] + amount

    # The same bytes with one changed amount no longer match the signature.
    tx["payload"]["amount"] = amount + 1
    tx["nonce"] = nonce + 1
    envelope, error = sequencer.request("submit", {"tx": tx})
    assert envelope["status"] == "error" and error["code"] == "BAD_SIGNATURE"
    sequencer.close()


def test_a_signed_thread_transaction_from_python_settles(devnet):
    carol = Account("carol", SEED)
    node = Client(devnet["node-counter"]["endpoints"]["api"])
    _, nonce = node.request("nonce", {"address": carol.address})
    thread, by = thread_id("counter"), 5
    signing = (text("zkthreads/thread-tx/v1") + u64(thread) + data(carol.public) + u64(nonce["nonce"])
               + text("increment") + u32(1) + u64(by))
    signature = carol.key.sign(signing)
    tx = {
        "thread_id": thread, "sender_public_key": carol.public.hex(), "nonce": nonce["nonce"],
        "entrypoint": "increment", "calldata": [by], "signature": signature.hex(),
    }
    envelope, status = node.request("submit", {"tx": tx})
    assert envelope["status"] == "ok", status
    tx_hash = hashlib.sha256(signing + signature).hexdigest()
    assert status["tx_hash"] == tx_hash
    _, final = node.request("tx_status", {"tx_hash": tx_hash, "wait_ms": 4000})
    assert final["status"] == "settled", final

    manager = Client(devnet["manager"]["endpoints"]["api"])
    envelope, view = manager.request("view", {"thread": "counter", "entrypoint": "get", "arguments": []})
    assert envelope["status"] == "ok", view
    assert view["values"] == [by]
    manager.close()

    # A prover (or anyone) changing the argument breaks the user's signature: refused.
    tx["calldata"] = [by + 1]
    tx["nonce"] = nonce["nonce"] + 1
    envelope, error = node.request("submit", {"tx": tx})
    assert envelope["status"] == "error" and error["code"] == "BAD_SIGNATURE"
    node.close()


def test_the_manager_serves_the_published_program(devnet):
    manager = Client(devnet["manager"]["endpoints"]["api"])
    _, summary = manager.request("thread", {"thread": "counter"})
    envelope, program = manager.request("program", {"thread": "counter"})
    assert envelope["status"] == "ok", program
    assert program["hash"] == summary["program_hash"]
    assert hashlib.sha256(bytes.fromhex(program["encoding"])).hexdigest() == program["hash"]
    assert ".entry increment" in program["disassembly"] and program["threads"] == ["counter"]
    envelope, same = manager.request("program", {"hash": program["hash"]})
    assert envelope["status"] == "ok" and same["encoding"] == program["encoding"]
    envelope, error = manager.request("program", {"hash": "00" * 32})
    assert envelope["status"] == "error" and error["code"] == "NOT_FOUND"
    envelope, error = manager.request("program", {})
    assert envelope["status"] == "error" and error["code"] == "BAD_PAYLOAD"
    manager.close()


def test_an_upgrade_by_another_account_is_refused_at_admission_and_costs_nothing(devnet):
    """Only the account that registered a thread may upgrade it; the sequencer asks the manager
    before it admits an upgrade, so a refused one is never charged."""
    alice = Account("alice", SEED)
    sequencer = Client(devnet["sequencer"]["endpoints"]["api"])
    manager = Client(devnet["manager"]["endpoints"]["api"])
    _, summary = manager.request("thread", {"thread": "counter"})
    assert summary["owner"] == Account("prover-counter-1", SEED).address
    _, before = sequencer.request("account", {"account": alice.address})
    nonce, max_fee = before["next_nonce"], 20000
    program_hash = bytes.fromhex(summary["program_hash"])
    payload = bytes([4]) + u64(thread_id("counter")) + program_hash + u32(0) + bytes([0])
    signing = text("zkthreads/l2-tx/v1") + data(alice.public) + u64(nonce) + u64(max_fee) + payload
    tx = {
        "sender_public_key": alice.public.hex(), "nonce": nonce, "max_fee": max_fee,
        "payload": {"type": "upgrade_thread",
                    "upgrade": {"thread_id": thread_id("counter"), "program_hash": summary["program_hash"]}},
        "signature": alice.key.sign(signing).hex(),
    }
    envelope, error = sequencer.request("submit", {"tx": tx})
    assert envelope["status"] == "error" and error["code"] == "NOT_OWNER", error
    assert "registered" in error["message"]
    _, after = sequencer.request("account", {"account": alice.address})
    assert after["balance"] == before["balance"] and after["next_nonce"] == nonce
    sequencer.close()
    manager.close()


def sign_increment(account, nonce, by):
    thread = thread_id("counter")
    signing = (text("zkthreads/thread-tx/v1") + u64(thread) + data(account.public) + u64(nonce)
               + text("increment") + u32(1) + u64(by))
    signature = account.key.sign(signing)
    tx = {
        "thread_id": thread, "sender_public_key": account.public.hex(), "nonce": nonce,
        "entrypoint": "increment", "calldata": [by], "signature": signature.hex(),
    }
    return tx, hashlib.sha256(signing + signature).hexdigest()


def test_a_batch_is_admitted_in_order_and_its_outcomes_arrive_as_tx_final_events(devnet):
    """`submit_batch` and the node's `tx_final` events, as docs/wire-protocol.md describes them:
    one request for many transactions, and no request per transaction to learn how each ended."""
    dave = Account("dave", SEED)
    node = Client(devnet["node-counter"]["endpoints"]["api"])
    _, first = node.request("events", {"from_seq": 1, "limit": 1000})
    _, nonce = node.request("nonce", {"address": dave.address})
    signed = [sign_increment(dave, nonce["nonce"] + i, 1) for i in range(5)]
    # The fourth carries a nonce already used in this batch: refused on its own, the rest go on.
    stale, stale_hash = sign_increment(dave, nonce["nonce"], 2)
    txs = [tx for tx, _ in signed[:3]] + [stale] + [tx for tx, _ in signed[3:]]
    envelope, reply = node.request("submit_batch", {"txs": txs})
    assert envelope["status"] == "ok", reply
    results = reply["results"]
    assert [r["tx_hash"] for r in results] == [h for _, h in signed[:3]] + [stale_hash] + [h for _, h in signed[3:]]
    assert results[3]["error"]["code"] == "WRONG_NONCE" and "status" not in results[3]
    admitted = [r for i, r in enumerate(results) if i != 3]
    assert all(r["status"]["status"] in ("pending", "sealed", "settled") and "error" not in r for r in admitted)

    # Follow the events (fetching from the API endpoint, as a subscriber fills a gap) until every
    # admitted transaction was reported final.
    wanted = {h for _, h in signed}
    finals = {}
    next_seq = first["last_seq"] + 1
    deadline = time.time() + 20
    while wanted - finals.keys() and time.time() < deadline:
        _, page = node.request("events", {"from_seq": next_seq, "limit": 1000})
        for event in page["events"]:
            next_seq = event["seq"] + 1
            if event["topic"] == "tx_final":
                for status in json.loads(event["payload"])["transactions"]:
                    finals[status["tx_hash"]] = status
        time.sleep(0.05)
    assert wanted <= finals.keys(), f"no tx_final for {wanted - finals.keys()}"
    assert all(finals[h]["status"] == "settled" and finals[h]["block"] >= 1 for h in wanted)
    assert stale_hash not in finals
    # The same transactions again get their (final) status, not a second admission.
    envelope, again = node.request("submit_batch", {"txs": [signed[0][0]]})
    assert again["results"][0]["status"]["status"] == "settled"
    envelope, error = node.request("submit_batch", {"txs": [signed[0][0]] * 1025})
    assert envelope["status"] == "error" and error["code"] == "BAD_PAYLOAD" and "1024" in error["message"]
    node.close()


def test_the_l2_history_pages_through_every_included_transaction(devnet):
    """`history` as docs/wire-protocol.md describes it: pages in inclusion order, each transaction
    with its receipt, and enough in it to redo the counter thread's arithmetic from genesis."""
    sequencer = Client(devnet["sequencer"]["endpoints"]["api"])
    entries, after, pages = [], 0, 0
    while True:
        envelope, page = sequencer.request("history", {"after": after, "limit": 2})
        assert envelope["status"] == "ok", page
        assert len(page["entries"]) <= 2
        entries += page["entries"]
        pages += 1
        if not page["more"]:
            break
        after = page["entries"][-1]["position"]
    assert pages > 1
    positions = [entry["position"] for entry in entries]
    assert positions == sorted(positions) and len(set(positions)) == len(positions)
    blocks = [(entry["receipt"]["block_number"], entry["receipt"]["index"]) for entry in entries]
    assert blocks == sorted(blocks)
    kinds = {entry["tx"]["payload"]["type"] for entry in entries}
    assert {"register_thread", "thread_update"} <= kinds, kinds
    # The counter's value is the sum of every increment in its accepted sub-blocks.
    total, sequences = 0, []
    for entry in entries:
        payload = entry["tx"]["payload"]
        if payload["type"] != "thread_update" or entry["receipt"]["status"] != "accepted":
            continue
        for sub_block in payload["bundle"]:
            sequences.append(sub_block["sequence"])
            total += sum(tx["calldata"][0] for tx in sub_block["transactions"] if tx["entrypoint"] == "increment")
        roots = [e for e in entry["receipt"]["events"] if e["kind"] == "sub_block_accepted"]
        assert roots and all(len(e["state_root"]) == 64 for e in roots)
    assert sequences == list(range(1, len(sequences) + 1))
    assert total > 0, "the module's earlier tests increment the counter"
    manager = Client(devnet["manager"]["endpoints"]["api"])
    _, view = manager.request("view", {"thread": "counter", "entrypoint": "get", "arguments": []})
    assert view["values"] == [total]
    manager.close()
    # Nothing after the last position; a limit out of range is refused with a reason.
    _, tail = sequencer.request("history", {"after": positions[-1]})
    assert tail == {"entries": [], "more": False}
    envelope, error = sequencer.request("history", {"limit": 0})
    assert envelope["status"] == "error" and error["code"] == "BAD_PAYLOAD" and "limit 0" in error["message"]
    sequencer.close()


def test_every_account_has_the_documented_ecgfp5_key():
    """The EcGFp5 key of OS version 2 thread transactions, derived as docs/protocol.md says and
    computed with this directory's own EcGFp5 (ecgfp5_schnorr.py), is what `devnet accounts
    --keys` shows."""
    import ecgfp5_schnorr as ec
    from devnet_harness import devnet as run_devnet, running_devnet_in_dir

    with running_devnet_in_dir(f"seed: {SEED}\nthreads:\n  - name: counter\n", first_port=27000) as (_, data_dir):
        listing = run_devnet("accounts", "--keys", data_dir=data_dir)
    assert listing.returncode == 0, listing.stderr
    rows = {line.split()[0]: line.split()[1:] for line in listing.stdout.splitlines()[1:] if line.strip()}
    for name in ("alice", "judy", "prover-counter-1"):
        seed = hashlib.sha256(text("zkthreads/devnet-account-ecgfp5/v1") + text(name) + u64(SEED)).digest()
        _, _, public = ec.keypair(seed)
        assert rows[name] == [Account(name, SEED).public.hex(), ec.word_bytes(public).hex()], name
