"""The deployment files, checked where they cannot run (no container runtime,
no cluster here): the manifests parse and agree with each other and with
deploy/cellgate.cluster.yaml (ports, probes, files, secrets), haproxy.cfg
passes `haproxy -c`, the Dockerfile builds on Debian 12 slim from
deploy/install-deps.sh, whose --runtime list covers what `ldd cellgate`
loads; and last, apart, `cellgate serve --check-config` on the cluster
configuration.

    deploy_static.py CELLGATE

Each check prints ok or FAIL with why; the exit status is 1 when any failed.
"""
import glob
import os
import re
import shutil
import subprocess
import sys
import tempfile

import yaml

SRC = os.path.realpath(os.environ.get("CG_SOURCE_DIR")
                       or os.path.join(os.path.dirname(__file__), "..", ".."))
CLUSTER = "deploy/cellgate.cluster.yaml"
COMPOSE = "deploy/compose.yaml"
HAPROXY = "deploy/haproxy.cfg"
K8S = "deploy/k8s"
# Bind-mount sources that are made, not kept in git, and what makes them.
GENERATED = {"certs/dev": "certs/make-dev-pki.sh"}


class Fail(Exception):
    pass


def need(cond, why):
    if not cond:
        raise Fail(why)


def path(rel):
    return os.path.join(SRC, rel)


def read(rel):
    with open(path(rel)) as f:
        return f.read()


def load_all(rel):
    with open(path(rel)) as f:
        return [d for d in yaml.safe_load_all(f) if d is not None]


def substitute(text, env):
    """cellgate's ${NAME}, ${NAME:-default} and ${NAME-default}
    (docs/configuration.md): an unset NAME without a default is an error."""
    def one(m):
        name, op, default = m.group(1), m.group(2), m.group(3)
        value = env.get(name)
        if op == ":-" and not value:
            return default
        if op == "-" and value is None:
            return default
        need(value is not None, f"${{{name}}} is not set")
        return value
    return re.sub(r"\$\{([A-Za-z0-9_]+)(?:(:-|-)([^}]*))?\}", one, text)


def substituted(value, env):
    """A loaded configuration with its values' variables substituted, a
    value that becomes a decimal integer typed as one (as cellgate types
    plain scalars after the substitution; this file quotes none of them)."""
    if isinstance(value, dict):
        return {k: substituted(v, env) for k, v in value.items()}
    if isinstance(value, list):
        return [substituted(v, env) for v in value]
    if isinstance(value, str) and "${" in value:
        value = substitute(value, env)
        return int(value) if re.fullmatch(r"-?[0-9]+", value) else value
    return value


def k8s_objects():
    """Every object of deploy/k8s/*.yaml but the kustomization, by (kind, name)."""
    objs = {}
    for f in sorted(glob.glob(path(f"{K8S}/*.yaml"))):
        if os.path.basename(f) == "kustomization.yaml":
            continue
        for d in load_all(os.path.relpath(f, SRC)):
            objs[(d.get("kind"), (d.get("metadata") or {}).get("name"))] = d
    return objs


def deployment():
    objs = k8s_objects()
    deps = [d for (kind, _), d in objs.items() if kind == "Deployment"]
    need(len(deps) == 1, f"{len(deps)} Deployments in {K8S}, want 1")
    pod = deps[0]["spec"]["template"]["spec"]
    need(len(pod["containers"]) == 1, "the Deployment's pod has not one container")
    return objs, deps[0], pod, pod["containers"][0]


def container_env(objs, c):
    """The container's environment as far as the manifests give it: envFrom
    ConfigMaps and literal values (others, from Secrets or fields, as
    placeholders)."""
    env = {}
    for ef in c.get("envFrom", []):
        name = ef["configMapRef"]["name"]
        need(("ConfigMap", name) in objs, f"envFrom ConfigMap {name} not in {K8S}")
        env.update({k: str(v) for k, v in objs[("ConfigMap", name)]["data"].items()})
    for e in c.get("env", []):
        env[e["name"]] = str(e["value"]) if "value" in e else f"<{e['name']}>"
    return env


