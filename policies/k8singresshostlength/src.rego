package k8singresshostlength

import rego.v1

# MoJ Cloud Platform: external-dns writes a TXT ownership record beside every record it creates, and
# prefixes the host's first DNS label (for example "cname-"). A DNS label may be at most 63 characters,
# so the first label of an ingress host must leave room for the prefix: at most 57 characters.

default_max_length := 57

max_length := object.get(input.parameters, "maxLength", default_max_length)

violation contains {"msg": msg, "details": {"host": host, "label": label, "length": count(label)}} if {
	input.review.kind.kind == "Ingress"
	some host in hosts
	label := split(host, ".")[0]
	count(label) > max_length
	msg := sprintf(
		"ingress %v: the first DNS label of host %v is %v characters long; the limit is %v",
		[input.review.object.metadata.name, host, count(label), max_length],
	)
}

# Hosts from the rules and from the TLS section, each once.
hosts contains host if {
	some rule in input.review.object.spec.rules
	host := rule.host
}

hosts contains host if {
	some tls in input.review.object.spec.tls
	some host in tls.hosts
}
