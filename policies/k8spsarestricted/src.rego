package k8spsarestricted

import rego.v1

# MoJ Cloud Platform: every team namespace enforces the Pod Security Admission "restricted" profile,
# so pods running as root, privileged or with added capabilities are refused by the API server itself.

psa_label := "pod-security.kubernetes.io/enforce"

violation contains {"msg": msg, "details": {"label": psa_label}} if {
	is_namespace
	not input.review.object.metadata.labels[psa_label]
	msg := sprintf("namespace %v must be labelled %v: restricted", [namespace_name, psa_label])
}

violation contains {"msg": msg, "details": {"label": psa_label, "value": value}} if {
	is_namespace
	value := input.review.object.metadata.labels[psa_label]
	value != "restricted"
	msg := sprintf("namespace %v enforces Pod Security level %v; it must be restricted", [namespace_name, value])
}

is_namespace if input.review.kind.kind == "Namespace"

namespace_name := input.review.object.metadata.name
