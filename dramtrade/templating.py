"""``{{variable}}`` templates: known names are substituted, nothing is ever evaluated."""

from __future__ import annotations

import difflib
import html
import re
from dataclasses import dataclass

_VARIABLE = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")


@dataclass(frozen=True)
class Variable:
    name: str
    description: str
    example: str


VARIABLES: dict[str, Variable] = {
    v.name: v
    for v in (
        Variable("first_name", "Customer's first name", "Dana"),
        Variable("last_name", "Customer's last name", "Whitfield"),
        Variable("customer_name", "Customer's full name", "Dana Whitfield"),
        Variable("appointment_time", "Arrival window, customer's local time", "9:00 AM - 11:00 AM"),
        Variable("job_date", "Day of the visit, customer's local time", "Tuesday, March 10"),
        Variable("job_type", "Kind of job", "AC tune-up"),
        Variable("technician_name", "Assigned technician's name", "Marco Ruiz"),
        Variable("technician_phone", "Assigned technician's phone", "(512) 555-0142"),
        Variable("invoice_total", "Invoice total with currency", "$249.00"),
        Variable("invoice_due_date", "Invoice due date", "March 24, 2027"),
        Variable(
            "invoice_link", "Link to view and pay the invoice", "https://pay.example.com/i/1042"
        ),
        Variable("membership_plan", "Membership plan name", "Comfort Club"),
        Variable("renewal_date", "Membership renewal date", "April 1, 2027"),
        Variable("business_name", "Your business name", "Lone Star Comfort"),
        Variable("business_phone", "Your business phone number", "(512) 555-0100"),
    )
}


class TemplateError(ValueError):
    """A template that cannot be saved; the message names the field and the problem.

    ``field`` is the template field (``body``, ``subject``, ``html``) and ``problem`` the
    message without the field's name, for callers that name the field elsewhere.
    """

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"{field} {problem}")
        self.field = field
        self.problem = problem


def _suggest(name: str) -> str:
    close = difflib.get_close_matches(name, VARIABLES, n=1, cutoff=0.75)
    return f"{name} (did you mean {close[0]}?)" if close else name


def variables_in(text: str) -> list[str]:
    return [m.group(1) for m in _VARIABLE.finditer(text)]


def validate(text: str, *, field: str = "body") -> None:
    """Raise TemplateError for an empty text, stray braces or an unknown variable."""
    if not text.strip():
        raise TemplateError(field, "is empty")
    leftover = _VARIABLE.sub("", text)
    if "{{" in leftover or "}}" in leftover:
        raise TemplateError(field, "has unbalanced or malformed {{ }} braces")
    unknown = sorted({name for name in variables_in(text) if name not in VARIABLES})
    if unknown:
        names = ", ".join(_suggest(name) for name in unknown)
        raise TemplateError(field, f"uses unknown variable(s): {names}")