def k8s_config():
    """The Deployment's configuration (from its ConfigMap), with its
    variables substituted as the pod's environment gives them."""
    objs, dep, pod, c = deployment()
    cms = [d for (kind, _), d in objs.items()
           if kind == "ConfigMap" and "cellgate.yaml" in d.get("data", {})]
    need(len(cms) == 1, "no ConfigMap (or several) with cellgate.yaml")
    env = container_env(objs, c)
    return substituted(yaml.safe_load(cms[0]["data"]["cellgate.yaml"]), env), env


def port_number(c, port):
    """A probe's or Service's port: a number, or the name of a containerPort."""
    if isinstance(port, int):
        return port
    for p in c.get("ports", []):
        if p.get("name") == port:
            return p["containerPort"]
    raise Fail(f"port {port!r} is not a port of container {c['name']}")


def mounts(pod, c):
    """Each mountPath of the container -> its volume."""
    vols = {v["name"]: v for v in pod.get("volumes", [])}
    out = {}
    for m in c.get("volumeMounts", []):
        need(m["name"] in vols, f"volumeMount {m['name']} has no volume")
        out[m["mountPath"]] = (vols[m["name"]], m)
    return out


# --- the checks ------------------------------------------------------------

def check_yaml_parses():
    files = sorted(glob.glob(path("deploy/*.yaml")) + glob.glob(path(f"{K8S}/*.yaml")))
    need(len(files) >= 9, f"only {len(files)} YAML files under deploy/")
    for f in files:
        try:
            docs = load_all(os.path.relpath(f, SRC))
        except yaml.YAMLError as e:
            raise Fail(f"{os.path.relpath(f, SRC)}: {e}")
        need(docs, f"{os.path.relpath(f, SRC)}: empty")
    return f"{len(files)} files"


def check_k8s_objects():
    kust = load_all(f"{K8S}/kustomization.yaml")[0]
    need(kust.get("kind") == "Kustomization", "kustomization.yaml is not a Kustomization")
    listed = set(kust.get("resources", []))
    present = {os.path.basename(f) for f in glob.glob(path(f"{K8S}/*.yaml"))} - {
        "kustomization.yaml"}
    need(listed == present, f"kustomization resources {sorted(listed)} != files {sorted(present)}")
    n = 0
    for f in sorted(present):
        for d in load_all(f"{K8S}/{f}"):
            for key in ("apiVersion", "kind"):
                need(d.get(key), f"{f}: an object without {key}")
            need((d.get("metadata") or {}).get("name"), f"{f}: a {d['kind']} without metadata.name")
            n += 1
    kinds = {k for k, _ in k8s_objects()}
    for want in ("Deployment", "Service", "ConfigMap", "Secret", "PodDisruptionBudget"):
        need(want in kinds, f"no {want} in {K8S}")
    return f"{n} objects"


def check_k8s_configmap_is_the_cluster_config():
    objs = k8s_objects()
    cms = [d for (kind, _), d in objs.items()
           if kind == "ConfigMap" and "cellgate.yaml" in d.get("data", {})]
    need(len(cms) == 1, "no ConfigMap (or several) with cellgate.yaml")
    need(cms[0]["data"]["cellgate.yaml"] == read(CLUSTER),
         f"the ConfigMap's cellgate.yaml differs from {CLUSTER}: copy it again")


def check_k8s_probes():
    objs, dep, pod, c = deployment()
    config, env = k8s_config()
    admin = config["admin"]["port"]
    need(isinstance(admin, int), f"the config's admin port is {admin!r}")
    for probe, want in (("readinessProbe", "/readyz"), ("livenessProbe", "/healthz")):
        p = c.get(probe)
        need(p and "httpGet" in p, f"no httpGet {probe}")
        need(p["httpGet"].get("path") == want, f"{probe} path {p['httpGet'].get('path')}, want {want}")
        port = port_number(c, p["httpGet"]["port"])
        need(port == admin, f"{probe} on port {port}, the config's admin port is {admin}")
        need(p["httpGet"].get("scheme", "HTTP") == "HTTP", f"{probe} is not plain HTTP")
    need(config["admin"]["address"] in ("0.0.0.0", "::"),
         f"the admin listener binds {config['admin']['address']}: the kubelet cannot reach it")
    need(dep["spec"]["replicas"] >= 3, "fewer than 3 replicas")
    return f"admin port {admin}"


