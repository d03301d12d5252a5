"""``{{variable}}`` templates: known names are substituted, nothing is ever evaluated."""

from __future__ import annotations

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
    """A template that cannot be saved; the message names the problem."""


def variables_in(text: str) -> list[str]:
    return [m.group(1) for m in _VARIABLE.finditer(text)]


def validate(text: str, *, field: str = "body") -> None:
    """Raise TemplateError for an empty text, stray braces or an unknown variable."""
    if not text.strip():
        raise TemplateError(f"{field} is empty")
    leftover = _VARIABLE.sub("", text)
    if "{{" in leftover or "}}" in leftover:
        raise TemplateError(f"{field} has unbalanced or malformed {{{{ }}}} braces")
    unknown = sorted({name for name in variables_in(text) if name not in VARIABLES})
    if unknown:
        raise TemplateError(f"{field} uses unknown variable(s): {', '.join(unknown)}")


def render(text: str, values: dict[str, str], *, escape_html: bool = False) -> str:
    """Substitute known variables; a known variable without a value renders as empty text."""

    def _sub(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in VARIABLES:
            return match.group(0)  # validated at save time; never guess at send time
        value = values.get(name, "")
        return html.escape(value) if escape_html else value

    return _VARIABLE.sub(_sub, text)
