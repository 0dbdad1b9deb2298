"""Production namespaces and the controllers in them that K8S-PROD-001..004 judge, with the
PodDisruptionBudgets and HorizontalPodAutoscalers that cover each."""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from kitemark.core.checks import error, failed, not_applicable, passed
from kitemark.core.inputs import Input
from kitemark.core.model import Finding
from kitemark.targets.cluster import shapes
from kitemark.targets.cluster.view import NAMESPACE, KObject, NamespaceView, wrong_types

PRODUCTION_LABEL = Input(
    "production_label",
    default={"cloud-platform.justice.gov.uk/is-production": "true"},
    description="The label (key: value) that marks a namespace as production (K8S-PROD-001..004)",
    schema={
        "type": "object",
        "minProperties": 1,
        "maxProperties": 1,
        "additionalProperties": {"type": "string"},
    },
)
MIN_REPLICAS = Input(
    "production_min_replicas",
    default=2,
    description="The fewest replicas a production Deployment or StatefulSet may run (K8S-PROD-001)",
    schema={"type": "integer", "minimum": 1},
)
CONTROLLERS = ("apps/Deployment", "apps/StatefulSet", "extensions/Deployment")
PDB_READS = ["policy/PodDisruptionBudget"]
HPA_READS = ["autoscaling/HorizontalPodAutoscaler"]
READS = ["v1/Namespace", *CONTROLLERS[:2]]

INT_OR_STRING = shapes.Scalar("an integer or a percentage", (int, str))
CONTROLLER_SHAPE = shapes.Map(
    {
        "spec": shapes.Map(
            {
                "replicas": shapes.INT,
                "template": shapes.Map({"metadata": shapes.Map({"labels": shapes.Map(values=shapes.STR)})}),
                "strategy": shapes.Map(
                    {
                        "type": shapes.STR,
                        "rollingUpdate": shapes.Map(
                            {"maxUnavailable": INT_OR_STRING, "maxSurge": INT_OR_STRING}
                        ),
                    }
                ),
            }
        )
    }
)
PDB_SHAPE = shapes.Map(
    {
        "spec": shapes.Map(
            {
                "selector": shapes.LABEL_SELECTOR,
                "minAvailable": INT_OR_STRING,
                "maxUnavailable": INT_OR_STRING,
            }
        )
    }
)
HPA_SHAPE = shapes.Map(
    {
        "spec": shapes.Map(
            {
                "scaleTargetRef": shapes.Map(
                    {"kind": shapes.STR, "name": shapes.STR, "apiVersion": shapes.STR}
                ),
                "minReplicas": shapes.INT,
                "maxReplicas": shapes.INT,
            }
        )
    }
)
PERCENT = re.compile(r"^(\d+)%$")


@dataclass(frozen=True)
class Context:
    """What the production checks know of one namespace: its readable PDBs and HPAs."""

    ns: NamespaceView
    pdbs: list[KObject]
    hpas: list[KObject]

    def hpa_for(self, controller: KObject) -> KObject | None:
        """The HPA whose scaleTargetRef names ``controller`` (kind and name; group when given)."""
        for hpa in self.hpas:
            ref = hpa.get("spec", "scaleTargetRef") or {}
            group = str(ref.get("apiVersion") or "").rpartition("/")[0]
            # `extensions` Deployments are served as `apps` ones: one object, two names.
            same_group = not ref.get("apiVersion") or _apps(group) == _apps(controller.group)
            if ref.get("kind") == controller.kind and ref.get("name") == controller.name and same_group:
                return hpa
        return None

    def replicas(self, controller: KObject) -> tuple[int, str]:
        """The replicas ``controller`` runs at least, and where that comes from: its HPA's
        ``minReplicas`` (1 when unset) when one targets it, else ``spec.replicas`` (1 when unset)."""
        hpa = self.hpa_for(controller)
        if hpa is not None:
            return int(
                hpa.get("spec", "minReplicas") or 1
            ), f"HorizontalPodAutoscaler '{hpa.name}' minReplicas"
        value = controller.get("spec", "replicas")
        return (1, "spec.replicas unset (1)") if value is None else (int(value), "spec.replicas")


def _apps(group: str) -> str:
    return "apps" if group == "extensions" else group