def check_k8s_drain():
    objs, dep, pod, c = deployment()
    pre = c.get("lifecycle", {}).get("preStop", {})
    cmd = pre.get("exec", {}).get("command", [])
    need(cmd[:1] == ["sleep"] or "sleep" in pre, "no preStop sleep")
    sleep = int(cmd[1]) if cmd[:1] == ["sleep"] else int(pre["sleep"]["seconds"])
    # The gateway: at most 30 s of drain, then 5 s for deliveries in flight
    # (gateway/server/server.c; docs/operations.md#signals).
    grace = pod.get("terminationGracePeriodSeconds", 30)
    need(grace > sleep + 30 + 5, f"terminationGracePeriodSeconds {grace} <= preStop {sleep} + 35")
    need(sleep >= 5, f"preStop sleeps {sleep} s: too short for the endpoints to be removed")
    return f"preStop {sleep} s + drain 35 s < grace {grace} s"


def check_k8s_security():
    objs, dep, pod, c = deployment()
    psc, csc = pod.get("securityContext", {}), c.get("securityContext", {})
    need(psc.get("runAsNonRoot") or csc.get("runAsNonRoot"), "runAsNonRoot not set")
    need(psc.get("runAsUser", csc.get("runAsUser", 0)) != 0, "runs as uid 0")
    need(csc.get("readOnlyRootFilesystem") is True, "readOnlyRootFilesystem not true")
    need(csc.get("allowPrivilegeEscalation") is False, "allowPrivilegeEscalation not false")
    config, env = k8s_config()
    audit = os.path.dirname(config["logging"]["audit"])
    m = mounts(pod, c)
    need(audit in m and "emptyDir" in m[audit][0],
         f"the audit log's folder {audit} is not an emptyDir mount")


def check_k8s_references():
    """What the pod takes from ConfigMaps and Secrets is there, and the files
    the configuration names are where the Secrets are mounted."""
    objs, dep, pod, c = deployment()
    for e in c.get("env", []):
        ref = e.get("valueFrom", {}).get("secretKeyRef")
        if ref:
            sec = objs.get(("Secret", ref["name"]))
            need(sec, f"env {e['name']}: no Secret {ref['name']}")
            need(ref["key"] in {**sec.get("data", {}), **sec.get("stringData", {})},
                 f"env {e['name']}: Secret {ref['name']} has no key {ref['key']}")
    need(any(e["name"] == "CELLGATE_DATABASE_URL" and "secretKeyRef" in e.get("valueFrom", {})
             for e in c.get("env", [])), "CELLGATE_DATABASE_URL not from a Secret")
    for v in pod.get("volumes", []):
        if "configMap" in v:
            need(("ConfigMap", v["configMap"]["name"]) in objs, f"no ConfigMap {v['configMap']['name']}")
        if "secret" in v:
            need(("Secret", v["secret"]["secretName"]) in objs, f"no Secret {v['secret']['secretName']}")
    config_arg = c.get("command", []) + c.get("args", [])
    need("--config" in config_arg, "the container's command names no --config")
    config_path = config_arg[config_arg.index("--config") + 1]
    m = mounts(pod, c)
    vol, _ = m.get(os.path.dirname(config_path), (None, None))
    need(vol and "configMap" in vol, f"{config_path} is not on a ConfigMap mount")
    config, env = k8s_config()
    files = [config["outbox"]["password_file"]]
    for lis in config["listeners"]:
        files += [lis[k] for k in ("certificate", "key", "client_ca", "crl") if k in lis]
    for d in config["destinations"].values():
        files += [d[k] for k in ("certificate", "key", "ca") if k in d]
    for f in files:
        need(os.path.isabs(f), f"{f}: relative in a pod")
        vol, _ = m.get(os.path.dirname(f), (None, None))
        need(vol and "secret" in vol, f"{f}: no Secret mounted at {os.path.dirname(f)}")
        sec = objs[("Secret", vol["secret"]["secretName"])]
        keys = {**sec.get("data", {}), **sec.get("stringData", {})}
        items = {i["path"]: i["key"] for i in vol["secret"].get("items", [])}
        key = items.get(os.path.basename(f), None if items else os.path.basename(f))
        need(key in keys, f"{f}: not a key of Secret {vol['secret']['secretName']}")
    return f"{len(files)} files from Secrets"


