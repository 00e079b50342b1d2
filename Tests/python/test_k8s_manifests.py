"""`devnet k8s render`: the manifests checked offline against the Kubernetes API schemas
(kubernetes-validate, which bundles them), the image layout the manifests assume checked
against the Containerfile and the package, and the pods' commands run here as processes: each
daemon started exactly as its StatefulSet says, from the topology in the ConfigMap and the
credentials in the Secret, with the Services' DNS names resolved to this machine, until every
readiness probe passes; and a node rendered with --join joining a devnet started by `devnet up`.

Nothing here talks to a cluster; running on a real one is not tested (docs/deploy.md)."""
import base64
import copy
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time

import pytest

from devnet_harness import BIN, DEVNET

REPO = os.path.normpath(os.path.join(os.path.dirname(__file__), "..", ".."))
SCALE = float(os.environ.get("DEVNET_TEST_TIMEOUT_SCALE", "1"))

yaml = pytest.importorskip("yaml", reason="PyYAML is not installed: run Scripts/bootstrap --python")

CONFIG = """seed: 9
metrics_port: {metrics}
sequencer:
  block_mode: instant
threads:
  - name: token
  - name: My_Counter
    contract: counter
  - name: karts
  - name: market
    contract: {contract}
    constants: {{KARTS_THREAD: karts}}
"""


