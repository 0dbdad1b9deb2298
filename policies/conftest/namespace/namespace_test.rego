package main

import rego.v1

good := {
	"apiVersion": "v1",
	"kind": "Namespace",
	"metadata": {
		"name": "team-a-dev",
		"labels": {
			"cloud-platform.justice.gov.uk/is-production": "false",
			"cloud-platform.justice.gov.uk/environment-name": "development",
			"pod-security.kubernetes.io/enforce": "restricted",
		},
		"annotations": {
			"cloud-platform.justice.gov.uk/business-unit": "HMPPS",
			"cloud-platform.justice.gov.uk/slack-channel": "team-a",
			"cloud-platform.justice.gov.uk/application": "Team A service",
			"cloud-platform.justice.gov.uk/owner": "Team A: team-a@digital.justice.gov.uk",
			"cloud-platform.justice.gov.uk/source-code": "https://github.com/ministryofjustice/team-a-service",
			"cloud-platform.justice.gov.uk/team-name": "team-a",
			"cloud-platform.justice.gov.uk/review-after": "2026-01-01",
		},
	},
}

with_patch(ops) := json.patch(good, ops)

test_compliant_namespace_has_no_denials if {
	count(deny) == 0 with input as good
	count(warn) == 0 with input as good
}

test_missing_team_name_is_denied if {
	ns := with_patch([{"op": "remove", "path": "/metadata/annotations/cloud-platform.justice.gov.uk~1team-name"}])
	deny == {"Namespace team-a-dev: missing annotation cloud-platform.justice.gov.uk/team-name"} with input as ns
}

test_unknown_business_unit_is_denied if {
	ns := with_patch([{
		"op": "replace",
		"path": "/metadata/annotations/cloud-platform.justice.gov.uk~1business-unit",
		"value": "Marketing",
	}])
	some msg in deny with input as ns
	contains(msg, `business-unit "Marketing" is not one of`)
}

test_source_code_must_be_a_github_url if {
	ns := with_patch([{
		"op": "replace",
		"path": "/metadata/annotations/cloud-platform.justice.gov.uk~1source-code",
		"value": "https://gitlab.example.com/team-a/service",
	}])
	count(deny) == 1 with input as ns
}

test_is_production_must_be_a_boolean_string if {
	ns := with_patch([{
		"op": "replace",
		"path": "/metadata/labels/cloud-platform.justice.gov.uk~1is-production",
		"value": "yes",
	}])
	deny == {`Namespace team-a-dev: label cloud-platform.justice.gov.uk/is-production must be "true" or "false"`} with input as ns
}

test_missing_psa_label_is_denied if {
	ns := with_patch([{"op": "remove", "path": "/metadata/labels/pod-security.kubernetes.io~1enforce"}])
	deny == {"Namespace team-a-dev: label pod-security.kubernetes.io/enforce must be restricted"} with input as ns
}

test_bare_namespace_gets_every_denial if {
	count(deny) == 9 with input as {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "bare"}}
}

test_missing_review_after_only_warns if {
	ns := with_patch([{"op": "remove", "path": "/metadata/annotations/cloud-platform.justice.gov.uk~1review-after"}])
	count(deny) == 0 with input as ns
	count(warn) == 1 with input as ns
}

test_other_kinds_are_ignored if {
	count(deny) == 0 with input as {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"}}
}
