# Conftest rules for MoJ Cloud Platform namespace manifests (00-namespace.yaml).
#
#   conftest test --policy policies/conftest/namespace namespaces/*/00-namespace.yaml
#
# Every `deny` message is a reason the manifest would be refused at review; `warn` is advisory.
package main

import rego.v1

prefix := "cloud-platform.justice.gov.uk/"

required_annotations := {"business-unit", "slack-channel", "application", "owner", "source-code", "team-name"}

business_units := {
	"HQ", "HMPPS", "OPG", "LAA", "Central Digital",
	"Technology Services", "HMCTS", "CICA", "Platforms",
}

is_namespace if input.kind == "Namespace"

name := input.metadata.name

annotation(key) := input.metadata.annotations[concat("", [prefix, key])]

label(key) := input.metadata.labels[key]

deny contains msg if {
	is_namespace
	some key in required_annotations
	not annotation(key)
	msg := sprintf("Namespace %v: missing annotation %v%v", [name, prefix, key])
}

deny contains msg if {
	is_namespace
	unit := annotation("business-unit")
	not unit in business_units
	msg := sprintf("Namespace %v: business-unit %q is not one of %v", [name, unit, sort(business_units)])
}

deny contains msg if {
	is_namespace
	url := annotation("source-code")
	not regex.match(`^https://github\.com/[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+/?$`, url)
	msg := sprintf("Namespace %v: source-code %q must be a GitHub repository URL", [name, url])
}

deny contains msg if {
	is_namespace
	not label(concat("", [prefix, "is-production"])) in {"true", "false"}
	msg := sprintf("Namespace %v: label %vis-production must be \"true\" or \"false\"", [name, prefix])
}

deny contains msg if {
	is_namespace
	not label(concat("", [prefix, "environment-name"]))
	msg := sprintf("Namespace %v: missing label %venvironment-name", [name, prefix])
}

deny contains msg if {
	is_namespace
	not label("pod-security.kubernetes.io/enforce") == "restricted"
	msg := sprintf("Namespace %v: label pod-security.kubernetes.io/enforce must be restricted", [name])
}

warn contains msg if {
	is_namespace
	not annotation("review-after")
	msg := sprintf("Namespace %v: no %vreview-after annotation; add one for non-production namespaces", [name, prefix])
}
