package k8spsarestricted

import rego.v1

# Label keys are written out rather than taken from `psa_label`: regorus 0.13 mis-evaluates a rule
# used both in a `with input as` value and inside the rule under test (OPA does not).
namespace(labels) := {"review": {
	"kind": {"group": "", "version": "v1", "kind": "Namespace"},
	"object": {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "team-a", "labels": labels}},
}}

test_restricted_namespace_is_allowed if {
	count(violation) == 0 with input as namespace({"pod-security.kubernetes.io/enforce": "restricted"})
}

test_namespace_without_the_label_is_denied if {
	results := violation with input as namespace({"team": "a"})
	count(results) == 1
	some result in results
	contains(result.msg, "must be labelled pod-security.kubernetes.io/enforce: restricted")
}

test_namespace_without_any_labels_is_denied if {
	count(violation) == 1 with input as {"review": {
		"kind": {"group": "", "version": "v1", "kind": "Namespace"},
		"object": {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "team-b"}},
	}}
}

test_baseline_level_is_denied if {
	results := violation with input as namespace({"pod-security.kubernetes.io/enforce": "baseline"})
	count(results) == 1
	some result in results
	result.details.value == "baseline"
}

test_privileged_level_is_denied if {
	count(violation) == 1 with input as namespace({"pod-security.kubernetes.io/enforce": "privileged"})
}

test_other_kinds_are_ignored if {
	count(violation) == 0 with input as {"review": {
		"kind": {"group": "", "version": "v1", "kind": "ConfigMap"},
		"object": {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x", "namespace": "team-a"}},
	}}
}
