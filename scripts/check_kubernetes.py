#!/usr/bin/env python3
"""Checks the Kubernetes example (examples/kubernetes/*.yaml) without a cluster.

1. Every YAML document is validated against the Kubernetes OpenAPI schemas (strict: an unknown
   field is an error) for the oldest and the newest Kubernetes version checked, with the
   schemas that the `kubernetes-validate` package ships (offline: it never downloads any).
2. What the schemas cannot see: names that must agree across documents (ConfigMaps, Secrets,
   claims and volumes a pod uses, selectors and the pod labels they select, Service target
   ports), one namespace for all, and the hardening every container must keep (read-only root
   file system, no privilege escalation, capabilities dropped, resource limits).
3. The agent.toml and collector.toml embedded in ConfigMaps: parsed with tomllib, and every key
   checked against the fields of the Rust structs that parse them (read from agent/src and
   collector/src: the configs use deny_unknown_fields, so an unknown key stops the binary),
   required fields present; every file they name lies under a mount of the container that
   reads them, and a file from a Secret is one of that Secret's keys. The embedded register is
   parsed, and checked with `custos-collector register check` when the binary is built.

Needs PyYAML and kubernetes-validate (`pip install kubernetes-validate`; it brings PyYAML and
jsonschema). When they are missing: exit 1 under CI (CI set), else "SKIPPED …" on stderr and
exit 0. Exit 1 on any problem, each printed as FILE: DOCUMENT: what.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "kubernetes"
OLDEST = "1.29"

# TOML table path -> (Rust source, struct). "[]" marks an array of tables, "*" a map whose
# values are that struct.
AGENT_TABLES = {
    "": ("agent/src/config.rs", "AgentConfig"),
    "collector": ("agent/src/config.rs", "CollectorEndpoint"),
    "fingerprint": ("agent/src/config.rs", "FingerprintConfig"),
    "detection": ("agent/src/config.rs", "DetectionConfig"),
    "batch": ("agent/src/config.rs", "BatchConfig"),
    "log[]": ("agent/src/config.rs", "LogSource"),
    "journald[]": ("agent/src/config.rs", "JournaldSource"),
    "tail": ("agent/src/config.rs", "TailConfig"),
    "spool": ("agent/src/spool.rs", "SpoolConfig"),
    "metrics": ("agent/src/config.rs", "MetricsConfig"),
    "scan[]": ("agent/src/datastore/schedule.rs", "ScanJob"),
    "anomaly": ("agent/src/anomaly/mod.rs", "AnomalyConfig"),
}
COLLECTOR_TABLES = {
    "": ("collector/src/config.rs", "CollectorConfig"),
    "tls": ("collector/src/config.rs", "TlsFiles"),
    "rules.*": ("collector/src/config.rs", "RuleSetting"),
    "locations": ("collector/src/config.rs", "Locations"),
    "notifications": ("collector/src/config.rs", "NotificationConfig"),
    "notifications.webhook": ("collector/src/config.rs", "WebhookConfig"),
    "notifications.email": ("collector/src/config.rs", "EmailConfig"),
    "web": ("collector/src/config.rs", "WebConfig"),
}
# Keys that hold a file the binary opens (checked against the container's mounts).
AGENT_FILES = ["collector.ca", "collector.cert", "collector.key", "fingerprint.key_file", "detection.rules"]
COLLECTOR_FILES = ["register", "tls.ca", "tls.cert", "tls.key", "tls.ca_key",
                   "notifications.webhook.secret_file", "notifications.email.password_file",
                   "notifications.email.ca_file"]

problems: list[str] = []


def problem(where: str, what: str) -> None:
    problems.append(f"{where}: {what}")


def skip_or_fail(reason: str) -> None:
    if os.environ.get("CI"):
        print(f"FAILED check_kubernetes: {reason}", file=sys.stderr)
        sys.exit(1)
    print(f"SKIPPED check_kubernetes because {reason}", file=sys.stderr)
    sys.exit(0)


# --- Rust structs ---------------------------------------------------------------------------

class Field:
    def __init__(self, name: str, required: bool):
        self.name = name
        self.required = required


def rust_struct_fields(path: str, struct: str) -> dict[str, Field]:
    """The serde fields of `pub struct <struct>` in `path`: TOML name -> Field."""
    text = (ROOT / path).read_text()
    m = re.search(r"((?:^[ \t]*#\[[^\n]*\]\n|^[ \t]*///[^\n]*\n)*)^pub struct " + struct + r"\s*\{\n(.*?)^\}",
                  text, re.M | re.S)
    if not m:
        raise SystemExit(f"check_kubernetes: struct {struct} not found in {path}: update the table in {__file__}")
    struct_attrs, body = m.group(1), m.group(2)
    struct_default = bool(re.search(r"#\[serde\([^)]*\bdefault\b", struct_attrs))
    if "deny_unknown_fields" not in struct_attrs:
        raise SystemExit(f"check_kubernetes: {path}: {struct} no longer denies unknown fields")
    fields: dict[str, Field] = {}
    attrs: list[str] = []
    for line in body.splitlines():
        s = line.strip()
        if s.startswith("#["):
            attrs.append(s)
            continue
        fm = re.match(r"pub (\w+)\s*:\s*(.+?),?$", s)
        if fm:
            name, ty = fm.group(1), fm.group(2)
            serde = " ".join(a for a in attrs if a.startswith("#[serde("))
            rename = re.search(r'rename\s*=\s*"([^"]+)"', serde)
            has_default = struct_default or re.search(r"\bdefault\b", serde) is not None
            required = not has_default and not ty.startswith("Option<")
            fields[rename.group(1) if rename else name] = Field(name, required)
            attrs = []
        elif s and not s.startswith("//"):
            attrs = []
    return fields


def check_toml_keys(where: str, data: dict, tables: dict[str, tuple[str, str]]) -> None:
    """Checks every key of `data` against the structs of `tables`, recursively."""
    def walk(table_path: str, value: dict) -> None:
        src, struct = tables[table_path]
        fields = rust_struct_fields(src, struct)
        shown = table_path.replace("[]", "").replace(".*", "") or "top level"
        for name, f in fields.items():
            if f.required and name not in value:
                problem(where, f"[{shown}]: missing required field `{name}` ({struct} in {src})")
        for key, v in value.items():
            if key not in fields:
                problem(where, f"[{shown}]: unknown field `{key}`; {struct} ({src}) has: {', '.join(sorted(fields))}")
                continue
            sub = f"{table_path}.{key}" if table_path else key
            if sub + "[]" in tables:
                items = v if isinstance(v, list) else [v]
                for item in items:
                    if not isinstance(item, dict):
                        problem(where, f"`{sub}` must be an array of tables")
                    else:
                        walk(sub + "[]", item)
            elif sub + ".*" in tables:
                if not isinstance(v, dict):
                    problem(where, f"`{sub}` must be a table")
                    continue
                for name, item in v.items():
                    if isinstance(item, dict):
                        walk(sub + ".*", item)
                    else:
                        problem(where, f"`{sub}.{name}` must be a table")
            elif sub in tables:
                if isinstance(v, dict):
                    walk(sub, v)
                else:
                    problem(where, f"`{sub}` must be a table")
    walk("", data)


def dotted(data: dict, key: str):
    cur = data
    for part in key.split("."):
        if not isinstance(cur, dict) or part not in cur:
            return None
        cur = cur[part]
    return cur


# --- Kubernetes documents -------------------------------------------------------------------

def load_documents(directory: Path):
    import yaml
    docs = []
    files = sorted(directory.glob("*.yaml")) + sorted(directory.glob("*.yml"))
    if not files:
        problem(str(directory), "no YAML file")
    for f in files:
        try:
            for i, doc in enumerate(yaml.safe_load_all(f.read_text())):
                if doc is None:
                    continue
                if not isinstance(doc, dict):
                    problem(f"{f.name}: document {i + 1}", "not a mapping")
                    continue
                docs.append((f.name, i + 1, doc))
        except yaml.YAMLError as e:
            problem(f.name, f"invalid YAML: {e}")
    return docs


def doc_name(fname: str, doc: dict) -> str:
    return f"{fname}: {doc.get('kind', '?')}/{(doc.get('metadata') or {}).get('name', '?')}"


def schema_validate(docs, versions: list[str]) -> None:
    import jsonschema
    import kubernetes_validate.utils as kv
    from referencing import Registry, Resource

    available = kv.all_versions()
    for want in versions:
        version = kv.latest_version() if want == "latest" else want
        match = [v for v in available if kv.major_minor(v) == kv.major_minor(version)]
        if not match:
            problem("schemas", f"kubernetes-validate {kv.__version__} has no schemas for Kubernetes {version}")
            continue
        version = match[-1]
        schema_dir = f"v{version}-local-strict"
        definitions = Resource.from_contents(kv.schema_contents(f"kubernetes-json-schema/{schema_dir}/_definitions.json", version))
        for fname, _, doc in docs:
            where = doc_name(fname, doc)
            api, kind = doc.get("apiVersion"), doc.get("kind")
            if not isinstance(api, str) or not isinstance(kind, str):
                problem(where, "apiVersion and kind are required")
                continue
            api_file = re.sub(r"^([^./]*)(?:\.[^/]*)?/", r"\1-", api)
            try:
                schema = kv.schema_contents(f"kubernetes-json-schema/{schema_dir}/{kind.lower()}-{api_file}.json", version)
            except FileNotFoundError:
                problem(where, f"no schema for {api} {kind} in Kubernetes {kv.major_minor(version)}")
                continue
            registry = definitions @ (Resource.from_contents(schema) @ Registry())
            validator = jsonschema.Draft202012Validator(schema, registry=registry)
            for err in sorted(validator.iter_errors(doc), key=lambda e: list(e.absolute_path)):
                path = ".".join(str(p) for p in err.absolute_path) or "(document)"
                problem(where, f"Kubernetes {kv.major_minor(version)}: {path}: {err.message}")
        print(f"ok   {len(docs)} documents against the Kubernetes {kv.major_minor(version)} schemas (strict, kubernetes-validate {kv.__version__})")


def pod_spec(doc: dict):
    kind = doc.get("kind")
    spec = doc.get("spec") or {}
    if kind in ("Deployment", "DaemonSet", "StatefulSet", "ReplicaSet", "Job"):
        return (spec.get("template") or {}).get("spec") or {}
    if kind == "CronJob":
        return ((((spec.get("jobTemplate") or {}).get("spec") or {}).get("template") or {}).get("spec")) or {}
    if kind == "Pod":
        return spec
    return None


def check_references(docs) -> None:
    by_kind: dict[str, dict[str, dict]] = {}
    namespaces = set()
    for _, _, doc in docs:
        meta = doc.get("metadata") or {}
        by_kind.setdefault(doc.get("kind"), {})[meta.get("name")] = doc
        if doc.get("kind") == "Namespace":
            namespaces.add(meta.get("name"))
        elif meta.get("namespace") is None:
            problem(doc_name(_, doc), "no metadata.namespace (it would land in the current namespace)")
    for fname, _, doc in docs:
        ns = (doc.get("metadata") or {}).get("namespace")
        if ns is not None and namespaces and ns not in namespaces:
            problem(doc_name(fname, doc), f"namespace {ns} is not among the example's Namespaces {sorted(namespaces)}")

    workloads = []
    for fname, _, doc in docs:
        spec = pod_spec(doc)
        if spec is None:
            continue
        where = doc_name(fname, doc)
        workloads.append((where, doc, spec))
        labels = (((doc.get("spec") or {}).get("template") or {}).get("metadata") or {}).get("labels") or {}
        selector = ((doc.get("spec") or {}).get("selector") or {}).get("matchLabels") or {}
        if doc.get("kind") != "Pod" and not selector:
            problem(where, "no spec.selector.matchLabels")
        for k, v in selector.items():
            if labels.get(k) != v:
                problem(where, f"selector {k}={v} does not match the pod template's labels")
        sa = spec.get("serviceAccountName")
        if sa and sa not in by_kind.get("ServiceAccount", {}):
            problem(where, f"serviceAccountName {sa}: no such ServiceAccount in the example")
        volumes = {v.get("name"): v for v in spec.get("volumes") or []}
        for v in volumes.values():
            for key, kind, ref in (("configMap", "ConfigMap", "name"), ("secret", "Secret", "secretName"),
                                   ("persistentVolumeClaim", "PersistentVolumeClaim", "claimName")):
                if key in v:
                    name = v[key].get(ref)
                    if name not in by_kind.get(kind, {}):
                        problem(where, f"volume {v.get('name')}: {kind} {name} is not in the example")
        all_containers = (spec.get("initContainers") or []) + (spec.get("containers") or [])
        for c in all_containers:
            cwhere = f"{where}: container {c.get('name')}"
            for m in c.get("volumeMounts") or []:
                if m.get("name") not in volumes:
                    problem(cwhere, f"volumeMount {m.get('name')}: no such volume")
            sc = c.get("securityContext") or {}
            if sc.get("readOnlyRootFilesystem") is not True:
                problem(cwhere, "securityContext.readOnlyRootFilesystem must be true")
            if sc.get("allowPrivilegeEscalation") is not False:
                problem(cwhere, "securityContext.allowPrivilegeEscalation must be false")
            if sc.get("privileged"):
                problem(cwhere, "must not be privileged")
            if "ALL" not in ((sc.get("capabilities") or {}).get("drop") or []):
                problem(cwhere, "securityContext.capabilities.drop must hold ALL")
            limits = (c.get("resources") or {}).get("limits") or {}
            if "cpu" not in limits or "memory" not in limits:
                problem(cwhere, "resources.limits.cpu and .memory are required")
            ports = {p.get("name") for p in c.get("ports") or []}
            for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
                for action in ("httpGet", "tcpSocket"):
                    port = ((c.get(probe) or {}).get(action) or {}).get("port")
                    if isinstance(port, str) and port not in ports:
                        problem(cwhere, f"{probe}: no port named {port}")

    for fname, _, svc in docs:
        if svc.get("kind") != "Service":
            continue
        where = doc_name(fname, svc)
        selector = (svc.get("spec") or {}).get("selector") or {}
        selected = [(w, s) for w, d, s in workloads
                    if selector and all(((((d.get("spec") or {}).get("template") or {}).get("metadata") or {}).get("labels") or {}).get(k) == v
                                        for k, v in selector.items())]
        if not selected:
            problem(where, f"selector {selector} selects no pod of the example")
        for p in (svc.get("spec") or {}).get("ports") or []:
            tp = p.get("targetPort")
            if isinstance(tp, str):
                names = {cp.get("name") for _, s in selected for c in s.get("containers") or [] for cp in c.get("ports") or []}
                if tp not in names:
                    problem(where, f"port {p.get('name')}: targetPort {tp} is no container port name of the selected pods")


# --- Embedded configuration -----------------------------------------------------------------

def config_source(docs, spec: dict, container: dict, path: str):
    """Where the file `path` read by `container` comes from: (mount, volume) or None."""
    volumes = {v.get("name"): v for v in spec.get("volumes") or []}
    best = None
    for m in container.get("volumeMounts") or []:
        mp = m.get("mountPath", "").rstrip("/")
        if path == mp or path.startswith(mp + "/"):
            if best is None or len(mp) > len(best[0].get("mountPath", "").rstrip("/")):
                best = (m, volumes.get(m.get("name")) or {})
    return best


def secret_keys(docs, name: str):
    for _, _, d in docs:
        if d.get("kind") == "Secret" and (d.get("metadata") or {}).get("name") == name:
            return set((d.get("data") or {}).keys()) | set((d.get("stringData") or {}).keys())
    return None


def configmap_data(docs, name: str) -> dict:
    for _, _, d in docs:
        if d.get("kind") == "ConfigMap" and (d.get("metadata") or {}).get("name") == name:
            return d.get("data") or {}
    return {}


def check_file_in_pod(docs, where: str, spec: dict, container: dict, key: str, path: str, directory: bool = False) -> None:
    if not path.startswith("/"):
        problem(where, f"`{key}` = {path}: use an absolute path in a container")
        return
    src = config_source(docs, spec, container, path)
    if src is None:
        problem(where, f"`{key}` = {path} is under no volumeMount of container {container.get('name')}")
        return
    mount, volume = src
    rel = path[len(mount.get("mountPath", "").rstrip("/")) + 1:]
    if "secret" in volume and not directory:
        keys = secret_keys(docs, volume["secret"].get("secretName"))
        if keys is not None and rel not in keys:
            problem(where, f"`{key}` = {path}: Secret {volume['secret'].get('secretName')} has no key {rel} (keys: {', '.join(sorted(keys))})")
    if "configMap" in volume and not directory:
        data = configmap_data(docs, volume["configMap"].get("name"))
        if rel not in data:
            problem(where, f"`{key}` = {path}: ConfigMap {volume['configMap'].get('name')} has no key {rel}")


def find_collector_binary():
    for p in (os.environ.get("CUSTOS_COLLECTOR_BIN"), ROOT / "target/release/custos-collector",
              ROOT / "target/debug/custos-collector", shutil.which("custos-collector")):
        if p and Path(p).is_file() and os.access(p, os.X_OK):
            return str(p)
    return None


def check_register(where: str, text: str, name: str) -> None:
    try:
        tomllib.loads(text) if name.endswith(".toml") else None
    except tomllib.TOMLDecodeError as e:
        problem(where, f"{name}: invalid TOML: {e}")
        return
    binary = find_collector_binary()
    if binary is None:
        print(f"note {where}: {name} parsed; build custos-collector to run `register check` on it", file=sys.stderr)
        return
    with tempfile.TemporaryDirectory() as d:
        f = Path(d) / name
        f.write_text(text)
        r = subprocess.run([binary, "register", "check", str(f)], capture_output=True, text=True, timeout=60)
        if r.returncode != 0:
            problem(where, f"`custos-collector register check {name}` failed: {(r.stdout + r.stderr).strip()}")
        else:
            print(f"ok   {where}: {name}: custos-collector register check ({binary})")


def check_configs(docs) -> None:
    """Finds each container's --config file, its ConfigMap source, and checks its content."""
    for fname, _, doc in docs:
        spec = pod_spec(doc)
        if spec is None:
            continue
        where = doc_name(fname, doc)
        for c in spec.get("containers") or []:
            args = (c.get("command") or []) + (c.get("args") or [])
            if "--config" not in args or args.index("--config") + 1 >= len(args):
                continue
            path = args[args.index("--config") + 1]
            base = os.path.basename(path)
            src = config_source(docs, spec, c, path)
            if src is None:
                problem(where, f"--config {path} is under no volumeMount of container {c.get('name')}")
                continue
            _, volume = src
            text, origin = None, None
            if "configMap" in volume:
                text = configmap_data(docs, volume["configMap"].get("name")).get(base)
                origin = f"ConfigMap {volume['configMap'].get('name')}"
            elif "emptyDir" in volume:
                # Rendered by an init container from a ConfigMap key of the same name.
                for ic in spec.get("initContainers") or []:
                    if not any(m.get("name") == volume_name(spec, volume) for m in ic.get("volumeMounts") or []):
                        continue
                    for m in ic.get("volumeMounts") or []:
                        v = next((v for v in spec.get("volumes") or [] if v.get("name") == m.get("name")), {})
                        if "configMap" in v and base in configmap_data(docs, v["configMap"].get("name")):
                            text = configmap_data(docs, v["configMap"].get("name"))[base]
                            origin = f"ConfigMap {v['configMap'].get('name')} (rendered by init container {ic.get('name')})"
            if text is None:
                problem(where, f"--config {path}: no ConfigMap key {base} feeds it")
                continue
            cwhere = f"{where}: {origin}: {base}"
            try:
                data = tomllib.loads(text)
            except tomllib.TOMLDecodeError as e:
                problem(cwhere, f"invalid TOML: {e}")
                continue
            binary = " ".join(c.get("command") or []) + " " + (c.get("image") or "")
            if "agent" in base or "custos-agent" in binary:
                check_agent_config(docs, cwhere, spec, c, data)
            elif "collector" in base or "custos-collector" in binary:
                check_collector_config(docs, cwhere, spec, c, data)
            else:
                problem(cwhere, "neither an agent nor a collector config")
            if not any(p.startswith(cwhere) for p in problems):
                print(f"ok   {cwhere}: parsed and checked against the Rust config structs")