def check_k8s_service():
    objs, dep, pod, c = deployment()
    config, env = k8s_config()
    listen = config["listeners"][0]["port"]
    admin = config["admin"]["port"]
    svcs = [d for (kind, _), d in objs.items() if kind == "Service"]
    need(svcs, "no Service")
    labels = dep["spec"]["template"]["metadata"]["labels"]
    for s in svcs:
        sel = s["spec"].get("selector", {})
        need(sel and all(labels.get(k) == v for k, v in sel.items()),
             f"Service {s['metadata']['name']} does not select the Deployment's pods")
        for p in s["spec"]["ports"]:
            target = port_number(c, p.get("targetPort", p["port"]))
            need(target != admin, f"Service {s['metadata']['name']} exposes the admin port")
            need(target == listen, f"Service port {p['port']} targets {target}, the listener is {listen}")
            need(p.get("protocol", "TCP") == "TCP", "not TCP")
    need(any(p["port"] == 443 for s in svcs for p in s["spec"]["ports"]), "no Service port 443")
    pdbs = [d for (kind, _), d in objs.items() if kind == "PodDisruptionBudget"]
    need(pdbs and all(d["spec"]["selector"]["matchLabels"].items() <= labels.items() for d in pdbs),
         "the PodDisruptionBudget does not select the Deployment's pods")
    return f"443 -> {listen}"


def compose_gateways(compose):
    """The compose services built from the Dockerfile: the gateways."""
    return {n: s for n, s in compose["services"].items() if "CELLGATE_PORT" in (s.get("environment") or {})}


def check_compose_files():
    compose = load_all(COMPOSE)[0]
    base = os.path.dirname(path(COMPOSE))
    n = 0
    named = set((compose.get("volumes") or {}).keys())
    for name, s in compose["services"].items():
        b = s.get("build")
        if b:
            ctx = os.path.normpath(os.path.join(base, b["context"] if isinstance(b, dict) else b))
            need(os.path.isdir(ctx), f"{name}: build context {ctx} missing")
            df = os.path.join(ctx, b.get("dockerfile", "Dockerfile") if isinstance(b, dict) else "Dockerfile")
            need(os.path.isfile(df), f"{name}: {df} missing")
            n += 1
        for v in s.get("volumes", []):
            source = v.split(":")[0] if isinstance(v, str) else v.get("source")
            if source.startswith((".", "/")):
                rel = os.path.relpath(os.path.normpath(os.path.join(base, source)), SRC)
                if rel in GENERATED:
                    need(os.path.isfile(path(GENERATED[rel])), f"{name}: {rel}'s maker {GENERATED[rel]} missing")
                else:
                    need(os.path.exists(path(rel)), f"{name}: mounted {rel} missing")
                n += 1
            else:
                need(source in named, f"{name}: volume {source} not declared")
        for sec in s.get("secrets", []):
            sec = sec if isinstance(sec, str) else sec["source"]
            need(sec in (compose.get("secrets") or {}), f"{name}: secret {sec} not declared")
    mounted = [v for s in compose["services"].values() for v in s.get("volumes", [])
               if isinstance(v, str) and v.startswith("./haproxy.cfg:")]
    need(mounted, "deploy/haproxy.cfg is not mounted in any service")
    return f"{n} builds and files"


