#!/usr/bin/env python3
"""Request and settlement latency of an open devnet against a CurveZMQ-secured one, same machine,
same build, alternating. Usage: DEVNET_BIN_DIR=.build/release python3 Scripts/curve-latency.py [rounds]"""
import json, os, sys, time
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Tests", "python"))
import zmq
from devnet_harness import devnet, running_devnet_in_dir
from test_transactions import Account, thread_id, text, u32, u64, data, SEED

def dealer(endpoint, keys):
    s = zmq.Context.instance().socket(zmq.DEALER)
    s.setsockopt(zmq.LINGER, 0); s.setsockopt(zmq.RCVTIMEO, 10000)
    if keys:
        s.curve_secretkey, s.curve_publickey, s.curve_serverkey = (k.encode() for k in keys)
    s.connect(endpoint); return s

def call(s, i, t, p):
    s.send_multipart([json.dumps({"v": 1, "type": t, "id": i}).encode(), json.dumps(p).encode()])
    while True:
        e, body = (json.loads(f) for f in s.recv_multipart())
        if e.get("id") == i: return e, body

def pct(xs, q): xs = sorted(xs); return xs[min(len(xs) - 1, int(q * len(xs)))]

def measure(security, port):
    body = f"seed: {SEED}\nsecurity: {security}\nthreads:\n  - name: counter\n"
    with running_devnet_in_dir(body, first_port=port) as (procs, d):
        keys = None
        if security == "curve":
            c = json.loads(devnet("credentials", "--json", data_dir=d).stdout)
            keys = (c["member_secret_key"], c["member_public_key"], c["server_public_key"])
        t0 = time.perf_counter()
        s = dealer(procs["sequencer"]["endpoints"]["api"], keys); call(s, 0, "health", {})
        first = (time.perf_counter() - t0) * 1000
        rtt = []
        for i in range(1, 3001):
            t = time.perf_counter(); call(s, i, "health", {}); rtt.append((time.perf_counter() - t) * 1e6)
        s.close()
        carol = Account("carol", SEED); th = thread_id("counter")
        node = dealer(procs["node-counter"]["endpoints"]["api"], keys)
        _, n = call(node, 1, "nonce", {"address": carol.address}); nonce = n["nonce"]
        settle = []
        for k in range(300):
            signing = (text("zkthreads/thread-tx/v1") + u64(th) + data(carol.public) + u64(nonce) + text("increment") + u32(1) + u64(1))
            sig = carol.key.sign(signing)
            tx = {"thread_id": th, "sender_public_key": carol.public.hex(), "nonce": nonce, "entrypoint": "increment", "calldata": [1], "signature": sig.hex()}
            t = time.perf_counter()
            e, st = call(node, 10 + 2 * k, "submit", {"tx": tx}); assert e["status"] == "ok", st
            e, fin = call(node, 11 + 2 * k, "tx_status", {"tx_hash": st["tx_hash"], "wait_ms": 5000})
            assert fin["status"] == "settled", fin
            settle.append((time.perf_counter() - t) * 1000); nonce += 1
        node.close()
        return first, rtt, settle

rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 2
for r in range(rounds):
    for sec in ("none", "curve"):
        first, rtt, settle = measure(sec, 26000 if sec == "none" else 27000)
        print(f"round {r+1} {sec:5}: first reply {first:.1f} ms; health rtt p50 {pct(rtt,.5):.0f} us p99 {pct(rtt,.99):.0f} us; settle p50 {pct(settle,.5):.2f} ms p90 {pct(settle,.9):.2f} ms p99 {pct(settle,.99):.2f} ms", flush=True)