def volume_name(spec: dict, volume: dict):
    for v in spec.get("volumes") or []:
        if v is volume:
            return v.get("name")
    return None


def check_agent_config(docs, where, spec, container, data) -> None:
    check_toml_keys(where, data, AGENT_TABLES)
    agent_id = data.get("agent_id", "")
    if not re.fullmatch(r"[A-Za-z0-9_.-]+", str(agent_id)):
        problem(where, f"agent_id `{agent_id}` must use only letters, digits, '-', '_' and '.'")
    coll = data.get("collector") or {}
    for u in [coll.get("url")] + list(coll.get("failover") or []):
        if u is not None and not str(u).startswith("https://"):
            problem(where, f"collector url {u} must start with https://")
    for key in AGENT_FILES:
        v = dotted(data, key)
        if v is not None:
            check_file_in_pod(docs, where, spec, container, key, v, directory=(key == "detection.rules"))
    if "data_dir" in data:
        check_file_in_pod(docs, where, spec, container, "data_dir", data["data_dir"], directory=True)
        src = config_source(docs, spec, container, data["data_dir"])
        if src and src[0].get("readOnly"):
            problem(where, f"data_dir {data['data_dir']} is mounted read-only")
    for i, log in enumerate(data.get("log") or []):
        for g in log.get("paths") or []:
            fixed = re.split(r"[*?\[]", g, maxsplit=1)[0]
            fixed = fixed if fixed.endswith("/") else os.path.dirname(fixed) + "/"
            if config_source(docs, spec, container, fixed.rstrip("/") + "/x") is None:
                problem(where, f"log[{i}] path {g}: {fixed} is under no volumeMount")
    if "metrics" in data:
        port = str(data["metrics"].get("listen", "")).rsplit(":", 1)[-1]
        if port and not any(str(p.get("containerPort")) == port for p in container.get("ports") or []):
            problem(where, f"metrics.listen port {port} is not a containerPort")


