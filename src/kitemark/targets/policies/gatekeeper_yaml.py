"""YAML for Gatekeeper suites, templates and objects, in Kitemark's one dialect
(``kitemark.core.yamlfile.Loader``: dates stay strings, a key repeated in one mapping is an error):
``load_documents``, ``InputError``s naming file and line for YAML that cannot be read (``yaml_error``),
``without_secret_values`` (a suite's objects redacted as the cluster collector redacts them: a Secret
keeps its keys, never its values), and the line-number helpers that point errors at the right place in
a file: ``yaml_tree`` (the node tree of a file), ``line_of`` (the line of the node at a path of keys and
indexes) and ``embedded_at`` (where a block of Rego embedded in a ConstraintTemplate starts). Used by
``kitemark.targets.policies.gatekeeper_suites``.
"""

from __future__ import annotations

from typing import Any

import yaml

from kitemark.core import input_limits
from kitemark.core.kinds import InputError
from kitemark.core.yamlfile import Loader, Refused, error_text
from kitemark.targets.cluster.redaction import redact_document

LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"


def yaml_error(rel: str, exc: yaml.YAMLError) -> InputError:
    """One line naming the file and line; never the offending source line (it may hold a secret)."""
    message, line = error_text(exc)
    return InputError(rel, f"invalid YAML: {message}", line)


def load_documents(text: str) -> list[Any]:
    """The documents of a suite, template or object file; over the parse deadline a ``YAMLError``."""
    try:
        with input_limits.parse_deadline():
            return [doc for doc in yaml.load_all(text, Loader=Loader) if doc is not None]
    except input_limits.LimitExceeded as exc:
        raise Refused(str(exc)) from None


def without_secret_values(docs: list[Any]) -> list[Any]:
    """A suite's object or inventory documents (a fresh parse, redacted in place) with every secret
    replaced by a marker (``kitemark.core.redaction``), by the cluster collector's own rules
    (``redact_document``): a Secret's values, in ``List`` items and AdmissionReview requests too, and
    anywhere the values under credential-like names (an env ``DB_PASSWORD``, ``--password=x`` in
    ``args``, a ConfigMap's ``DB_PASSWORD``). The documents are kept in the inventory; a case whose
    documents changed is decided on them as written, at collection (``gatekeeper_raw``)."""
    return [_redacted(doc) for doc in docs]


def _redacted(doc: Any) -> Any:
    if not isinstance(doc, dict):
        return redact_document(doc)
    request: Any = doc.get("request")
    held: dict[str, Any] = {}
    if isinstance(request, dict):  # an AdmissionReview: its objects by the rules of their own kinds
        held = {key: request.pop(key) for key in ("object", "oldObject") if key in request}
    _drop_last_applied(doc)
    redact_document(doc, keep_managed_fields=True)  # field names only; a policy may read them
    for key, value in held.items():
        request[key] = _redacted(value)
    return doc


def _drop_last_applied(doc: dict[str, Any]) -> None:
    """The last-applied annotation is a JSON copy of the object, its secrets included, in whatever
    form (a Secret copy without its apiVersion): dropped, as the cluster collector drops it. A case
    whose objects held one is decided on them as written (``gatekeeper_raw``)."""
    items = doc.get("items")
    for item in items if isinstance(items, list) else []:
        if isinstance(item, dict):
            _drop_last_applied(item)
    meta = doc.get("metadata")
    annotations: Any = meta.get("annotations") if isinstance(meta, dict) else None
    if isinstance(annotations, dict):
        annotations.pop(LAST_APPLIED, None)


def yaml_tree(text: str) -> yaml.Node | None:
    """The node tree of a single-document file (for line numbers); None for several documents."""
    try:
        return yaml.compose(text, Loader=Loader)
    except yaml.YAMLError:
        return None


def _node_line(root: yaml.Node | None, *keys: str | int) -> yaml.Node | None:
    """The YAML node at a path of mapping keys / sequence indexes (for line numbers)."""
    node = root
    for key in keys:
        if isinstance(node, yaml.MappingNode) and isinstance(key, str):
            node = next((v for k, v in node.value if getattr(k, "value", None) == key), None)
        elif isinstance(node, yaml.SequenceNode) and isinstance(key, int) and key < len(node.value):
            node = node.value[key]
        else:
            return None
    return node


def line_of(root: yaml.Node | None, *keys: str | int) -> int | None:
    node = _node_line(root, *keys)
    return node.start_mark.line + 1 if node is not None else None


def embedded_at(tree: yaml.Node | None, lines: list[str], *keys: str | int) -> tuple[int, int] | None:
    """Where an embedded block of Rego starts in its YAML file: (first line, indentation)."""
    node = _node_line(tree, *keys)
    if node is None:
        return None
    style = getattr(node, "style", None)  # only scalar nodes have one
    if style in ("|", ">"):  # a block scalar starts on the line after its indicator
        first = node.start_mark.line + 1
        text = lines[first] if first < len(lines) else ""
        return first + 1, len(text) - len(text.lstrip(" "))
    return node.start_mark.line + 1, node.start_mark.column + (1 if style in ("'", '"') else 0)
