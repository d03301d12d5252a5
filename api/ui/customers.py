"""Customer list and customer record of the staff UI, with the SMS and email composers.

Sends go through ``dramtrade.services.messages.create_manual`` (templates, opt-out confirmation,
sanitized and branded email HTML) and then start ``SendMessageWorkflow``, in the same order as
``POST /v1/messages``: the row is committed first, so a send is never lost and, keyed by the
form's idempotency key, never doubled.
"""

from __future__ import annotations

import contextlib
import html as htmllib
import logging
import uuid
from typing import Annotated, Any

import nh3
from fastapi import Depends, Form, HTTPException, Request
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError

from api.deps import SessionDep, SettingsDep, get_temporal
from api.ui.deps import CurrentAccount, CurrentUser, Permission, can, require
from api.ui.routing import ui_router
from api.ui.templating import redirect, render
from dramtrade import repositories as repo
from dramtrade.config import Settings
from dramtrade.errors import Conflict, InvalidInput
from dramtrade.models import Channel, Message, SubAccount, User
from dramtrade.phones import InvalidPhoneNumber, to_e164
from dramtrade.services import customer_record
from dramtrade.services import customers as customer_service
from dramtrade.services import messages as message_service
from dramtrade.services import templates as template_service
from dramtrade.template_schemas import PreviewContext
from workflows.send_message import SendMessageWorkflow, workflow_id

log = logging.getLogger(__name__)

router = ui_router()

Viewer = Annotated[User, Depends(require(Permission.view_customers))]
Sender = Annotated[User, Depends(require(Permission.send))]

PAGE_SIZE = 25


# --- list --------------------------------------------------------------------------------------


@router.get("/customers")
def customer_list(
    request: Request,
    session: SessionDep,
    account: CurrentAccount,
    _: Viewer,
    q: str = "",
    cursor: str | None = None,
) -> Response:
    text = q.strip()[:200]
    filters: dict[str, Any] = {}
    if "@" in text:
        filters["email"] = text
    elif text and sum(ch.isdigit() for ch in text) >= 7:
        try:
            filters["phone"] = to_e164(text, account.default_country)
        except InvalidPhoneNumber:
            filters["q"] = text
    elif text:
        filters["q"] = text
    try:
        customers, next_cursor = repo.list_customers(
            session, account.id, limit=PAGE_SIZE, cursor=cursor, **filters
        )
    except ValueError:  # a tampered cursor
        customers, next_cursor = repo.list_customers(
            session, account.id, limit=PAGE_SIZE, **filters
        )
    ids = [c.id for c in customers]
    phones = repo.phones_by_customer(session, account.id, ids)
    emails = repo.emails_by_customer(session, account.id, ids)
    return render(
        request,
        "customers/list.html",
        {
            "active_nav": "customers",
            "q": text,
            "customers": customers,
            "phones": phones,
            "emails": emails,
            "next_cursor": next_cursor,
        },
    )


# --- record ------------------------------------------------------------------------------------


def _record_page(
    request: Request,
    session: Any,
    account: SubAccount,
    user: User,
    customer_id: uuid.UUID,
    *,
    sms: dict[str, Any] | None = None,
    email: dict[str, Any] | None = None,
    status_code: int = 200,
) -> Response:
    record = customer_record.load(session, account.id, customer_id)
    return render(
        request,
        "customers/show.html",
        {
            "active_nav": "customers",
            "record": record,
            "c": record.customer,
            "can_send": can(user, Permission.send),
            "sms": {"body": "", "error": None, "key": uuid.uuid4().hex, **(sms or {})},
            "email": {
                "subject": "",
                "html": "",
                "error": None,
                "key": uuid.uuid4().hex,
                **(email or {}),
            },
        },
        status_code=status_code,
    )


@router.get("/customers/{customer_id}")
def customer_page(
    customer_id: uuid.UUID,
    request: Request,
    session: SessionDep,
    user: CurrentUser,
    account: CurrentAccount,
    _: Viewer,
) -> Response:
    return _record_page(request, session, account, user, customer_id)


@router.get("/customers/{customer_id}/templates/{template_id}/render")
def render_template_for_customer(
    customer_id: uuid.UUID,
    template_id: uuid.UUID,
    session: SessionDep,
    account: CurrentAccount,
    _: Sender,
) -> JSONResponse:
    """A template rendered with this customer's values, for the composers' pickers."""
    preview = template_service.preview_template(
        session, account, template_id, PreviewContext(customer_id=customer_id)
    )
    return JSONResponse(
        {"subject": preview.subject, "body": preview.body, "html": preview.html},
        headers={"Cache-Control": "no-store"},
    )