def render(config_text, *args, base_port=None):
    """Renders `config_text` into a directory; returns (directory, [documents])."""
    work = tempfile.mkdtemp(prefix="k8s-render-")
    config = os.path.join(work, "devnet.yaml")
    with open(config, "w") as f:
        f.write(config_text)
    out = os.path.join(work, "manifests")
    extra = ["--base-port", str(base_port)] if base_port else []
    result = subprocess.run(
        [DEVNET, "k8s", "render", config, "--out", out, *extra, *args], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    documents = []
    for name in sorted(os.listdir(out)):
        if name.endswith(".yaml"):
            with open(os.path.join(out, name)) as f:
                documents += [d for d in yaml.safe_load_all(f) if d is not None]
    # The keys are kept beside the manifests, out of `kubectl apply -f DIR`'s reach (it does not
    # recurse), readable by their owner only; the orchestrator's stays there.
    for key in ("devnet.json", "orchestrator.json"):
        mode = os.stat(os.path.join(out, "credentials", key)).st_mode & 0o777
        assert mode == 0o600, (key, oct(mode))
    return work, documents


def market_config(metrics=27900):
    contract = os.path.join(REPO, "examples", "market", "market.tasm")
    if not os.path.exists(contract):
        pytest.skip(f"{contract} is missing")
    return CONFIG.format(metrics=metrics, contract=contract)


@pytest.fixture(scope="module")
def rendered():
    """The manifests of the shipped devnet.yaml and of a config with a user contract, metrics
    and a thread name that needs mapping."""
    default = render(open(os.path.join(REPO, "devnet.yaml")).read())
    market = render(market_config(), "--namespace", "dn-test", "--storage-class", "standard")
    yield {"default": default[1], "market": market[1]}
    shutil.rmtree(default[0], ignore_errors=True)
    shutil.rmtree(market[0], ignore_errors=True)


def kubernetes_validate():
    try:
        import kubernetes_validate as kv
    except ImportError:
        pytest.skip("kubernetes-validate is not installed, so the manifests are not checked against the "
                    "Kubernetes API schemas: run Scripts/bootstrap --python (pip install kubernetes-validate)")
    return kv


# The newest schemas kubernetes-validate bundles, and an older release still in use.
def schema_versions(kv):
    return [kv.latest_version(), "1.29.0"]


def test_manifests_pass_the_kubernetes_api_schemas_strictly(rendered):
    kv = kubernetes_validate()
    checked = 0
    for documents in rendered.values():
        for document in documents:
            for version in schema_versions(kv):
                # strict: an unknown field (a typo) fails too.
                kv.validate(document, version, strict=True)
                checked += 1
    assert checked >= 2 * (3 + 2 * 6)


def test_the_schema_check_rejects_broken_manifests(rendered):
    """The validator is not a no-op: the same manifests, each broken one way, fail it."""
    kv = kubernetes_validate()
    statefulset = next(d for d in rendered["default"] if d["kind"] == "StatefulSet")
    service = next(d for d in rendered["default"] if d["kind"] == "Service")
    breakages = []
    broken = copy.deepcopy(statefulset)
    broken["spec"]["template"]["spec"]["containers"][0]["ports"][0]["containerPort"] = "api"
    breakages.append(broken)
    broken = copy.deepcopy(statefulset)
    broken["spec"]["replica"] = 1  # a typo of replicas
    breakages.append(broken)
    broken = copy.deepcopy(statefulset)
    del broken["spec"]["selector"]
    breakages.append(broken)
    broken = copy.deepcopy(service)
    broken["spec"]["ports"][0]["port"] = "27100"
    breakages.append(broken)
    for broken in breakages:
        with pytest.raises(kv.ValidationError):
            kv.validate(broken, kv.latest_version(), strict=True)


def test_structure_one_statefulset_and_service_per_daemon(rendered):
    documents = rendered["market"]
    kinds = [d["kind"] for d in documents]
    assert kinds.count("Namespace") == 1 and kinds.count("ConfigMap") == 1 and kinds.count("Secret") == 1
    sets = [d for d in documents if d["kind"] == "StatefulSet"]
    services = {d["metadata"]["name"]: d for d in documents if d["kind"] == "Service"}
    names = [s["metadata"]["name"] for s in sets]
    assert names == ["sequencer", "manager", "node-token", "node-my-counter", "node-karts", "node-market"]
    assert set(services) == set(names)
    config_map = next(d for d in documents if d["kind"] == "ConfigMap")
    for document in documents:
        assert re.fullmatch(r"[a-z]([-a-z0-9]{0,61}[a-z0-9])?", document["metadata"]["name"])
        if document["kind"] != "Namespace":
            assert document["metadata"]["namespace"] == "dn-test"
    for statefulset in sets:
        name = statefulset["metadata"]["name"]
        spec = statefulset["spec"]
        pod = spec["template"]["spec"]
        container = pod["containers"][0]
        assert spec["replicas"] == 1 and spec["serviceName"] == name
        claim = spec["volumeClaimTemplates"][0]
        assert claim["metadata"]["name"] == "data" and claim["spec"]["storageClassName"] == "standard"
        assert {"name": "data", "mountPath": "/var/lib/zkthreads-devnet"} in container["volumeMounts"]
        # The Service selects this pod and exposes its named ports.
        service = services[name]
        labels = spec["template"]["metadata"]["labels"]
        assert all(labels.get(k) == v for k, v in service["spec"]["selector"].items())
        container_ports = {p["name"]: p["containerPort"] for p in container["ports"]}
        assert {p["name"]: p["port"] for p in service["spec"]["ports"]} == container_ports
        assert set(container_ports) == {"api", "admin", "events", "metrics"}
        # The topology file the daemon reads is in the ConfigMap: it advertises the daemon at its
        # Service's DNS name and binds the same ports on every interface.
        topology_file = container["command"][container["command"].index("--topology") + 1]
        assert topology_file == "/etc/zkthreads-devnet/topology/topology.json"
        topology = yaml.safe_load(config_map["data"]["topology.json"])
        assert topology["security"] == "curve"
        own_name = container["command"][container["command"].index("--name") + 1]
        own = next(p for p in topology["processes"] if p["name"] == own_name)
        assert own["endpoints"]["api"] == f"tcp://{name}.dn-test.svc.cluster.local:{container_ports['api']}"
        assert own["bind"]["api"] == f"tcp://0.0.0.0:{container_ports['api']}"
        # The credentials are where the daemon reads them: <data dir>/credentials/.
        assert {"name": "credentials", "mountPath": "/var/lib/zkthreads-devnet/credentials",
                "readOnly": True} in container["volumeMounts"]
    secret = next(d for d in documents if d["kind"] == "Secret")
    assert set(secret["data"]) == {"devnet.json"}
    member = yaml.safe_load(base64.b64decode(secret["data"]["devnet.json"]))
    assert set(member) == {"server_public_key", "server_secret_key", "member_public_key", "member_secret_key",
                           "admin_public_key"}
    assert "contract-market.tasm" in config_map["data"]
    assert config_map["data"]["contract-market.tasm"] == open(os.path.join(REPO, "examples", "market", "market.tasm")).read()


def executable_products():
    with open(os.path.join(REPO, "Package.swift")) as f:
        return set(re.findall(r'\.executable\(name:\s*"([^"]+)"', f.read()))


def containerfile():
    with open(os.path.join(REPO, "Containerfile")) as f:
        return f.read()


def test_containerfile_installs_every_executable_the_manifests_run(rendered):
    text = containerfile()
    declared = re.search(r'^ARG EXECUTABLES="([^"]+)"', text, re.M)
    assert declared, "the Containerfile declares no ARG EXECUTABLES"
    installed = set(declared.group(1).split())
    assert installed == executable_products(), "the Containerfile's EXECUTABLES differ from Package.swift's executables"
    assert re.search(r"^COPY --from=build /staging/bin/ /opt/zkthreads-devnet/bin/$", text, re.M)
    assert re.search(r'cp -R "\$bin"/\*\.resources /staging/bin/', text)
    # The resource bundles it copies exist in a build (the ThreadVM's contracts among them).
    assert os.path.isdir(os.path.join(BIN, "zkthreads-devnet_ThreadVM.resources"))
    for documents in rendered.values():
        for statefulset in (d for d in documents if d["kind"] == "StatefulSet"):
            container = statefulset["spec"]["template"]["spec"]["containers"][0]
            commands = [container["command"]] + [container[p]["exec"]["command"] for p in
                                                 ("startupProbe", "livenessProbe", "readinessProbe")]
            for command in commands:
                directory, executable = os.path.split(command[0])
                assert directory == "/opt/zkthreads-devnet/bin" and executable in installed, command
            assert statefulset["spec"]["template"]["spec"]["securityContext"]["runAsUser"] == 10001
    assert "--uid 10001" in text and "USER 10001:10001" in text


def free_base_port(count):
    for _ in range(50):
        base = 40000 + (os.getpid() * 7 + int(time.time() * 1000)) % 2000 * 10
        ok = True
        for port in range(base, base + count):
            with socket.socket() as s:
                try:
                    s.bind(("0.0.0.0", port))
                except OSError:
                    ok = False
                    break
        if ok:
            return base
        time.sleep(0.05)
    pytest.skip("no free range of ports to run the pods' commands")


class Pods:
    """The StatefulSets of rendered manifests, each run here as a process as it would run in its
    pod: the ConfigMap's files as its topology folder (the Services' DNS names mapped to
    127.0.0.1, as cluster DNS maps them to the Services), an empty folder as its volume with the
    Secret's files mounted in it, the image's paths mapped to the build."""

    def __init__(self, work, documents, namespace):
        self.work = work
        self.documents = documents
        self.processes = {}
        config_map = next(d for d in documents if d["kind"] == "ConfigMap")
        self.topology_dir = os.path.join(work, "topology")
        os.makedirs(self.topology_dir)
        service = r"[a-z0-9-]+\." + re.escape(namespace) + r"\.svc\.cluster\.local"
        for key, value in config_map["data"].items():
            with open(os.path.join(self.topology_dir, key), "w") as f:
                f.write(re.sub(service, "127.0.0.1", value))
        self.secret = next(d for d in documents if d["kind"] == "Secret")["data"]

    def local(self, argument, pod):
        argument = argument.replace("/opt/zkthreads-devnet/bin", BIN)
        argument = argument.replace("/etc/zkthreads-devnet/topology", self.topology_dir)
        return argument.replace("/var/lib/zkthreads-devnet", os.path.join(self.work, "volumes", pod))

    def start(self):
        for statefulset in (d for d in self.documents if d["kind"] == "StatefulSet"):
            pod = statefulset["metadata"]["name"]
            credentials = os.path.join(self.work, "volumes", pod, "credentials")
            os.makedirs(credentials)
            for key, value in self.secret.items():
                path = os.path.join(credentials, key)
                with open(path, "wb") as f:
                    f.write(base64.b64decode(value))
                os.chmod(path, 0o400)
            container = statefulset["spec"]["template"]["spec"]["containers"][0]
            log = open(os.path.join(self.work, f"{pod}.log"), "w")
            process = subprocess.Popen([self.local(a, pod) for a in container["command"]], stdout=log,
                                       stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
            self.processes[pod] = (process, container, log)

    def log(self, pod):
        with open(os.path.join(self.work, f"{pod}.log")) as f:
            return f.read()[-3000:]

    def probe(self, pod, kind):
        container = self.processes[pod][1]
        command = [self.local(a, pod) for a in container[kind]["exec"]["command"]]
        return subprocess.run(command, capture_output=True, text=True, timeout=30)

    def wait_until_ready(self, timeout):
        deadline = time.monotonic() + timeout
        waiting = set(self.processes)
        last = {}
        while waiting and time.monotonic() < deadline:
            for pod in sorted(waiting):
                process = self.processes[pod][0]
                assert process.poll() is None, f"{pod} exited with {process.returncode}: {self.log(pod)}"
                result = self.probe(pod, "readinessProbe")
                last[pod] = (result.returncode, result.stdout + result.stderr)
                if result.returncode == 0:
                    waiting.discard(pod)
            if waiting:
                time.sleep(0.2)
        assert not waiting, f"readiness probes still failing: { {p: (last.get(p), self.log(p)) for p in waiting} }"

    def stop(self):
        """SIGTERM, as the kubelet stops a pod; returns each daemon's exit code."""
        for process, _, _ in self.processes.values():
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        codes = {}
        for pod, (process, _, log) in self.processes.items():
            try:
                codes[pod] = process.wait(timeout=20 * SCALE)
            except subprocess.TimeoutExpired:
                process.kill()
                codes[pod] = process.wait()
            log.close()
        return codes


def test_pods_commands_start_the_devnet_and_the_probes_pass():
    """Every readiness probe must pass, which for a thread node means it reached the manager and
    the sequencer at their advertised names' ports with the Secret's keys; a client without the
    keys gets no answer; then SIGTERM stops each daemon cleanly."""
    base = free_base_port(6 * 3 + 6 + 2)
    work, documents = render(market_config(metrics=base + 18), "--namespace", "dn-local", base_port=base)
    pods = Pods(work, documents, "dn-local")
    try:
        pods.start()
        pods.wait_until_ready(60 * SCALE)
        for pod in pods.processes:
            result = pods.probe(pod, "livenessProbe")
            assert result.returncode == 0 and "is healthy" in result.stdout, result
        # Without the keys, the same endpoint answers nothing.
        api = pods.processes["sequencer"][1]["livenessProbe"]["exec"]["command"][3]
        bare = subprocess.run([DEVNET, "k8s", "probe", api, "--timeout", "1"], capture_output=True, text=True,
                              timeout=30)
        assert bare.returncode == 1 and "no answer to health" in bare.stderr, bare
        # A probe of a port nobody serves fails, saying so.
        dead = subprocess.run([DEVNET, "k8s", "probe", f"tcp://127.0.0.1:{base + 25}", "--timeout", "0.5"],
                              capture_output=True, text=True, timeout=30)
        assert dead.returncode == 1 and "no answer to health" in dead.stderr
    finally:
        codes = pods.stop()
    assert all(code == 0 for code in codes.values()), codes
    shutil.rmtree(work, ignore_errors=True)


def lan_address():
    """An IPv4 address of this machine other than loopback, or None."""
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.connect(("10.255.255.255", 1))  # no packet is sent: this only picks a route
            address = s.getsockname()[0]
    except OSError:
        return None
    return None if address.startswith("127.") else address


def curve_client(endpoint, member_file):
    """A DEALER that connects with the member's CurveZMQ keys, as a client in the cluster would."""
    import zmq
    from devnet_harness import Client
    with open(member_file) as f:
        keys = yaml.safe_load(f)
    client = Client.__new__(Client)
    client.socket = zmq.Context.instance().socket(zmq.DEALER)
    client.socket.curve_secretkey = keys["member_secret_key"].encode()
    client.socket.curve_publickey = keys["member_public_key"].encode()
    client.socket.curve_serverkey = keys["server_public_key"].encode()
    client.socket.setsockopt(zmq.LINGER, 0)
    client.socket.setsockopt(zmq.RCVTIMEO, int(10000 * SCALE))
    client.socket.connect(endpoint)
    client.next_id = 1
    return client


def test_a_node_rendered_with_join_joins_a_devnet_started_by_devnet_up():
    """`devnet up` on a non-loopback address (a laptop on its LAN), so secured with generated
    keys; the node that `devnet k8s render --join DATA_DIR --thread counter` renders runs as its
    pod would and becomes ready: it reached the laptop's manager and sequencer with those keys.
    Once its prover account is funded, a thread transaction submitted to it settles."""
    from test_transactions import SEED, Account, sign_increment
    address = lan_address()
    if address is None:
        pytest.skip("this machine has no IPv4 address beyond loopback to start the laptop's devnet on")
    base = free_base_port(3 * 3 + 3)
    data_dir = tempfile.mkdtemp(prefix="k8s-laptop-")
    config = os.path.join(data_dir, "devnet.yaml")
    with open(config, "w") as f:
        f.write(f"seed: {SEED}\nhost: {address}\nbase_port: {base}\nthreads:\n  - name: counter\n")
    up = subprocess.run([DEVNET, "up", config, "--data-dir", data_dir], capture_output=True, text=True, timeout=120)
    assert up.returncode == 0, up.stderr
    pods = None
    codes = {}
    try:
        out = os.path.join(data_dir, "k8s")
        result = subprocess.run([DEVNET, "k8s", "render", "--join", data_dir, "--thread", "counter", "--out", out,
                                 "--namespace", "joined"], capture_output=True, text=True, timeout=60)
        assert result.returncode == 0, result.stderr
        documents = []
        for name in sorted(os.listdir(out)):
            if name.endswith(".yaml"):
                with open(os.path.join(out, name)) as f:
                    documents += [d for d in yaml.safe_load_all(f) if d is not None]
        assert [d["metadata"]["name"] for d in documents if d["kind"] == "StatefulSet"] == ["node-counter-2"]
        try:
            import kubernetes_validate as kv
        except ImportError:
            kv = None
        if kv:
            for document in documents:
                kv.validate(document, kv.latest_version(), strict=True)
        pods = Pods(tempfile.mkdtemp(prefix="k8s-join-"), documents, "joined")
        pods.start()
        pods.wait_until_ready(60 * SCALE)

        # Only the first prover of a thread is funded at genesis: fund this one, then send it work.
        fund = subprocess.run([DEVNET, "transfer", "--from", "alice", "--to", "prover-counter-2", "1000000",
                               "--data-dir", data_dir], capture_output=True, text=True, timeout=120)
        assert fund.returncode == 0, fund.stderr
        service = next(d for d in documents if d["kind"] == "Service")
        api = next(p["port"] for p in service["spec"]["ports"] if p["name"] == "api")
        node = curve_client(f"tcp://127.0.0.1:{api}", os.path.join(data_dir, "credentials", "devnet.json"))
        erin = Account("erin", SEED)
        _, nonce = node.request("nonce", {"address": erin.address})
        tx, tx_hash = sign_increment(erin, nonce["nonce"], 3)
        envelope, status = node.request("submit", {"tx": tx})
        assert envelope["status"] == "ok", status
        deadline = time.monotonic() + 60 * SCALE
        final = status
        while final.get("status") not in ("settled", "failed") and time.monotonic() < deadline:
            _, final = node.request("tx_status", {"tx_hash": tx_hash, "wait_ms": 2000})
        node.close()
        assert final["status"] == "settled", (final, pods.log("node-counter-2"))
    finally:
        if pods:
            codes = pods.stop()
            shutil.rmtree(pods.work, ignore_errors=True)
        down = subprocess.run([DEVNET, "down", "--data-dir", data_dir], capture_output=True, text=True, timeout=120)
        shutil.rmtree(data_dir, ignore_errors=True)
    assert down.returncode == 0, down.stderr
    assert codes == {"node-counter-2": 0}, codes


def test_render_refuses_a_thread_name_that_is_no_dns_label():
    work = tempfile.mkdtemp(prefix="k8s-render-")
    try:
        config = os.path.join(work, "devnet.yaml")
        with open(config, "w") as f:
            f.write("threads:\n  - name: jeton-\n    contract: token\n")
        result = subprocess.run([DEVNET, "k8s", "render", config], capture_output=True, text=True, timeout=60)
        assert result.returncode == 2
        assert "thread 'jeton-'" in result.stderr and config in result.stderr
        assert result.stdout == ""
    finally:
        shutil.rmtree(work, ignore_errors=True)


def test_kubectl_client_dry_run_when_a_cluster_is_configured(rendered, tmp_path):
    """kubectl's client-side dry run still asks an API server for its resource types, so it runs
    only where kubectl reaches a cluster; the schema check above is the offline one."""
    kubectl = shutil.which("kubectl")
    if not kubectl:
        pytest.skip("kubectl is not installed; the offline schema check covers the manifests")
    reachable = subprocess.run([kubectl, "version", "--request-timeout=3s"], capture_output=True, text=True)
    if reachable.returncode != 0:
        pytest.skip("kubectl reaches no cluster (its client dry run needs an API server for discovery); "
                    "the offline schema check covers the manifests")
    path = tmp_path / "all.yaml"
    path.write_text(yaml.safe_dump_all(rendered["default"]))
    result = subprocess.run([kubectl, "apply", "--dry-run=client", "--validate=false", "-f", str(path)],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