def check_compose_gateways():
    compose = load_all(COMPOSE)[0]
    gws = compose_gateways(compose)
    need(len(gws) == 3, f"{len(gws)} gateways in {COMPOSE}, want 3")
    seen = set()
    for name, s in gws.items():
        env = s["environment"]
        for k in ("CELLGATE_PORT", "CELLGATE_ADMIN_PORT", "CELLGATE_INSTANCE", "CELLGATE_DATABASE_URL",
                  "CELLGATE_UPSTREAM"):
            need(env.get(k), f"{name}: no {k}")
        need(s.get("build"), f"{name}: not built from the Dockerfile")
        ports = (int(env["CELLGATE_PORT"]), int(env["CELLGATE_ADMIN_PORT"]))
        need(not (set(ports) & seen), f"{name}: ports {ports} used twice")
        seen |= set(ports)
        need(env["CELLGATE_INSTANCE"] not in [g["environment"]["CELLGATE_INSTANCE"]
                                              for n, g in gws.items() if n != name],
             f"{name}: instance name used twice")
        test = " ".join(s.get("healthcheck", {}).get("test", []))
        need("/readyz" in test and f"/{ports[1]}" in test,
             f"{name}: healthcheck is not /readyz on its admin port {ports[1]}")
        need(any(str(v).endswith(":/etc/cellgate/certs:ro") for v in s.get("volumes", [])),
             f"{name}: certificates not mounted read-only at /etc/cellgate/certs")
        need("cellgate-db-password" in s.get("secrets", []), f"{name}: no database password secret")
    pg = compose["services"].get("postgres", {})
    need("healthcheck" in pg, "postgres has no healthcheck")
    need(pg.get("environment", {}).get("POSTGRES_PASSWORD_FILE", "").startswith("/run/secrets/"),
         "postgres's password is not from a secret")
    return ", ".join(f"{n} {s['environment']['CELLGATE_PORT']}/{s['environment']['CELLGATE_ADMIN_PORT']}"
                     for n, s in gws.items())


def haproxy_servers():
    """(name, address variable or None, port, check port) of each server
    line, and the whole file without comments."""
    lines = [ln.split("#", 1)[0].strip() if not ln.strip().startswith("#") else ""
             for ln in read(HAPROXY).splitlines()]
    servers = []
    for ln in lines:
        if not ln.startswith("server "):
            continue
        words = ln.split()
        addr = words[2].strip('"')
        m = re.fullmatch(r"(?:\$\{(\w+)-([^}]*)\}|([^:]+)):(\d+)", addr)
        need(m, f"server {words[1]}: address {addr} not host:port")
        need("check" in words and "port" in words, f"server {words[1]}: no `check port N`")
        servers.append((words[1], m.group(1), m.group(2) or m.group(3), int(m.group(4)),
                        int(words[words.index("port") + 1])))
    return servers, "\n".join(lines)


def check_haproxy_matches():
    servers, text = haproxy_servers()
    need(len(servers) == 3, f"{len(servers)} servers in {HAPROXY}, want 3")
    need(re.search(r"^mode tcp$", text, re.M), "not mode tcp (TLS must pass through)")
    need(re.search(r"^option httpchk GET /readyz\b", text, re.M), "no `option httpchk GET /readyz`")
    need(not re.search(r"\bssl\b|\bcrt\b", text), "TLS options in haproxy.cfg: it must pass TLS through")
    need("on-marked-down shutdown-sessions" in text, "no on-marked-down shutdown-sessions")
    # One host: the gateways' ports as the cluster configuration's header starts them.
    one_host = {(int(p), int(a)) for p, a in re.findall(
        r"CELLGATE_PORT=(\d+) CELLGATE_ADMIN_PORT=(\d+) cellgate serve", read(CLUSTER))}
    want = {(s[3], s[4]) for s in servers}
    need(one_host == want, f"one host runs {sorted(one_host)}, haproxy.cfg has {sorted(want)}")
    for s in servers:
        need(s[2] == "127.0.0.1", f"server {s[0]}: one host's default address is {s[2]}")
    # Compose: the haproxy service points each server's variable at the
    # gateway with that server's ports.
    compose = load_all(COMPOSE)[0]
    gws = compose_gateways(compose)
    by_ports = {(int(g["environment"]["CELLGATE_PORT"]), int(g["environment"]["CELLGATE_ADMIN_PORT"])): n
                for n, g in gws.items()}
    need(set(by_ports) == want, f"compose runs {sorted(by_ports)}, haproxy.cfg has {sorted(want)}")
    lb = [s for s in compose["services"].values()
          if any(str(v).startswith("./haproxy.cfg:") for v in s.get("volumes", []))][0]
    for name, var, _, port, admin in servers:
        need(var, f"server {name}: its address cannot be set for compose")
        need(lb.get("environment", {}).get(var) == by_ports[(port, admin)],
             f"compose's haproxy: {var} is not {by_ports[(port, admin)]}")
    return ", ".join(f"{s[0]} {s[3]}/{s[4]}" for s in servers)