def check_collector_config(docs, where, spec, container, data) -> None:
    check_toml_keys(where, data, COLLECTOR_TABLES)
    for key in COLLECTOR_FILES:
        v = dotted(data, key)
        if v is not None:
            check_file_in_pod(docs, where, spec, container, key, v)
    if "data_dir" in data:
        src = config_source(docs, spec, container, data["data_dir"])
        if src is None:
            problem(where, f"data_dir {data['data_dir']} is under no volumeMount")
        elif src[0].get("readOnly"):
            problem(where, f"data_dir {data['data_dir']} is mounted read-only")
    ports = {str(p.get("containerPort")) for p in container.get("ports") or []}
    for key in ("listen", "web.listen"):
        v = dotted(data, key)
        if v is not None and str(v).rsplit(":", 1)[-1] not in ports:
            problem(where, f"{key} {v}: port is not a containerPort")
    reg = data.get("register")
    if reg:
        src = config_source(docs, spec, container, reg)
        if src and "configMap" in src[1]:
            name = os.path.basename(reg)
            text = configmap_data(docs, src[1]["configMap"].get("name")).get(name)
            if text is not None:
                check_register(f"{where}: register", text, name)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--kubernetes-version", action="append", dest="versions",
                    help=f"Kubernetes versions to validate against (default: {OLDEST} and the newest the package has)")
    ap.add_argument("--dir", type=Path, default=EXAMPLE, help="the manifests' directory (default: examples/kubernetes)")
    args = ap.parse_args()
    try:
        import yaml  # noqa: F401
        import jsonschema  # noqa: F401
        import kubernetes_validate.utils  # noqa: F401
    except ImportError as e:
        skip_or_fail(f"the Python package {e.name} is missing (pip install kubernetes-validate)")

    docs = load_documents(args.dir)
    schema_validate(docs, args.versions or [OLDEST, "latest"])
    check_references(docs)
    check_configs(docs)
    if problems:
        for p in problems:
            print(f"FAIL {p}", file=sys.stderr)
        print(f"check_kubernetes: {len(problems)} problem(s)", file=sys.stderr)
        return 1
    print(f"check_kubernetes: passed ({len(docs)} documents)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
