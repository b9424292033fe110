"""Cross-object checks of a rendered kustomization, the kind a JSON schema cannot express.

kubeconform checks each object alone. This checks how they fit together, as the cluster would only tell at apply
time or, worse, at run time:

- a workload's selector matches its own pod template; its volume mounts name volumes it declares; each volume has
  one source; config maps and claims it uses are part of the render (Secrets may come from elsewhere and are
  listed);
- every container (init containers too) has cpu and memory requests and limits, a tagged image, and runs non-root
  with a read-only root file system and no privilege escalation;
- probes name ports the container declares;
- Services, disruption budgets, PodMonitors and ServiceMonitors select pods (Services) that exist, and the ports
  they name exist there; autoscalers point at a workload of the render; a StatefulSet's serviceName is a headless
  Service of the render.

Usage: python lint_manifests.py rendered.yaml [...]; exit status 1 on any problem.
"""
import sys

import yaml

WORKLOADS = {"Deployment", "StatefulSet", "DaemonSet", "Job"}
# Labels the StatefulSet controller adds to each pod, beyond those of the template.
STATEFULSET_POD_LABELS = {"apps.kubernetes.io/pod-index", "statefulset.kubernetes.io/pod-name"}


class Render:
    def __init__(self, path, docs):
        self.path = path
        self.docs = [d for d in docs if d]
        self.problems = []
        self.notes = []

    def of_kind(self, *kinds):
        return [d for d in self.docs if d.get("kind") in kinds]

    def names(self, kind):
        return {d["metadata"]["name"] for d in self.of_kind(kind)}

    def problem(self, obj, message):
        self.problems.append(f"{obj['kind']} {obj['metadata']['name']}: {message}")


def selects(selector, labels, extra_keys=frozenset()):
    """Whether a label selector (matchLabels / matchExpressions, or a Service's plain map) can match a pod with
    these labels; keys in extra_keys are set per pod by a controller and match any value."""
    if not selector:
        return False
    match_labels = selector.get("matchLabels", {}) if "matchLabels" in selector or "matchExpressions" in selector else selector
    for key, value in match_labels.items():
        if key not in extra_keys and labels.get(key) != value:
            return False
    for expr in selector.get("matchExpressions", []) if "matchExpressions" in selector else []:
        key, op, values = expr["key"], expr["operator"], expr.get("values", [])
        present = key in labels or key in extra_keys
        if op == "In" and not (key in extra_keys or labels.get(key) in values):
            return False
        if op == "NotIn" and labels.get(key) in values:
            return False
        if op == "Exists" and not present:
            return False
        if op == "DoesNotExist" and present:
            return False
    return True


def pods(render):
    """(workload, pod template labels, controller-set label keys, pod spec) for every workload."""
    for w in render.of_kind(*WORKLOADS):
        template = w["spec"]["template"]
        extra = STATEFULSET_POD_LABELS if w["kind"] == "StatefulSet" else frozenset()
        yield w, template.get("metadata", {}).get("labels", {}), extra, template["spec"]


def port_names(spec):
    return {p.get("name") for c in spec.get("containers", []) for p in c.get("ports", []) if p.get("name")}


def port_numbers(container):
    return {p["containerPort"] for p in container.get("ports", [])}


def check_workloads(r):
    config_maps, claims = r.names("ConfigMap"), r.names("PersistentVolumeClaim")
    for w, labels, _, spec in pods(r):
        if not selects(w["spec"].get("selector", {}), labels):
            r.problem(w, "its selector does not match its pod template's labels")
        volumes = {}
        for v in spec.get("volumes", []):
            sources = [k for k in v if k != "name"]
            if len(sources) != 1:
                r.problem(w, f"volume {v['name']} has {len(sources)} sources ({', '.join(sources) or 'none'})")
            volumes[v["name"]] = v
            if "configMap" in v and v["configMap"]["name"] not in config_maps:
                r.problem(w, f"volume {v['name']} uses ConfigMap {v['configMap']['name']}, which is not in the render")
            if "persistentVolumeClaim" in v and v["persistentVolumeClaim"]["claimName"] not in claims:
                r.problem(w, f"volume {v['name']} uses claim {v['persistentVolumeClaim']['claimName']}, which is not in the render")
            if "secret" in v:
                r.notes.append(f"{w['kind']} {w['metadata']['name']} expects Secret {v['secret']['secretName']}")
        pod_security = spec.get("securityContext", {})
        for c in spec.get("initContainers", []) + spec.get("containers", []):
            where = f"container {c['name']}"
            for m in c.get("volumeMounts", []):
                if m["name"] not in volumes:
                    r.problem(w, f"{where} mounts volume {m['name']}, which the pod does not declare")
            for source in c.get("envFrom", []):
                ref = source.get("configMapRef")
                if ref and ref["name"] not in config_maps:
                    r.problem(w, f"{where} reads ConfigMap {ref['name']}, which is not in the render")
            resources = c.get("resources", {})
            for kind in ("requests", "limits"):
                for resource in ("cpu", "memory"):
                    if resource not in resources.get(kind, {}):
                        r.problem(w, f"{where} has no {resource} {kind[:-1]}")
            image = c.get("image", "")
            if ":" not in image.rsplit("/", 1)[-1] and "@" not in image:
                r.problem(w, f"{where} image {image!r} has no tag")
            security = c.get("securityContext", {})
            if not (security.get("runAsNonRoot") or pod_security.get("runAsNonRoot")):
                r.problem(w, f"{where} may run as root (runAsNonRoot is not set)")
            if not security.get("readOnlyRootFilesystem"):
                r.problem(w, f"{where} has a writable root file system")
            if security.get("allowPrivilegeEscalation", True):
                r.problem(w, f"{where} allows privilege escalation")
            check_probes(r, w, c)