def check_haproxy_c():
    haproxy = shutil.which("haproxy") or (os.path.exists("/usr/sbin/haproxy") and "/usr/sbin/haproxy")
    need(haproxy, "haproxy not installed: deploy/install-deps.sh --test installs it")
    env = {k: v for k, v in os.environ.items() if not k.startswith("CELLGATE_")}
    p = subprocess.run([haproxy, "-c", "-f", path(HAPROXY)], env=env, capture_output=True,
                       text=True, timeout=30)
    need(p.returncode == 0, f"haproxy -c: exit {p.returncode}: {p.stdout}{p.stderr}")


def dockerfile_stages():
    stages = []
    for ln in re.sub(r"\\\n", " ", read("Dockerfile")).splitlines():
        ln = ln.strip()
        if not ln or ln.startswith("#"):
            continue
        word, _, rest = ln.partition(" ")
        if word.upper() == "FROM":
            stages.append([])
        need(stages, "an instruction before FROM")
        stages[-1].append((word.upper(), rest.strip()))
    return stages


def check_dockerfile():
    stages = dockerfile_stages()
    need(len(stages) >= 2, "not multi-stage")
    for st in stages:
        need(st[0][1].split()[0] == "debian:12-slim", f"FROM {st[0][1]}, want debian:12-slim")
    runs = lambda st: " ".join(r for w, r in st if w == "RUN")
    need(re.search(r"deploy/install-deps\.sh(?!\s+--)", runs(stages[0])),
         "the build stage does not run deploy/install-deps.sh (build packages)")
    need("cmake" in runs(stages[0]) and "Release" in runs(stages[0]), "the build stage builds no Release")
    last = stages[-1]
    need(re.search(r"install-deps\.sh --runtime", runs(last)), "the runtime stage does not run install-deps.sh --runtime")
    need(not re.search(r"-dev\b|build-essential|cmake", runs(last)), "build tools in the runtime stage")
    user = [r for w, r in last if w == "USER"]
    need(user and user[-1].split(":")[0] not in ("root", "0"), "the runtime stage runs as root")
    need(("STOPSIGNAL", "SIGTERM") in last, "no STOPSIGNAL SIGTERM")
    ep = " ".join(r for w, r in last if w == "ENTRYPOINT")
    need("serve" in ep and "--config" in ep, "ENTRYPOINT is not cellgate serve --config")
    exposed = {int(p.split("/")[0]) for w, r in last if w == "EXPOSE" for p in r.split()}
    env = {}
    for w, r in last:
        if w == "ENV":
            env.update(dict(kv.split("=", 1) for kv in r.split()))
    for k in ("CELLGATE_PORT", "CELLGATE_ADMIN_PORT"):
        need(k in env and int(env[k]) in exposed, f"{k} ({env.get(k)}) is not EXPOSEd")
    for st in stages:
        for w, r in st:
            if w == "COPY" and not r.startswith("--from"):
                for src in r.split()[:-1]:
                    need(os.path.exists(path(src)), f"COPY {src}: missing")
    ignore = read(".dockerignore").split()
    for want in ("build*/", "var/", "certs/dev/"):
        need(want in ignore, f".dockerignore does not leave out {want}")
    return f"{len(stages)} stages"