async def _start_send(request: Request, settings: Settings, message: Message) -> bool:
    """Start the message's workflow; False when Temporal cannot be reached (the row stays
    pending and the same form, with the same idempotency key, can be sent again)."""
    try:
        temporal = await get_temporal(request)
        with contextlib.suppress(WorkflowAlreadyStartedError):
            await temporal.start_workflow(
                SendMessageWorkflow.run,
                str(message.id),
                id=workflow_id(str(message.id)),
                task_queue=settings.temporal_task_queue,
            )
    except (HTTPException, RPCError, RuntimeError) as exc:
        log.warning("could not start the send workflow of message %s: %s", message.id, exc)
        return False
    return True


async def _send(
    request: Request,
    session: Any,
    settings: Settings,
    account: SubAccount,
    user: User,
    customer_id: uuid.UUID,
    send: message_service.ManualSend,
    key: str,
    form_state: dict[str, Any],
) -> Response:
    kind = "sms" if send.channel == Channel.sms else "email"
    try:
        message, _created = await run_in_threadpool(
            message_service.create_manual, session, account, send, f"ui:{key}" if key else None
        )
    except (InvalidInput, Conflict) as exc:
        await run_in_threadpool(session.rollback)
        text = exc.detail if isinstance(exc, InvalidInput) else exc.message
        state = {
            **form_state,
            "key": key or uuid.uuid4().hex,
            "error": text,
            "error_field": exc.field,
            "opted_out": isinstance(exc, message_service.OptedOut),
        }
        code = 409 if isinstance(exc, Conflict) else 422
        return await run_in_threadpool(
            lambda: _record_page(
                request, session, account, user, customer_id, status_code=code, **{kind: state}
            )
        )
    await run_in_threadpool(session.commit)
    label = "Message" if kind == "sms" else "Email"
    url = f"/app/customers/{customer_id}#timeline"
    if not await _start_send(request, settings, message):
        return redirect(
            request,
            url,
            flash=(
                "warning",
                f"{label} saved, but the sending service is unreachable right now. "
                "It is queued; retry from the inbox thread, it will not be sent twice.",
            ),
        )
    return redirect(request, url, flash=("success", f"{label} sent to {message.to_addr}."))


@router.post("/customers/{customer_id}/sms")
async def send_sms(
    customer_id: uuid.UUID,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    user: Sender,
    account: CurrentAccount,
    body: Annotated[str, Form(max_length=20_000)] = "",
    confirm_opted_out: Annotated[bool, Form()] = False,
    idempotency_key: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    form_state = {"body": body}
    if len(body) > 1600:
        return await run_in_threadpool(
            lambda: _record_page(
                request,
                session,
                account,
                user,
                customer_id,
                status_code=422,
                sms={**form_state, "error": "an SMS is at most 1600 characters"},
            )
        )
    send = message_service.ManualSend(
        customer_id=customer_id,
        channel=Channel.sms,
        body=body,
        template_id=None,
        subject=None,
        html=None,
        to=None,
        confirm_opted_out=confirm_opted_out,
    )
    return await _send(
        request, session, settings, account, user, customer_id, send, idempotency_key, form_state
    )


@router.post("/customers/{customer_id}/email")
async def send_email(
    customer_id: uuid.UUID,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    user: Sender,
    account: CurrentAccount,
    subject: Annotated[str, Form(max_length=998)] = "",
    html: Annotated[str, Form(max_length=500_000)] = "",
    body: Annotated[str, Form(max_length=20_000)] = "",
    confirm_opted_out: Annotated[bool, Form()] = False,
    idempotency_key: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    clean = message_service.sanitize_email_html(html) if html.strip() else ""
    text = body.strip() or _text_of(clean)
    form_state = {"subject": subject, "html": clean}
    send = message_service.ManualSend(
        customer_id=customer_id,
        channel=Channel.email,
        body=text,
        template_id=None,
        subject=" ".join(subject.split()) or None,
        html=clean or None,
        to=None,
        confirm_opted_out=confirm_opted_out,
    )
    return await _send(
        request, session, settings, account, user, customer_id, send, idempotency_key, form_state
    )


def _text_of(html: str) -> str:
    """A plain-text part for an email whose browser sent none (no JavaScript)."""
    spaced = html.replace("</p>", "</p>\n").replace("<br>", "\n").replace("</li>", "</li>\n")
    return htmllib.unescape(nh3.clean(spaced, tags=set())).strip()


@router.post("/customers/{customer_id}/email/preview")
def preview_email(
    customer_id: uuid.UUID,
    request: Request,
    session: SessionDep,
    account: CurrentAccount,
    _: Sender,
    subject: Annotated[str, Form(max_length=998)] = "",
    html: Annotated[str, Form(max_length=500_000)] = "",
    body: Annotated[str, Form(max_length=20_000)] = "",
) -> Response:
    """The email exactly as it would be sent: sanitized, in the branded layout."""
    customer_service.get_customer(session, account.id, customer_id)
    document = message_service.branded_email_html(account, html or None, body, subject or None)
    return render(
        request, "customers/_email_preview.html", {"document": document, "subject": subject}
    )
