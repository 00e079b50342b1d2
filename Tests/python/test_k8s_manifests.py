"""`devnet k8s render`: the manifests checked offline against the Kubernetes API schemas
(kubernetes-validate, which bundles them), the image layout the manifests assume checked
against the Containerfile and the package, and the pods' commands run here as processes: each
daemon started exactly as its StatefulSet says, from its own topology file in the ConfigMap,
with the Services' DNS names resolved to this machine, until every readiness probe passes.

Nothing here talks to a cluster; running on a real one is not tested (docs/deploy.md)."""
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
        with open(os.path.join(out, name)) as f:
            documents += [d for d in yaml.safe_load_all(f) if d is not None]
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
        # The topology file the daemon reads is in the ConfigMap, and names its own ports.
        topology_file = container["command"][container["command"].index("--topology") + 1]
        key = os.path.basename(topology_file)
        assert key in config_map["data"]
        own_name = container["command"][container["command"].index("--name") + 1]
        own = next(p for p in yaml.safe_load(config_map["data"][key])["processes"] if p["name"] == own_name)
        assert own["endpoints"]["api"] == f"tcp://0.0.0.0:{container_ports['api']}"
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


def test_pods_commands_start_the_devnet_and_the_probes_pass():
    """Each StatefulSet's command runs here as it would in its pod: its own topology file from
    the ConfigMap (DNS names mapped to 127.0.0.1, as cluster DNS maps them to the Services), its
    own empty data directory (its volume), the image's paths mapped to the build. Every
    readiness probe must pass, which for a thread node means it reached the manager and the
    sequencer by their advertised names' ports; then SIGTERM stops each daemon cleanly."""
    base = free_base_port(6 * 3 + 6 + 2)
    work, documents = render(market_config(metrics=base + 18), "--namespace", "dn-local", base_port=base)
    config_map = next(d for d in documents if d["kind"] == "ConfigMap")
    topology_dir = os.path.join(work, "topology")
    os.makedirs(topology_dir)
    for key, value in config_map["data"].items():
        with open(os.path.join(topology_dir, key), "w") as f:
            f.write(re.sub(r"[a-z0-9-]+\.dn-local\.svc\.cluster\.local", "127.0.0.1", value))

    def local(argument, pod):
        argument = argument.replace("/opt/zkthreads-devnet/bin", BIN)
        argument = argument.replace("/etc/zkthreads-devnet/topology", topology_dir)
        return argument.replace("/var/lib/zkthreads-devnet", os.path.join(work, "volumes", pod))

    processes = {}
    try:
        for statefulset in (d for d in documents if d["kind"] == "StatefulSet"):
            pod = statefulset["metadata"]["name"]
            os.makedirs(os.path.join(work, "volumes", pod))
            container = statefulset["spec"]["template"]["spec"]["containers"][0]
            log = open(os.path.join(work, f"{pod}.log"), "w")
            processes[pod] = (subprocess.Popen([local(a, pod) for a in container["command"]], stdout=log,
                                               stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL), container, log)
        deadline = time.monotonic() + 60 * SCALE
        waiting = set(processes)
        last = {}
        while waiting and time.monotonic() < deadline:
            for pod in sorted(waiting):
                process, container, _ = processes[pod]
                assert process.poll() is None, f"{pod} exited with {process.returncode}: " + open(
                    os.path.join(work, f"{pod}.log")).read()[-2000:]
                probe = [local(a, pod) for a in container["readinessProbe"]["exec"]["command"]]
                result = subprocess.run(probe, capture_output=True, text=True, timeout=30)
                last[pod] = (result.returncode, result.stdout + result.stderr)
                if result.returncode == 0:
                    waiting.discard(pod)
            if waiting:
                time.sleep(0.2)
        assert not waiting, f"readiness probes still failing: { {p: last.get(p) for p in waiting} }"
        for pod, (_, container, _) in processes.items():
            liveness = [local(a, pod) for a in container["livenessProbe"]["exec"]["command"]]
            result = subprocess.run(liveness, capture_output=True, text=True, timeout=30)
            assert result.returncode == 0 and "is healthy" in result.stdout, result
        # A probe of a port nobody serves fails, saying so.
        dead = subprocess.run([DEVNET, "k8s", "probe", f"tcp://127.0.0.1:{base + 25}", "--timeout", "0.5"],
                              capture_output=True, text=True, timeout=30)
        assert dead.returncode == 1 and "no answer to health" in dead.stderr
    finally:
        for process, _, _ in processes.values():
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for pod, (process, _, log) in processes.items():
            try:
                code = process.wait(timeout=20 * SCALE)
            except subprocess.TimeoutExpired:
                process.kill()
                code = process.wait()
            log.close()
            assert code == 0, f"{pod} exited with {code} on SIGTERM"
    shutil.rmtree(work, ignore_errors=True)


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
