"""A thread node's answers while the manager it reads other threads through does not answer.

Written from docs/wire-protocol.md: a transaction that reads another thread needs that thread's
canonical values from the manager at admission. With the manager stopped (SIGSTOP), every such
submission must get either a status or the retryable `NOT_READY`, never an error about the node's
own connections, and after the manager resumes the same transactions are admitted and settle.
"""
import os
import signal
import threading

import zmq

from devnet_harness import Client, running_devnet
from test_transactions import Account, data, text, thread_id, u32, u64

SEED = 11


def signed_unlock(account, nonce, kart, level):
    thread = thread_id("karts")
    signing = (text("zkthreads/thread-tx/v1") + u64(thread) + data(account.public) + u64(nonce)
               + text("unlock_kart") + u32(2) + u64(kart) + u64(level))
    return {
        "thread_id": thread, "sender_public_key": account.public.hex(), "nonce": nonce,
        "entrypoint": "unlock_kart", "calldata": [kart, level], "signature": account.key.sign(signing).hex(),
    }


def test_cross_thread_submissions_with_the_manager_stopped_get_not_ready_then_settle():
    config = f"seed: {SEED}\nthreads:\n  - name: achievements\n  - name: karts\n"
    with running_devnet(config, first_port=24000) as devnet:
        users = [Account(name, SEED) for name in ("alice", "bob", "carol", "dave")]
        txs = [signed_unlock(user, 0, kart=1, level=1) for user in users]
        endpoint = devnet["node-karts"]["endpoints"]["api"]
        manager_pid = devnet["manager"]["pid"]
        replies = [None] * len(txs)

        def submit(index):
            client = Client(endpoint)
            # The node waits for the stopped manager (5 s) before it answers.
            client.socket.setsockopt(zmq.RCVTIMEO, 20000)
            replies[index] = client.request("submit", {"tx": txs[index]})
            client.close()

        os.kill(manager_pid, signal.SIGSTOP)
        try:
            workers = [threading.Thread(target=submit, args=(i,)) for i in range(len(txs))]
            for worker in workers:
                worker.start()
            for worker in workers:
                worker.join()
        finally:
            os.kill(manager_pid, signal.SIGCONT)
        for envelope, reply in replies:
            if envelope["status"] == "error":
                assert reply["code"] == "NOT_READY", reply
                assert "try again shortly" in reply["message"]

        # The manager is back: the same transactions are admitted and end final (each unlock fails
        # in its call, since nobody completed level 1).
        node = Client(endpoint)
        for tx in txs:
            envelope, status = node.request("submit", {"tx": tx})
            assert envelope["status"] == "ok", status
            _, final = node.request("tx_status", {"tx_hash": status["tx_hash"], "wait_ms": 10000})
            assert final["status"] == "failed" and final["code"] == "EXECUTION_FAILED", final
            assert "level not completed" in final["reason"], final
        node.close()
