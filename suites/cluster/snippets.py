"""K8S-ING-007's inputs and how an nginx snippet annotation is read: the directives it holds.

A snippet is pasted verbatim into the controller's nginx.conf, so what matters is which directives it
uses. Statements end at `;`, `{` or `}` outside quotes (a Content-Security-Policy header value holds
`;` inside quotes); a statement's first word is its directive; `#` starts a comment outside quotes."""

from __future__ import annotations

import re
from functools import cache

from kitemark.core.inputs import Input

from .ingress import NGINX

# Annotations whose value ingress-nginx pastes into nginx.conf as directives.
DIRECTIVE_SNIPPETS = tuple(
    NGINX + name for name in ("server-snippet", "configuration-snippet", "auth-snippet", "stream-snippet")
)
# ModSecurity rules, not nginx directives: only the forbidden pattern applies.
MODSEC_SNIPPET = NGINX + "modsecurity-snippet"

ALLOWED_DIRECTIVES = Input(
    "snippet_allowed_directives",
    default=[
        # response and request headers (security headers, cache control)
        "add_header",
        "more_set_headers",
        "more_clear_headers",
        "more_set_input_headers",
        "more_clear_input_headers",
        "proxy_set_header",
        "proxy_hide_header",
        "expires",
        "etag",
        # redirects, rewrites and access rules
        "if",
        "set",
        "return",
        "rewrite",
        "break",
        "location",
        "allow",
        "deny",
        "internal",
        "error_page",
        "proxy_intercept_errors",
        # rate limits and request handling
        "limit_req_status",
        "limit_conn_status",
        "client_max_body_size",
        "proxy_buffering",
        "proxy_request_buffering",
        "proxy_read_timeout",
        "proxy_send_timeout",
        "gzip",
        "gzip_types",
        "underscores_in_headers",
    ],
    description=(
        "nginx directives an Ingress's server-, configuration-, auth- or stream-snippet annotation may use "
        "(K8S-ING-007); any other directive fails"
    ),
    schema={"type": "array", "items": {"type": "string", "minLength": 1}},
)
FORBIDDEN_PATTERN = Input(
    "snippet_forbidden_pattern",
    # the platform's Gatekeeper policy k8ssnippetallowlist
    default=r"\blua_|_lua\b|_lua_|\bkubernetes\.io\b|root|load_module",
    description=(
        "Python regular expression no snippet annotation (modsecurity-snippet included) may contain "
        "anywhere (K8S-ING-007); MoJ's Gatekeeper policy `k8ssnippetallowlist`"
    ),
    schema={"type": "string", "format": "regex"},
)
INPUTS = (ALLOWED_DIRECTIVES, FORBIDDEN_PATTERN)


def directives(snippet: str) -> list[str]:
    """The directive of each statement of an nginx snippet, in order."""
    found: list[str] = []
    statement: list[str] = []
    quote: str | None = None
    comment = escaped = False
    for char in snippet:
        if comment:
            comment = char != "\n"
        elif quote:
            statement.append(char)
            quote = None if char == quote and not escaped else quote
            escaped = char == "\\" and not escaped
        elif char in "\"'":
            quote = char
            statement.append(char)
        elif char == "#":
            comment = True
        elif char in ";{}":
            _end(statement, found)
        else:
            statement.append(char)
    _end(statement, found)
    return found


def _end(statement: list[str], found: list[str]) -> None:
    words = "".join(statement).split()
    if words:
        found.append(words[0])
    statement.clear()


@cache
def compiled(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)