def runtime_packages():
    p = subprocess.run(["bash", path("deploy/install-deps.sh"), "--runtime", "--list"],
                       capture_output=True, text=True, timeout=30)
    need(p.returncode == 0 and p.stdout.split(), f"install-deps.sh --runtime --list: {p.stderr}")
    return p.stdout.split()


def package_of(lib):
    for cand in (lib, "/usr" + lib, os.path.realpath(lib)):
        p = subprocess.run(["dpkg", "-S", cand], capture_output=True, text=True)
        if p.returncode == 0:
            return p.stdout.split(":")[0]
    raise Fail(f"{lib}: no Debian package has it (dpkg -S)")


def depends_closure(pkgs):
    """The installed packages that pkgs need, themselves included
    (Depends and Pre-Depends, every alternative)."""
    seen, todo = set(), list(pkgs)
    while todo:
        pkg = todo.pop()
        if pkg in seen:
            continue
        seen.add(pkg)
        p = subprocess.run(["dpkg-query", "-W", "-f=${Depends}, ${Pre-Depends}", pkg],
                           capture_output=True, text=True)
        for alt in re.split(r"[,|]", p.stdout):
            name = alt.strip().split(" ")[0].split(":")[0]
            if name:
                todo.append(name)
    return seen


def check_runtime_packages(cellgate):
    runtime = runtime_packages()
    for pkg in runtime:
        p = subprocess.run(["dpkg-query", "-W", "-f=${Status}", pkg], capture_output=True, text=True)
        need(p.stdout == "install ok installed", f"{pkg}: not an installed Debian package")
    p = subprocess.run(["readelf", "-d", cellgate], capture_output=True, text=True)
    need(p.returncode == 0, f"readelf: {p.stderr}")
    needed = set(re.findall(r"\(NEEDED\)\s+Shared library: \[([^\]]+)\]", p.stdout))
    p = subprocess.run(["ldd", cellgate], capture_output=True, text=True)
    need(p.returncode == 0, f"ldd: {p.stderr}")
    libs = {}
    for ln in p.stdout.splitlines():
        m = re.match(r"\s*(\S+) => (/\S+)", ln) or re.match(r"\s*(/\S+) \(", ln)
        if m:
            libs[os.path.basename(m.group(1))] = m.group(m.lastindex)
    need(needed <= set(libs), f"ldd does not show {sorted(needed - set(libs))}")
    pkg = {name: package_of(where) for name, where in libs.items()}
    # A sanitizer build (the test build) links the sanitizers' runtimes: the
    # gcc packages they come from, and what they need, are not the product's.
    sanitizers = {pkg[n] for n in needed if re.match(r"lib(a|ub|t)san\.", n)}
    covered = depends_closure(set(runtime) | {"libc6"})
    extra = depends_closure(sanitizers)
    missing = []
    for name in sorted(libs):
        if pkg[name] in sanitizers:
            continue
        if name in needed and pkg[name] not in runtime and pkg[name] != "libc6":
            missing.append(f"{name} ({pkg[name]}, linked directly)")
        elif pkg[name] not in covered and pkg[name] not in extra:
            missing.append(f"{name} ({pkg[name]})")
    need(not missing, "not in install-deps.sh --runtime nor what it pulls in: " + ", ".join(missing))
    note = f"; sanitizer runtimes {sorted(sanitizers)} left out" if sanitizers else ""
    return f"{len(libs)} libraries from {len(set(pkg.values()))} packages{note}"


