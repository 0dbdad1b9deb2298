package k8singresshostlength

import rego.v1

label(n) := concat("", [x | some _ in numbers.range(1, n); x := "a"])

ingress(hosts) := {
	"parameters": {},
	"review": {
		"kind": {"group": "networking.k8s.io", "version": "v1", "kind": "Ingress"},
		"object": {
			"apiVersion": "networking.k8s.io/v1",
			"kind": "Ingress",
			"metadata": {"name": "web", "namespace": "team-a"},
			"spec": {"rules": [{"host": h} | some h in hosts]},
		},
	},
}

test_short_host_is_allowed if {
	count(violation) == 0 with input as ingress(["web.apps.live.cloud-platform.service.justice.gov.uk"])
}

test_label_of_exactly_57_characters_is_allowed if {
	count(violation) == 0 with input as ingress([concat(".", [label(57), "service.justice.gov.uk"])])
}

test_label_of_58_characters_is_denied if {
	results := violation with input as ingress([concat(".", [label(58), "service.justice.gov.uk"])])
	count(results) == 1
	some result in results
	result.details.length == 58
	contains(result.msg, "is 58 characters long; the limit is 57")
}

test_only_the_first_label_counts if {
	long_domain := concat(".", ["web", label(60), "justice.gov.uk"])
	count(violation) == 0 with input as ingress([long_domain])
}

test_tls_hosts_are_checked if {
	review := json.patch(ingress([]), [{
		"op": "add",
		"path": "/review/object/spec/tls",
		"value": [{"hosts": [concat(".", [label(60), "gov.uk"])]}],
	}])
	count(violation) == 1 with input as review
}

test_each_host_is_reported_once if {
	host := concat(".", [label(60), "gov.uk"])
	review := json.patch(ingress([host, host]), [{
		"op": "add",
		"path": "/review/object/spec/tls",
		"value": [{"hosts": [host]}],
	}])
	count(violation) == 1 with input as review
}

test_max_length_parameter_overrides_the_default if {
	params := json.patch(ingress(["twelve-chars.gov.uk"]), [{"op": "replace", "path": "/parameters", "value": {"maxLength": 10}}])
	count(violation) == 1 with input as params
}

test_other_kinds_are_ignored if {
	review := json.patch(ingress([concat(".", [label(60), "gov.uk"])]), [{
		"op": "replace",
		"path": "/review/kind/kind",
		"value": "Service",
	}])
	count(violation) == 0 with input as review
}
