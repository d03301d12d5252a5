"""Templates: create, update, delete, present and preview them.

Every save checks the template as it will be stored (after a ``PATCH`` merges into it): the
body is not empty, every text uses only known ``{{variables}}`` with balanced braces, email and
both-channel templates have a subject, SMS templates have neither subject nor HTML, and in HTML
a variable stands only where escaping makes its value inert. A failed check is an InvalidInput
naming the field (``body``, ``subject``, ``html``), so nothing unknown is left for send time.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy.orm import Session

from dramtrade import template_context, templating
from dramtrade import template_repository as repo
from dramtrade.errors import Conflict, InvalidInput, NotFound
from dramtrade.models import Customer, Job, SubAccount, Template, utcnow
from dramtrade.repositories import get_customer, get_job
from dramtrade.services import require_customer, writes_or_conflict
from dramtrade.template_schemas import (
    PreviewContext,
    PreviewOut,
    TemplateChannel,
    TemplateCreate,
    TemplateDraftPreview,
    TemplateOut,
    TemplateUpdate,
    VariableOut,
)

_EDITABLE = ("name", "channel", "body", "subject", "html", "category", "trigger")


@dataclass
class _Texts:
    """The parts of a template the checks and the renderer look at."""

    channel: TemplateChannel
    body: str
    subject: str | None
    html: str | None


def _check(texts: _Texts) -> None:
    try:
        templating.validate(texts.body, field="body")
        if texts.channel == TemplateChannel.sms:
            if texts.subject is not None:
                raise InvalidInput("subject", "SMS templates have no subject; send null or omit")
            if texts.html is not None:
                raise InvalidInput("html", "SMS templates have no HTML; send null or omit")
            return
        if texts.subject is None:
            raise InvalidInput("subject", f"is required for {texts.channel.value} templates")
        templating.validate(texts.subject, field="subject")
        if texts.html is not None:
            templating.validate_html(texts.html)
    except templating.TemplateError as exc:
        raise InvalidInput(exc.field, exc.problem) from exc


def _conflict(name: str, channel: str) -> Conflict:
    return Conflict(f"a {channel} template named '{name}' already exists", field="name")


def _check_name_free(
    session: Session, sub_account_id: uuid.UUID, name: str, channel: str, own: uuid.UUID | None
) -> None:
    other = repo.find_by_name(session, sub_account_id, name, channel)
    if other is not None and other.id != own:
        raise _conflict(name, channel)


def create_template(session: Session, account: SubAccount, data: TemplateCreate) -> Template:
    _check(_Texts(data.channel, data.body, data.subject, data.html))
    _check_name_free(session, account.id, data.name, data.channel.value, None)
    template = Template(
        id=uuid.uuid4(),
        sub_account_id=account.id,
        name=data.name,
        channel=data.channel.value,
        category=data.category,
        trigger=data.trigger,
        subject=data.subject,
        body=data.body,
        html=data.html,
    )
    with writes_or_conflict(session, str(_conflict(data.name, data.channel.value))):
        session.add(template)
    return template


def get_template(session: Session, sub_account_id: uuid.UUID, template_id: uuid.UUID) -> Template:
    template = repo.get_template(session, sub_account_id, template_id)
    if template is None:
        raise NotFound("template")
    return template


def update_template(
    session: Session, account: SubAccount, template_id: uuid.UUID, data: TemplateUpdate
) -> Template:
    """Only the fields sent change; the result is checked as a whole before anything is
    written."""
    template = get_template(session, account.id, template_id)
    merged: dict[str, object] = {name: getattr(template, name) for name in _EDITABLE}
    for name in data.model_fields_set:
        merged[name] = getattr(data, name)
    channel = TemplateChannel(str(merged["channel"]))
    texts = _Texts(
        channel,
        str(merged["body"]),
        None if merged["subject"] is None else str(merged["subject"]),
        None if merged["html"] is None else str(merged["html"]),
    )
    _check(texts)
    name = str(merged["name"])
    _check_name_free(session, account.id, name, channel.value, template.id)
    with writes_or_conflict(session, str(_conflict(name, channel.value))):
        for field in data.model_fields_set:
            value = merged[field]
            # Stored as the plain string: Template.channel also holds "both".
            setattr(template, field, value.value if isinstance(value, TemplateChannel) else value)
        template.updated_at = utcnow()
    return template


def delete_template(session: Session, sub_account_id: uuid.UUID, template_id: uuid.UUID) -> None:
    """Messages sent from it keep their text; their ``template_id`` becomes null."""
    session.delete(get_template(session, sub_account_id, template_id))
    session.flush()


def present(template: Template) -> TemplateOut:
    texts = [template.subject or "", template.body, template.html or ""]
    used = templating.variables_in("\n".join(texts))
    return TemplateOut(
        id=template.id,
        name=template.name,
        channel=TemplateChannel(template.channel),
        category=template.category,
        trigger=template.trigger,
        subject=template.subject,
        body=template.body,
        html=template.html,
        variables=list(dict.fromkeys(used)),
        created_at=template.created_at,
        updated_at=template.updated_at,
    )


def variable_reference() -> list[VariableOut]:
    return [
        VariableOut(name=v.name, description=v.description, example=v.example)
        for v in templating.VARIABLES.values()
    ]


# --- preview ---------------------------------------------------------------------------------


def _context_values(
    session: Session, account: SubAccount, context: PreviewContext
) -> dict[str, str] | None:
    """Real values for the customer/job given (ids in the body: unknown or foreign is a 422 on
    that field), or None when neither is given."""
    customer: Customer | None = None
    job: Job | None = None
    if context.customer_id is not None:
        customer = require_customer(session, account.id, context.customer_id)
    if context.job_id is not None:
        job = get_job(session, account.id, context.job_id)
        if job is None:
            raise InvalidInput("job_id", "job not found")
        if customer is None:
            customer = get_customer(session, account.id, job.customer_id)
            if customer is None:  # cannot happen: a job's customer is in its sub-account
                raise InvalidInput("job_id", "job not found")
        elif job.customer_id != customer.id:
            raise InvalidInput("job_id", "is a job of another customer than customer_id")
    if customer is None:
        return None
    return template_context.build(session, account, customer, job)


def _render(texts: _Texts, values: dict[str, str], source: str) -> PreviewOut:
    parts = [texts.subject or "", texts.body, texts.html or ""]
    used = dict.fromkeys(templating.variables_in("\n".join(parts)))
    return PreviewOut.model_validate(
        {
            "source": source,
            "subject": None if texts.subject is None else templating.render(texts.subject, values),
            "body": templating.render(texts.body, values),
            "html": None
            if texts.html is None
            else templating.render(texts.html, values, escape_html=True),
            "missing": [name for name in used if not values.get(name)],
        }
    )


def _preview(
    session: Session, account: SubAccount, texts: _Texts, context: PreviewContext
) -> PreviewOut:
    values = _context_values(session, account, context)
    if values is None:
        examples = {v.name: v.example for v in templating.VARIABLES.values()}
        return _render(texts, examples, "examples")
    return _render(texts, values, "customer")


def preview_template(
    session: Session, account: SubAccount, template_id: uuid.UUID, context: PreviewContext
) -> PreviewOut:
    template = get_template(session, account.id, template_id)
    texts = _Texts(
        TemplateChannel(template.channel), template.body, template.subject, template.html
    )
    return _preview(session, account, texts, context)


def preview_draft(session: Session, account: SubAccount, draft: TemplateDraftPreview) -> PreviewOut:
    """Check an unsaved template exactly as a save would, then render it."""
    texts = _Texts(draft.channel, draft.body, draft.subject, draft.html)
    _check(texts)
    return _preview(session, account, texts, draft)