def render(text: str, values: dict[str, str], *, escape_html: bool = False) -> str:
    """Substitute known variables; a known variable without a value renders as empty text."""

    def _sub(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in VARIABLES:
            return match.group(0)  # validated at save time; never guess at send time
        value = values.get(name, "")
        return html.escape(value) if escape_html else value

    return _VARIABLE.sub(_sub, text)


# --- email HTML: where a variable may stand ----------------------------------------------------
#
# ``render(..., escape_html=True)`` escapes every value (``& < > " '``), which is safe in text and
# in quoted attribute values. It is *not* safe where the browser decodes entities and then runs
# the result (``<script>``, ``<style>``, ``on*=`` handlers, ``style=``), where no quote closes the
# value (unquoted attributes, tag and attribute names), or at the start of a URL attribute (a
# value of ``javascript:...`` would become the link). ``validate_html`` refuses those places at
# save time, so a value never has to be trusted at send time.

URL_VARIABLES = frozenset({"invoice_link"})
_RAW_TEXT_TAGS = frozenset({"script", "style", "xmp", "iframe", "noembed", "noframes", "plaintext"})
_URL_ATTRIBUTES = frozenset(
    {"href", "src", "action", "formaction", "background", "poster", "cite", "data", "srcset"}
)
_CODE_ATTRIBUTES = frozenset({"style", "srcdoc"})
_TAG_NAME = re.compile(r"<(/?)([A-Za-z][^\s/>]*)")
_ATTR_NAME = re.compile(r"[^\s\"'>/=]+")
_EQUALS = re.compile(r"\s*=\s*")
_UNQUOTED = re.compile(r"[^\s>]*")
_SPACE = re.compile(r"[\s/]*")


_WHERE = "variables may only stand in text or inside a quoted attribute value"


def _place_error(name: str, place: str, hint: str = _WHERE) -> TemplateError:
    return TemplateError("html", f"puts {{{{{name}}}}} {place}; {hint}")


def _first_variable(text: str) -> str | None:
    match = _VARIABLE.search(text)
    if match is not None:
        return match.group(1)
    return "{{" if "{{" in text else None


def _check_attribute_value(attribute: str, value: str) -> None:
    for match in _VARIABLE.finditer(value):
        name = match.group(1)
        if attribute.startswith("on") or attribute in _CODE_ATTRIBUTES:
            raise _place_error(name, f"inside the {attribute}= attribute")
        if (
            attribute in _URL_ATTRIBUTES
            and not value[: match.start()].strip()
            and name not in URL_VARIABLES
        ):
            raise _place_error(
                name,
                f"at the start of the {attribute}= link",
                f"only {', '.join(sorted(URL_VARIABLES))} may start a link",
            )


def _scan_tag(text: str, pos: int, tag: str) -> int:
    """Check the attributes of the tag whose name ends at ``pos``; return the index after it."""
    length = len(text)
    while pos < length:
        space = _SPACE.match(text, pos)
        assert space is not None  # matches the empty string
        pos = space.end()
        if pos >= length:
            break
        if text[pos] == ">":
            return pos + 1
        name_match = _ATTR_NAME.match(text, pos)
        if name_match is None:  # a stray quote: browsers treat it as part of a name
            name_match = re.compile(r"[\"'][^\s>]*").match(text, pos)
            assert name_match is not None
        attribute = name_match.group(0).lower()
        if (bad := _first_variable(attribute)) is not None:
            raise _place_error(bad, f"in an attribute name of <{tag}>")
        pos = name_match.end()
        equals = _EQUALS.match(text, pos)
        if equals is None or not equals.group(0).strip():
            continue
        pos = equals.end()
        if pos < length and text[pos] in "\"'":
            close = text.find(text[pos], pos + 1)
            end = length if close == -1 else close
            _check_attribute_value(attribute, text[pos + 1 : end])
            pos = end + 1
        else:
            unquoted = _UNQUOTED.match(text, pos)
            assert unquoted is not None
            if (bad := _first_variable(unquoted.group(0))) is not None:
                raise _place_error(bad, f"in the unquoted {attribute}= attribute of <{tag}>")
            pos = unquoted.end()
    return length


def validate_html(text: str) -> None:
    """``validate(text, field="html")`` plus: every variable stands where escaping makes it
    inert (text, or a quoted attribute value that is neither code nor the start of a link)."""
    validate(text, field="html")
    pos, length = 0, len(text)
    while pos < length:
        lt = text.find("<", pos)
        if lt == -1:
            return
        if text.startswith("<!--", lt):
            close = text.find("-->", lt + 4)
            pos = length if close == -1 else close + 3
            continue
        tag_match = _TAG_NAME.match(text, lt)
        if tag_match is None:
            pos = lt + 1
            continue
        closing, tag = tag_match.group(1) == "/", tag_match.group(2).lower()
        if (bad := _first_variable(tag)) is not None:
            raise _place_error(bad, "in a tag name")
        pos = _scan_tag(text, tag_match.end(), tag)
        if not closing and tag in _RAW_TEXT_TAGS:
            end = re.compile(rf"</{re.escape(tag)}[\s/>]", re.IGNORECASE).search(text, pos)
            raw = text[pos : length if end is None else end.start()]
            if (bad := _first_variable(raw)) is not None:
                raise _place_error(bad, f"inside <{tag}>")
            pos = length if end is None else end.start()
