"""Pydantic models of ``/v1/templates``: what the API accepts and returns for templates.

Shape rules live here (lengths, the channel and trigger vocabularies, no CR/LF in a subject);
the template rules that need the whole template (known variables, balanced braces, a subject for
email, no subject or HTML for SMS, where a variable may stand in HTML) live in
``dramtrade.services.templates`` so that a ``PATCH`` is checked as the template it produces.

Decisions, documented once:

* ``channel`` is ``sms``, ``email`` or ``both``; a ``both`` template serves either channel (its
  ``body`` is the SMS text and the email's plain-text part).
* ``subject`` is required for ``email`` and ``both`` and *refused* (422) for ``sms``: a subject
  that would silently never be sent is a mistake worth naming. The same goes for ``html``, which
  is optional for ``email`` and ``both``.
* ``trigger`` names the notification the template is the default for: a job milestone or a
  membership renewal reminder.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any, ClassVar, Literal

from pydantic import AfterValidator, Field, StringConstraints

from dramtrade.notifications import JOB_EVENT_TYPES
from dramtrade.schemas import InputModel, OutputModel

TEMPLATE_TRIGGERS: tuple[str, ...] = (
    *JOB_EVENT_TYPES,
    "membership_renewal_30d",
    "membership_renewal_7d",
    "appointment_reminder",
)


class TemplateChannel(StrEnum):
    sms = "sms"
    email = "email"
    both = "both"


def _check_trigger(value: str) -> str:
    if value not in TEMPLATE_TRIGGERS:
        raise ValueError(f"'{value}' is not a trigger; use one of: {', '.join(TEMPLATE_TRIGGERS)}")
    return value


def _one_line(value: str) -> str:
    if "\r" in value or "\n" in value:
        raise ValueError("a subject is one line: no line breaks")
    return value


def _text(max_length: int, min_length: int = 1) -> Any:
    return StringConstraints(strip_whitespace=True, min_length=min_length, max_length=max_length)


TemplateName = Annotated[str, _text(200)]
Category = Annotated[str, _text(50)]
Trigger = Annotated[str, _text(40), AfterValidator(_check_trigger)]
Subject = Annotated[str, _text(998, min_length=0), AfterValidator(_one_line)]
# Empty texts pass the shape check on purpose: the template check answers "body is empty".
Body = Annotated[str, _text(10_000, min_length=0)]
Html = Annotated[str, _text(200_000, min_length=0)]

_BODY_HELP = "Text with `{{variables}}`; the SMS text, or the plain-text part of an email."
_HTML_HELP = "Optional email HTML with `{{variables}}`; values are HTML-escaped when rendered."


class TemplateCreate(InputModel):
    name: TemplateName = Field(examples=["Job booked (SMS)"])
    channel: TemplateChannel
    body: Body = Field(
        description=_BODY_HELP, examples=["Hi {{first_name}}, see you {{job_date}}."]
    )
    subject: Subject | None = Field(
        default=None, description="Required for email and both; refused for sms."
    )
    html: Html | None = Field(default=None, description=_HTML_HELP)
    category: Category | None = Field(default=None, examples=["notification"])
    trigger: Trigger | None = Field(
        default=None,
        description="The notification this template is the default for.",
        examples=["job_booked"],
    )


class TemplateUpdate(InputModel):
    NOT_NULLABLE: ClassVar[frozenset[str]] = frozenset({"name", "channel", "body"})

    name: TemplateName | None = None
    channel: TemplateChannel | None = None
    body: Body | None = Field(default=None, description=_BODY_HELP)
    subject: Subject | None = None
    html: Html | None = Field(default=None, description=_HTML_HELP)
    category: Category | None = None
    trigger: Trigger | None = None


class TemplateOut(OutputModel):
    id: uuid.UUID
    name: str
    channel: TemplateChannel
    category: str | None
    trigger: str | None
    subject: str | None
    body: str
    html: str | None
    variables: list[str] = Field(description="The variables the template uses, in order.")
    created_at: datetime
    updated_at: datetime


class VariableOut(OutputModel):
    name: str = Field(examples=["first_name"])
    description: str
    example: str


class PreviewContext(InputModel):
    """Whose values to render with: none (the reference's examples), a customer, or a job (its
    customer, or ``customer_id`` which must then be the job's customer)."""

    customer_id: uuid.UUID | None = None
    job_id: uuid.UUID | None = None


class TemplateDraftPreview(PreviewContext):
    """An unsaved template, checked as it would be on save, rendered for the editor."""

    channel: TemplateChannel
    body: Body = Field(description=_BODY_HELP)
    subject: Subject | None = None
    html: Html | None = None


class PreviewOut(OutputModel):
    source: Literal["examples", "customer"] = Field(
        description="`examples`: the variable reference's examples; `customer`: real values."
    )
    subject: str | None
    body: str
    html: str | None
    missing: list[str] = Field(
        description="Variables the template uses that have no value here (rendered empty)."
    )