def check_probes(r, w, c):
    names, numbers = {p.get("name") for p in c.get("ports", [])}, port_numbers(c)
    for kind in ("startupProbe", "readinessProbe", "livenessProbe"):
        probe = c.get(kind)
        if not probe:
            continue
        for handler in ("grpc", "httpGet", "tcpSocket"):
            if handler in probe:
                port = probe[handler]["port"]
                if (isinstance(port, str) and port not in names) or (isinstance(port, int) and port not in numbers):
                    r.problem(w, f"container {c['name']} {kind} uses port {port}, which the container does not declare")


def check_services(r):
    workloads = list(pods(r))
    headless = {s["metadata"]["name"] for s in r.of_kind("Service") if s["spec"].get("clusterIP") == "None"}
    for s in r.of_kind("Service"):
        selector = s["spec"].get("selector")
        if not selector:
            continue
        matched = [(w, spec) for w, labels, extra, spec in workloads if selects(selector, labels, extra)]
        if not matched:
            r.problem(s, f"selects no pod of the render ({selector})")
        for p in s["spec"].get("ports", []):
            target = p.get("targetPort", p["port"])
            if isinstance(target, str) and any(target not in port_names(spec) for _, spec in matched):
                r.problem(s, f"port {p.get('name', p['port'])} targets {target!r}, which a selected pod does not name")
    for w in r.of_kind("StatefulSet"):
        if w["spec"].get("serviceName") not in headless:
            r.problem(w, f"serviceName {w['spec'].get('serviceName')!r} is not a headless Service of the render")


def check_selectors(r):
    workloads = list(pods(r))
    for pdb in r.of_kind("PodDisruptionBudget"):
        if not any(selects(pdb["spec"]["selector"], labels, extra) for _, labels, extra, _ in workloads):
            r.problem(pdb, "selects no pod of the render")
    targets = {(w["kind"], w["metadata"]["name"]) for w in r.of_kind(*WORKLOADS)}
    for hpa in r.of_kind("HorizontalPodAutoscaler"):
        ref = hpa["spec"]["scaleTargetRef"]
        if (ref["kind"], ref["name"]) not in targets:
            r.problem(hpa, f"scales {ref['kind']} {ref['name']}, which is not in the render")
    for pm in r.of_kind("PodMonitor"):
        matched = [spec for _, labels, extra, spec in workloads if selects(pm["spec"]["selector"], labels, extra)]
        if not matched:
            r.problem(pm, "selects no pod of the render")
        for e in pm["spec"].get("podMetricsEndpoints", []):
            if "port" in e and any(e["port"] not in port_names(spec) for spec in matched):
                r.problem(pm, f"scrapes port {e['port']!r}, which a selected pod does not name")
    for sm in r.of_kind("ServiceMonitor"):
        matched = [s for s in r.of_kind("Service") if selects(sm["spec"]["selector"], s["metadata"].get("labels", {}))]
        if not matched:
            r.problem(sm, "selects no Service of the render")
        for e in sm["spec"].get("endpoints", []):
            if "port" in e and any(e["port"] not in {p.get("name") for p in s["spec"]["ports"]} for s in matched):
                r.problem(sm, f"scrapes port {e['port']!r}, which a selected Service does not name")


def main(paths):
    failed = False
    for path in paths:
        with open(path) as f:
            r = Render(path, list(yaml.safe_load_all(f)))
        check_workloads(r)
        check_services(r)
        check_selectors(r)
        for note in sorted(set(r.notes)):
            print(f"{path}: note: {note}")
        for p in r.problems:
            print(f"{path}: {p}", file=sys.stderr)
        print(f"{path}: {len(r.docs)} objects, {'ok' if not r.problems else f'{len(r.problems)} problems'}")
        failed |= bool(r.problems)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