def scaled(value: Any, total: int, round_up: bool) -> int | None:
    """An int-or-percentage (``maxUnavailable``, ``minAvailable``) as a number of pods, rounded as
    Kubernetes rounds it; ``None`` when it is neither."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    match = PERCENT.match(str(value))
    if match is None:
        return None
    exact = int(match.group(1)) * total / 100
    return math.ceil(exact) if round_up else math.floor(exact)


def selects(selector: Mapping[str, Any] | None, labels: Mapping[str, str]) -> bool:
    """Whether a label selector selects pods labelled ``labels`` (an empty one selects all)."""
    selector = selector or {}
    for key, value in (selector.get("matchLabels") or {}).items():
        if labels.get(key) != value:
            return False
    for rule in selector.get("matchExpressions") or []:
        key, op, values = rule.get("key"), rule.get("operator"), rule.get("values") or []
        present = key in labels
        if op == "In" and (not present or labels[key] not in values):
            return False
        if op == "NotIn" and present and labels[key] in values:
            return False
        if (op == "Exists" and not present) or (op == "DoesNotExist" and present):
            return False
        if op not in ("In", "NotIn", "Exists", "DoesNotExist"):
            return False
    return True


def _is_production(ns: NamespaceView, inputs: Mapping[str, Any]) -> Finding | None:
    """``None`` when ``ns`` is production; else the finding that says why the check does not apply
    (or cannot tell)."""
    [(key, value)] = dict(inputs[PRODUCTION_LABEL.name]).items()
    if ns.system:
        return not_applicable(ns.ref, f"{ns.name} is a system namespace (input system_namespaces)")
    if ns.namespace is None:
        if ns.implied:
            return not_applicable(ns.ref, ns.implied_reason("Namespace object", "whether it is production"))
        return error(
            ns.ref,
            "cannot tell whether the namespace is production: the snapshot holds objects in it "
            "but not its Namespace object",
        )
    wrong = wrong_types(ns.namespace.raw, NAMESPACE)
    if wrong:
        return error(
            ns.ref, f"cannot read the Namespace's labels: {shapes.listed(wrong)}", location=ns.location
        )
    actual = ns.namespace.labels.get(key)
    if actual != value:
        return not_applicable(
            ns.ref, f"not a production namespace (label {key}={actual!r}, production is {value!r})"
        )
    return None


def _readable(
    ns: NamespaceView, kinds: list[str], shape: shapes.Shape
) -> tuple[list[KObject], list[Finding]]:
    good, bad = [], []
    for obj in ns.of_kind(*kinds):
        wrong = wrong_types(obj.raw, shape)
        if wrong:
            bad.append(
                error(
                    obj.ref,
                    f"cannot read {obj.kind} '{obj.name}': {shapes.listed(wrong)}",
                    location=obj.source,
                )
            )
        else:
            good.append(obj)
    return good, bad


# One controller's (problems, evidence, what a pass says).
Judgement = tuple[list[str], dict[str, Any], str]


def production_findings(
    ns: NamespaceView,
    inputs: Mapping[str, Any],
    judge: Callable[[KObject, Context], Judgement],
    kinds: tuple[str, ...] = CONTROLLERS,
) -> Iterator[Finding]:
    """One finding per Deployment/StatefulSet of a production namespace, judged by ``judge``; an
    *error* for each of them, PDB or HPA that cannot be read (an unreadable PDB or HPA is never taken
    as absent without saying so)."""
    reason = _is_production(ns, inputs)
    if reason is not None:
        yield reason
        return
    pdbs, bad_pdbs = _readable(ns, PDB_READS, PDB_SHAPE)
    hpas, bad_hpas = _readable(ns, HPA_READS, HPA_SHAPE)
    yield from bad_pdbs
    yield from bad_hpas
    controllers, bad = _readable(ns, list(kinds), CONTROLLER_SHAPE)
    yield from bad
    if not controllers and not bad:
        names = " or ".join(dict.fromkeys(k.split("/")[1] for k in kinds))
        yield not_applicable(ns.ref, f"no {names} in this production namespace")
        return
    context = Context(ns, pdbs, hpas)
    for controller in controllers:
        problems, evidence, message = judge(controller, context)
        if problems:
            yield failed(controller.ref, "; ".join(problems), evidence=evidence, location=controller.source)
        else:
            yield passed(controller.ref, message, evidence=evidence, location=controller.source)