def check_config(cellgate):
    """`cellgate serve --check-config` on the cluster configuration: in a copy
    of the repository's layout (certs/dev beside deploy/), with the variables
    an operator sets on one host, and again with the containers' layout
    (CELLGATE_CERTS, CELLGATE_VAR absolute, as the Dockerfile sets them)."""
    with tempfile.TemporaryDirectory() as work:
        os.makedirs(f"{work}/deploy")
        subprocess.run([path("certs/make-dev-pki.sh"), f"{work}/certs/dev"], check=True,
                       capture_output=True, timeout=120)
        shutil.copy(path(CLUSTER), f"{work}/{CLUSTER}")
        pw = f"{work}/db-password"
        with open(os.open(pw, os.O_WRONLY | os.O_CREAT, 0o600), "w") as f:
            f.write("not-a-real-password\n")
        env = {k: v for k, v in os.environ.items() if not k.startswith("CELLGATE_")}
        env.update(CELLGATE_PORT="18443", CELLGATE_ADMIN_PORT="19090",
                   CELLGATE_UPSTREAM="https://127.0.0.1:18080/fhir",
                   CELLGATE_DATABASE_URL="postgresql://cellgate@127.0.0.1:5432/cellgate",
                   CELLGATE_DATABASE_PASSWORD_FILE=pw)
        container = dict(env, CELLGATE_CERTS=f"{work}/certs/dev", CELLGATE_VAR=f"{work}/var",
                         CELLGATE_ADDRESS="0.0.0.0", CELLGATE_ADMIN_ADDRESS="0.0.0.0",
                         CELLGATE_INSTANCE="gateway1")
        for label, e in (("one host", env), ("container layout", container)):
            p = subprocess.run([cellgate, "serve", "--check-config", CLUSTER], cwd=work, env=e,
                               capture_output=True, text=True, timeout=60)
            need(p.returncode == 0 and "configuration OK" in p.stdout,
                 f"{label}: exit {p.returncode}:\n{p.stdout}{p.stderr}")


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: deploy_static.py CELLGATE")
    cellgate = os.path.realpath(sys.argv[1])
    checks = [
        ("every YAML file under deploy/ parses", check_yaml_parses),
        ("k8s: objects have apiVersion, kind, metadata.name; kustomization lists them",
         check_k8s_objects),
        ("k8s: the ConfigMap's cellgate.yaml is deploy/cellgate.cluster.yaml",
         check_k8s_configmap_is_the_cluster_config),
        ("k8s: readiness /readyz and liveness /healthz on the config's admin port", check_k8s_probes),
        ("k8s: preStop sleep, then the drain, within the grace period", check_k8s_drain),
        ("k8s: non-root, read-only root, the audit log on an emptyDir", check_k8s_security),
        ("k8s: Secrets and ConfigMaps referenced exist; config files are on Secret mounts",
         check_k8s_references),
        ("k8s: the Service targets the config's listener port, never the admin port",
         check_k8s_service),
        ("compose: build contexts, Dockerfile and mounted files exist", check_compose_files),
        ("compose: three gateways, own ports and names, /readyz healthchecks", check_compose_gateways),
        ("haproxy.cfg: servers match one host's and compose's gateways; /readyz on admin ports",
         check_haproxy_matches),
        ("haproxy -c -f deploy/haproxy.cfg", check_haproxy_c),
        ("Dockerfile: debian:12-slim, install-deps.sh, --runtime stage, non-root, SIGTERM",
         check_dockerfile),
        ("install-deps.sh --runtime covers ldd cellgate (beyond libc6)",
         lambda: check_runtime_packages(cellgate)),
    ]
    passed = failed = 0
    for name, check in checks:
        try:
            note = check()
            print(f"ok   {name}" + (f" ({note})" if note else ""))
            passed += 1
        except (Fail, KeyError, TypeError, ValueError, IndexError, OSError,
                subprocess.SubprocessError) as e:
            print(f"FAIL {name}: {type(e).__name__ if not isinstance(e, Fail) else ''}{e}")
            failed += 1
    # Apart, because it needs the PostgreSQL outbox's configuration keys
    # (outbox.queue, database, password_file, instance, lease_s).
    print("--- cellgate serve --check-config deploy/cellgate.cluster.yaml")
    try:
        check_config(cellgate)
        print("ok   check-config: the cluster configuration, one host and container layouts")
        passed += 1
    except (Fail, OSError, subprocess.SubprocessError) as e:
        print(f"FAIL check-config: the cluster configuration: {e}")
        failed += 1
    print(f"{passed} passed, {failed} failed")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
