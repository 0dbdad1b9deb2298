"""Result blocks and findings tables of compliance.html, written in Python rather than as template
macros: a 1,500-namespace run has 6,000 results and 12,000 findings, and a macro call each made the
report the slowest part of the run. Every value is escaped here (``_e``, which also shows characters
HTML forbids as visible escapes), and text from the targets is wrapped in ``<bdi>`` (``_bdi``) so a
right-to-left override in a name cannot reverse the text around it.

Results that need attention (failed, error, waived) show their evidence laid out over lines; settled
ones (passed, not applicable) show it on one line, still complete, so the auditor can read what was
checked without the page growing by a screen per namespace.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from markupsafe import Markup, escape

from kitemark.reports.safe_text import for_html, json_bidi_escaped

if TYPE_CHECKING:
    from kitemark.reports.html import FindingView, ResultView

STATUS_LABELS = {
    "passed": "Passed",
    "failed": "Failed",
    "error": "Error",
    "waived": "Waived",
    "not_applicable": "Not applicable",
}


def _e(value: Any) -> str:
    """A value escaped for HTML, with any character HTML forbids shown as a visible escape. Plain
    string replacements: a Markup object per value made a large report a third slower."""
    text = for_html(value)
    if "&" in text or "<" in text or ">" in text or '"' in text or "'" in text:
        text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
        text = text.replace('"', "&#34;").replace("'", "&#39;")
    return text


def _bdi(value: Any) -> str:
    """User text, escaped and isolated from the text around it (bidi overrides end at the element)."""
    return f"<bdi>{_e(value)}</bdi>"


def bdi(value: Any) -> Markup:
    """``_bdi`` as the template's filter; markup it is given (``tojson``) is already escaped."""
    if isinstance(value, Markup):
        return Markup(f"<bdi>{for_html(value)}</bdi>")
    return Markup(_bdi(value))


def chip(status: str) -> str:
    return f'<span class="chip st-{escape(status)}">{escape(STATUS_LABELS.get(status, status))}</span>'


def occurrence(context: str, result: ResultView) -> str:
    """Id of one rendering of a result inside a section (a result may appear under many requirements)."""
    return f"{context}--{result.slug}"


def _evidence_text(value: Any, pretty: bool) -> str:
    from kitemark.reports.html import pretty_json

    text = pretty_json(value) if pretty else json.dumps(value, ensure_ascii=False, default=str)
    # Element content: quotes need no escaping there, so the JSON stays readable. Bidi controls are
    # written as JSON escapes (the same value), so they cannot reorder the lines around them.
    text = json_bidi_escaped(text)
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _waiver_note(f: FindingView) -> str:
    w = f.waiver or {}
    wid = _bdi(w.get("id", ""))
    link = f' <a href="#{escape(f.waiver_anchor)}">{wid}</a>' if f.waiver_anchor else f" {wid}"
    if w.get("expired"):
        expires = _e(w.get("expires", ""))
        counts_as = escape(STATUS_LABELS.get(f.status, f.status).lower())
        head = (
            f"<strong>Waiver expired</strong> —{link} expired on <time>{expires}</time>, "
            f"so this finding counts as {counts_as}."
        )
    else:
        head = f"<strong>Waived</strong> by{link} until <time>{_e(w.get('expires', ''))}</time>."
    return (
        f'<div class="waiver-note{" expired" if w.get("expired") else ""}">{head}'
        f'<br>Justification: <span class="justification">{_bdi(w.get("justification", ""))}</span>'
        f"<br>Owner: {_bdi(w.get('owner', ''))}</div>"
    )


def findings_table(findings: list[FindingView], pretty: bool = True) -> Markup:
    rows = [
        '<table class="findings">\n<thead><tr><th scope="col">Status</th><th scope="col">Resource</th>'
        '<th scope="col">Message</th><th scope="col">Location</th></tr></thead>'
    ]
    for f in findings:
        status = escape(f.status)
        note = _waiver_note(f) if f.waiver else ""
        where = f"<code>{_bdi(f.location)}</code>" if f.location else "—"
        rows.append(
            f'<tbody class="finding st-{status}" data-status="{status}">\n<tr>\n<td>{chip(f.status)}</td>\n'
            f'<th scope="row" class="resource"><code>{_bdi(f.resource)}</code></th>\n'
            f'<td class="message">{_bdi(f.message)}{note}</td>\n<td class="location">{where}</td>\n</tr>'
        )
        if f.evidence is not None:
            rows.append(
                '<tr class="evidence"><td colspan="4"><span class="label">Evidence</span>'
                f"<pre>{_evidence_text(f.evidence, pretty)}</pre></td></tr>"
            )
        rows.append("</tbody>")
    rows.append("</table>")
    return Markup("\n".join(rows))


def result_block(r: ResultView, ctx: str, settled: bool = False) -> Markup:
    status = escape(r.status)
    head = (
        f'<div class="result st-{status}" id="{escape(occurrence(ctx, r))}" data-result-id="{_e(r.id)}" '
        f'data-status="{status}">\n<p class="result-head">{chip(r.status)} '
        f'<span class="unit">{_bdi(r.unit)}</span>\n'
        f'<span class="muted">result <code class="result-id">{_bdi(r.id)}</code> · '
        f"target {_bdi(r.target)} · {r.duration:.3f} s</span></p>\n"
    )
    # Joined as plain strings: adding a str to Markup would escape the str.
    return Markup(head + str(findings_table(r.findings, pretty=not settled)) + "\n</div>")


def result_blocks(results: list[ResultView], ctx: str, settled: bool = False) -> Markup:
    return Markup("\n".join(result_block(r, ctx, settled) for r in results))
