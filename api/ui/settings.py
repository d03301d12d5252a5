"""Settings of the staff UI (owners and admins only): templates, notifications, the sub-account.

Every save goes through the domain services (``dramtrade.services.templates``,
``dramtrade.notification_settings``, ``dramtrade.services.sub_account_settings``); their errors
come back inline, next to the field they name.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.deps import SessionDep
from api.ui.deps import CurrentAccount, Permission, require
from api.ui.routing import ui_router
from api.ui.templating import redirect, render
from dramtrade import email_layout
from dramtrade import notification_settings as notifications
from dramtrade.errors import Conflict, InvalidInput
from dramtrade.models import SubAccount, Template, User
from dramtrade.services import sub_account_settings
from dramtrade.services import templates as template_service
from dramtrade.template_schemas import (
    TEMPLATE_TRIGGERS,
    TemplateChannel,
    TemplateCreate,
    TemplateDraftPreview,
    TemplateUpdate,
)

router = ui_router()

Admin = Annotated[User, Depends(require(Permission.manage_settings))]

TRIGGER_LABELS: dict[str, str] = {
    "job_booked": "Job booked",
    "technician_en_route": "Technician en route",
    "technician_on_site": "Technician on site",
    "job_complete": "Job complete",
    "invoice_sent": "Invoice sent",
    "payment_received": "Payment received",
    "membership_renewal_30d": "Membership renewal, 30 days before",
    "membership_renewal_7d": "Membership renewal, 7 days before",
    "job_rescheduled": "Job rescheduled",
    "job_cancelled": "Job cancelled",
    "appointment_reminder": "Appointment reminder (day before)",
}
CHANNEL_LABELS = {"sms": "SMS", "email": "Email", "both": "SMS and email"}
TEMPLATE_FIELDS = ("name", "channel", "category", "trigger", "subject", "body", "html")


def _label(trigger: str) -> str:
    return TRIGGER_LABELS.get(trigger, trigger.replace("_", " ").capitalize())


def _common(section: str) -> dict[str, Any]:
    return {
        "active_nav": "settings",
        "section": section,
        "trigger_label": _label,
        "channel_labels": CHANNEL_LABELS,
    }


@router.get("/settings")
def settings_home(_: Admin) -> Response:
    return RedirectResponse("/app/settings/templates", status_code=303)


# --- templates ---------------------------------------------------------------------------------


def _all_templates(session: Session, account: SubAccount) -> list[Template]:
    return list(
        session.scalars(
            select(Template)
            .where(Template.sub_account_id == account.id)
            .order_by(Template.name, Template.channel)
        )
    )


@router.get("/settings/templates")
def templates_page(
    request: Request, session: SessionDep, account: CurrentAccount, _: Admin
) -> Response:
    return render(
        request,
        "settings/templates.html",
        {**_common("templates"), "templates": _all_templates(session, account)},
    )


def _blank(value: Any) -> Any:
    return None if isinstance(value, str) and not value.strip() else value


async def _template_form(request: Request) -> dict[str, str]:
    form = await request.form()
    return {name: str(form.get(name) or "") for name in TEMPLATE_FIELDS}


def _template_payload(values: dict[str, str]) -> dict[str, Any]:
    """The form as the template schemas take it: empty optional fields are absent (null)."""
    payload: dict[str, Any] = {
        "name": values["name"],
        "channel": values["channel"] or "sms",
        "body": values["body"],
    }
    for name in ("category", "trigger", "subject", "html"):
        payload[name] = _blank(values[name])
    return payload


def _validation_errors(exc: ValidationError) -> dict[str, str]:
    errors: dict[str, str] = {}
    for error in exc.errors():
        loc = [str(part) for part in error.get("loc", ()) if not isinstance(part, int)]
        field = loc[0] if loc else "form"
        message = str(error.get("msg", "is invalid")).removeprefix("Value error, ")
        errors.setdefault(field, message)
    return errors


def _domain_errors(exc: InvalidInput | Conflict) -> dict[str, str]:
    if isinstance(exc, InvalidInput):
        return {exc.field: f"{exc.field} {exc.detail}"}
    return {exc.field or "form": exc.message}


def _editor(
    request: Request,
    values: dict[str, str],
    *,
    template: Template | None,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    return render(
        request,
        "settings/template_form.html",
        {
            **_common("templates"),
            "template": template,
            "values": values,
            "errors": errors or {},
            "variables": template_service.variable_reference(),
            "channels": [c.value for c in TemplateChannel],
            "triggers": TEMPLATE_TRIGGERS,
        },
        status_code=status_code,
    )


def _values_of(template: Template) -> dict[str, str]:
    return {name: str(getattr(template, name) or "") for name in TEMPLATE_FIELDS}


@router.get("/settings/templates/new")
def new_template_page(request: Request, _: Admin, channel: str = "sms") -> Response:
    values = dict.fromkeys(TEMPLATE_FIELDS, "")
    values["channel"] = channel if channel in CHANNEL_LABELS else "sms"
    return _editor(request, values, template=None)


@router.post("/settings/templates/new")
async def create_template(
    request: Request, session: SessionDep, account: CurrentAccount, _: Admin
) -> Response:
    values = await _template_form(request)
    try:
        data = TemplateCreate.model_validate(_template_payload(values))
        template = template_service.create_template(session, account, data)
    except ValidationError as exc:
        return _editor(
            request, values, template=None, errors=_validation_errors(exc), status_code=422
        )
    except (InvalidInput, Conflict) as exc:
        code = 409 if isinstance(exc, Conflict) else 422
        return _editor(request, values, template=None, errors=_domain_errors(exc), status_code=code)
    return redirect(
        request,
        f"/app/settings/templates/{template.id}",
        flash=("success", f"Template “{template.name}” created."),
    )


# Declared before /settings/templates/{template_id}: "preview" is not an id.
@router.post("/settings/templates/preview")
async def preview_template(
    request: Request, session: SessionDep, account: CurrentAccount, _: Admin
) -> Response:
    """The editor's live preview (htmx): the draft rendered with the reference's sample values,
    or the first problem a save would report, naming the field."""
    values = await _template_form(request)
    payload = _template_payload(values)
    payload.pop("name"), payload.pop("category"), payload.pop("trigger")
    errors: dict[str, str] = {}
    preview = None
    try:
        draft = TemplateDraftPreview.model_validate(payload)
        preview = template_service.preview_draft(session, account, draft)
    except ValidationError as exc:
        errors = _validation_errors(exc)
    except InvalidInput as exc:
        errors = _domain_errors(exc)
    html = None
    if preview is not None and preview.html is not None:
        html = email_layout.wrap(account, preview.html, title=preview.subject)
    return render(
        request,
        "settings/_template_preview.html",
        {"preview": preview, "errors": errors, "preview_html": html},
    )


@router.get("/settings/templates/{template_id}")
def edit_template_page(
    request: Request,
    template_id: uuid.UUID,
    session: SessionDep,
    account: CurrentAccount,
    _: Admin,
) -> Response:
    template = template_service.get_template(session, account.id, template_id)
    return _editor(request, _values_of(template), template=template)


@router.post("/settings/templates/{template_id}")
async def update_template(
    request: Request,
    template_id: uuid.UUID,
    session: SessionDep,
    account: CurrentAccount,
    _: Admin,
) -> Response:
    template = template_service.get_template(session, account.id, template_id)
    values = await _template_form(request)
    try:
        data = TemplateUpdate.model_validate(_template_payload(values))
        template_service.update_template(session, account, template_id, data)
    except ValidationError as exc:
        return _editor(
            request, values, template=template, errors=_validation_errors(exc), status_code=422
        )
    except (InvalidInput, Conflict) as exc:
        session.refresh(template)
        code = 409 if isinstance(exc, Conflict) else 422
        return _editor(
            request, values, template=template, errors=_domain_errors(exc), status_code=code
        )
    return redirect(
        request,
        f"/app/settings/templates/{template_id}",
        flash=("success", f"Template “{template.name}” saved."),
    )


@router.post("/settings/templates/{template_id}/delete")
def delete_template(
    request: Request,
    template_id: uuid.UUID,
    session: SessionDep,
    account: CurrentAccount,
    _: Admin,
) -> Response:
    template = template_service.get_template(session, account.id, template_id)
    name = template.name
    template_service.delete_template(session, account.id, template_id)
    return redirect(
        request, "/app/settings/templates", flash=("success", f"Template “{name}” deleted.")
    )


# --- notifications -----------------------------------------------------------------------------


def _matrix(session: Session, account: SubAccount) -> dict[str, Any]:
    cells = notifications.effective(session, account.id)
    templates = _all_templates(session, account)
    by_channel = {
        channel: [t for t in templates if t.channel in (channel, "both")]
        for channel in notifications.CHANNELS
    }
    rows = [
        {
            "trigger": trigger,
            "label": _label(trigger),
            "cells": {c.channel: c for c in cells if c.trigger == trigger},
        }
        for trigger in notifications.TRIGGERS
    ]
    return {"rows": rows, "channels": notifications.CHANNELS, "templates_for": by_channel}


@router.get("/settings/notifications")
def notifications_page(
    request: Request, session: SessionDep, account: CurrentAccount, _: Admin
) -> Response:
    return render(
        request,
        "settings/notifications.html",
        {**_common("notifications"), **_matrix(session, account)},
    )


def _parse_uuid(value: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(value) if value else None
    except ValueError:
        return None


@router.post("/settings/notifications")
async def save_notifications(
    request: Request, session: SessionDep, account: CurrentAccount, _: Admin
) -> Response:
    """Saves the cells that differ from what is stored now (so untouched cells keep
    following the defaults)."""
    form = await request.form()
    changes: list[notifications.CellUpdate] = []
    for current in notifications.effective(session, account.id):
        key = f"{current.trigger}.{current.channel}"
        enabled = form.get(f"{key}.enabled") is not None
        template_id = current.template_id
        if f"{key}.template_id" in form:
            raw = str(form.get(f"{key}.template_id") or "")
            template_id = _parse_uuid(raw)
            if raw and template_id is None:
                raise InvalidInput(f"{key}.template_id", "is not a template")
        if enabled != current.enabled or template_id != current.template_id:
            changes.append(
                notifications.CellUpdate(
                    trigger=current.trigger,
                    channel=current.channel,
                    enabled=enabled,
                    template_id=template_id,
                    respect_quiet_hours=current.respect_quiet_hours,
                )
            )
    if changes:
        notifications.update(session, account, changes)
    message = (
        f"Notification settings saved ({len(changes)} change{'s' if len(changes) != 1 else ''})."
        if changes
        else "Nothing changed."
    )
    if request.headers.get("HX-Request"):
        return render(
            request,
            "settings/_notifications_status.html",
            {"message": message, "changed": len(changes)},
        )
    return redirect(request, "/app/settings/notifications", flash=("success", message))


# --- sub-account -------------------------------------------------------------------------------

ACCOUNT_FIELDS = sub_account_settings.FIELDS


def _account_page(
    request: Request,
    values: dict[str, Any],
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    return render(
        request,
        "settings/account.html",
        {
            **_common("account"),
            "values": values,
            "errors": errors or {},
            "swatch": email_layout.brand_color(str(values.get("brand_color") or "")),
        },
        status_code=status_code,
    )


@router.get("/settings/account")
def account_page(request: Request, account: CurrentAccount, _: Admin) -> Response:
    return _account_page(request, {name: getattr(account, name) for name in ACCOUNT_FIELDS})


@router.post("/settings/account")
async def save_account(
    request: Request, session: SessionDep, account: CurrentAccount, _: Admin
) -> Response:
    form = await request.form()
    values: dict[str, Any] = {
        name: str(form.get(name) or "") for name in ACCOUNT_FIELDS if name in form
    }
    values["quiet_hours_enabled"] = form.get("quiet_hours_enabled") is not None
    try:
        data = sub_account_settings.SubAccountSettingsIn.model_validate(values)
    except ValidationError as exc:
        return _account_page(request, values, _validation_errors(exc), status_code=422)
    sub_account_settings.update_settings(session, account, data)
    return redirect(request, "/app/settings/account", flash=("success", "Settings saved."))
