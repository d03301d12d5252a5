"""The unified inbox: conversation list, thread, reply and conversation actions.

Pages: ``/app/inbox`` (list) and ``/app/inbox/{id}`` (list + thread; opening marks it read).
Partials for htmx: ``/app/inbox/list`` and ``/app/inbox/{id}/thread``, re-fetched when the SSE
stream (``api.ui.events``) says something changed. Actions are form posts that answer with
the re-rendered thread (htmx) or a redirect (no JavaScript).
"""

from __future__ import annotations

import contextlib
import logging
import uuid
from datetime import datetime
from typing import Annotated, Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from fastapi import Depends, Form, Query, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool
from temporalio.exceptions import WorkflowAlreadyStartedError

from api.deps import SessionDep, SettingsDep, get_temporal
from api.ui.deps import CurrentAccount, Permission, can, require
from api.ui.routing import ui_router
from api.ui.templating import Flash, redirect, render
from dramtrade import repositories as repo
from dramtrade.config import Settings
from dramtrade.errors import Conflict, InvalidInput
from dramtrade.models import Channel, Conversation, Message, SubAccount, User
from dramtrade.services import inbox as service
from dramtrade.services import messages as message_service
from workflows.send_message import SendMessageWorkflow, workflow_id

log = logging.getLogger(__name__)
router = ui_router()

Viewer = Annotated[User, Depends(require(Permission.view_inbox))]
Sender = Annotated[User, Depends(require(Permission.send))]
Manager = Annotated[User, Depends(require(Permission.manage_conversations))]


def _list_query(
    filter: str = "open",
    channel: str | None = None,
    q: str | None = None,
    cursor: str | None = None,
) -> service.ListQuery:
    chosen: service.Filter = next((f for f in service.FILTERS if f == filter), "open")
    try:
        ch = Channel(channel) if channel else None
    except ValueError:
        ch = None
    text = (q or "").strip()[:200] or None
    return service.ListQuery(filter=chosen, channel=ch, q=text, cursor=(cursor or None))


ListParams = Annotated[service.ListQuery, Depends(_list_query)]


def _qs(query: service.ListQuery, **changes: Any) -> str:
    values: dict[str, Any] = {
        "filter": query.filter,
        "channel": query.channel.value if query.channel else None,
        "q": query.q,
    }
    values.update(changes)
    return urlencode({k: v for k, v in values.items() if v})


def _list_context(
    session: Any, account: SubAccount, user: User, query: service.ListQuery
) -> dict[str, Any]:
    rows, next_cursor = service.list_conversations(session, account.id, user.id, query)
    return {
        "rows": service.present_rows(session, account.id, rows),
        "query": query,
        "filters": service.FILTERS,
        "next_cursor": next_cursor,
        "qs": lambda **changes: _qs(query, **changes),
        "list_qs": _qs(query),
    }


def _thread_context(
    session: Any, account: SubAccount, user: User, conversation: Conversation, **extra: Any
) -> dict[str, Any]:
    service.mark_read(conversation)
    sidebar = service.sidebar(session, account.id, conversation)
    messages = service.thread_messages(session, account.id, conversation.id)
    has_phone = bool(sidebar.phones)
    has_email = bool(sidebar.emails)
    sms_opted_out = bool(sidebar.phones) and sidebar.phones[0].opted_out
    email_suppressed = bool(sidebar.emails) and sidebar.emails[0].opted_out
    last_inbound = next((m for m in reversed(messages) if m.direction == "inbound"), None)
    default_channel = last_inbound.channel if last_inbound else ("sms" if has_phone else "email")
    context = {
        "today": datetime.now(_zone(account)).date(),
        "conversation": conversation,
        "name": sidebar.customer.full_name
        if sidebar.customer
        else (conversation.contact_phone or conversation.contact_email or "Unknown contact"),
        "messages": messages,
        "sidebar": sidebar,
        "team": service.team(session, account.id),
        "has_phone": has_phone,
        "has_email": has_email,
        "sms_opted_out": sms_opted_out,
        "email_suppressed": email_suppressed,
        "default_channel": str(default_channel),
        "idempotency_key": uuid.uuid4().hex,
        "reply": {},
        "can_send": can(user, Permission.send),
        "can_manage": can(user, Permission.manage_conversations),
    }
    context.update(extra)
    return context


def _zone(account: SubAccount) -> ZoneInfo:
    try:
        return ZoneInfo(account.timezone)
    except (KeyError, ValueError):
        return ZoneInfo("UTC")


@router.get("/inbox")
def inbox(
    request: Request, session: SessionDep, user: Viewer, account: CurrentAccount, query: ListParams
) -> Response:
    context = _list_context(session, account, user, query)
    return render(request, "inbox/index.html", {"active_nav": "inbox", **context})


@router.get("/inbox/list")
def inbox_list(
    request: Request, session: SessionDep, user: Viewer, account: CurrentAccount, query: ListParams
) -> Response:
    selected = request.query_params.get("selected")
    context = _list_context(session, account, user, query)
    return render(request, "inbox/_list.html", {**context, "selected": selected})


@router.get("/inbox/{conversation_id}")
def conversation_page(
    conversation_id: uuid.UUID,
    request: Request,
    session: SessionDep,
    user: Viewer,
    account: CurrentAccount,
    query: ListParams,
) -> Response:
    conversation = service.get_conversation(session, account.id, conversation_id)
    thread = _thread_context(session, account, user, conversation)
    listing = _list_context(session, account, user, query)
    return render(
        request,
        "inbox/index.html",
        {"active_nav": "inbox", "selected": str(conversation.id), **listing, **thread},
    )


@router.get("/inbox/{conversation_id}/thread")
def thread_partial(
    conversation_id: uuid.UUID,
    request: Request,
    session: SessionDep,
    user: Viewer,
    account: CurrentAccount,
) -> Response:
    conversation = service.get_conversation(session, account.id, conversation_id)
    return render(
        request, "inbox/_thread.html", _thread_context(session, account, user, conversation)
    )


def _after_action(
    request: Request,
    session: Any,
    account: SubAccount,
    user: User,
    conversation: Conversation,
    flash: Flash,
    *,
    event: str | None = None,
    **extra: Any,
) -> Response:
    """htmx: the re-rendered thread with the message (and ``event`` as an ``HX-Trigger``);
    otherwise back to the thread page."""
    if request.headers.get("HX-Request"):
        return render(
            request,
            "inbox/_thread.html",
            _thread_context(session, account, user, conversation, **extra),
            flashes=[flash],
            headers={"HX-Trigger": event} if event else None,
        )
    return redirect(request, f"/app/inbox/{conversation.id}", flash=flash)


async def _start_send(request: Request, settings: Settings, message: Message) -> bool:
    """Start the send workflow for a committed row; False when Temporal is unreachable."""
    try:
        temporal = await get_temporal(request)
        with contextlib.suppress(WorkflowAlreadyStartedError):
            await temporal.start_workflow(
                SendMessageWorkflow.run,
                str(message.id),
                id=workflow_id(str(message.id)),
                task_queue=settings.temporal_task_queue,
            )
    except Exception:  # the row is stored; sending resumes when the user retries
        log.warning("could not start the send workflow for %s", message.id, exc_info=True)
        return False
    return True


@router.post("/inbox/{conversation_id}/reply")
async def reply(
    conversation_id: uuid.UUID,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    user: Sender,
    account: CurrentAccount,
    channel: Annotated[str, Form()] = "sms",
    body: Annotated[str, Form(max_length=20_000)] = "",
    subject: Annotated[str, Form(max_length=998)] = "",
    confirm_opted_out: Annotated[bool, Form()] = False,
    idempotency_key: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    conversation = await run_in_threadpool(
        service.get_conversation, session, account.id, conversation_id
    )
    reply_form = {
        "channel": channel,
        "body": body,
        "subject": subject,
        "idempotency_key": idempotency_key,
    }

    def write() -> Message:
        # In a savepoint: a refused reply leaves nothing behind, and nothing else is undone.
        with session.begin_nested():
            return _write()

    def _write() -> Message:
        try:
            ch = Channel(channel)
        except ValueError as exc:
            raise InvalidInput("channel", "choose SMS or email") from exc
        if ch == Channel.sms and len(body) > 1600:
            raise InvalidInput("body", "an SMS is at most 1600 characters")
        if conversation.customer_id is None:
            return service.reply_to_unknown(
                session,
                account,
                conversation,
                ch,
                body,
                subject or None,
                None,
                confirm_opted_out,
                idempotency_key or None,
            )
        message, _ = message_service.create_manual(
            session,
            account,
            message_service.ManualSend(
                customer_id=conversation.customer_id,
                channel=ch,
                body=body,
                template_id=None,
                subject=(subject or None) if ch == Channel.email else None,
                html=None,
                to=None,
                confirm_opted_out=confirm_opted_out,
            ),
            idempotency_key or None,
        )
        return message

    try:
        message = await run_in_threadpool(write)
    except (InvalidInput, Conflict) as exc:
        text = exc.detail if isinstance(exc, InvalidInput) else exc.message
        opted_out = isinstance(exc, message_service.OptedOut)
        return await run_in_threadpool(
            lambda: _after_action(
                request,
                session,
                account,
                user,
                conversation,
                ("error", text),
                reply=reply_form,
                idempotency_key=idempotency_key or uuid.uuid4().hex,
                reply_error=text,
                opted_out_error=opted_out,
            )
        )
    # The row is durable before the workflow starts (the same order as POST /v1/messages).
    await run_in_threadpool(session.commit)
    if not await _start_send(request, settings, message):
        return await run_in_threadpool(
            lambda: _after_action(
                request,
                session,
                account,
                user,
                conversation,
                (
                    "warning",
                    "Saved and queued, but the sending service is unreachable right now. "
                    "Use “Retry sending” on the message; it will not be sent twice.",
                ),
                event="replySent",
            )
        )
    return await run_in_threadpool(
        lambda: _after_action(
            request, session, account, user, conversation, ("success", "Sent."), event="replySent"
        )
    )


@router.post("/inbox/{conversation_id}/messages/{message_id}/retry")
async def retry_send(
    conversation_id: uuid.UUID,
    message_id: uuid.UUID,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    user: Sender,
    account: CurrentAccount,
) -> Response:
    conversation = await run_in_threadpool(
        service.get_conversation, session, account.id, conversation_id
    )
    message = await run_in_threadpool(message_service.get_message, session, account.id, message_id)
    if message.conversation_id != conversation.id or message.direction != "outbound":
        raise Conflict("only an outbound message of this thread can be retried")
    ok = await _start_send(request, settings, message)
    flash: Flash = (
        ("success", "Sending resumed.")
        if ok
        else ("warning", "The sending service is still unreachable; try again shortly.")
    )
    return await run_in_threadpool(
        lambda: _after_action(request, session, account, user, conversation, flash)
    )


@router.post("/inbox/{conversation_id}/assign")
def assign(
    conversation_id: uuid.UUID,
    request: Request,
    session: SessionDep,
    user: Manager,
    account: CurrentAccount,
    assignee_id: Annotated[str, Form()] = "",
) -> Response:
    conversation = service.get_conversation(session, account.id, conversation_id)
    if assignee_id:
        try:
            assignee = repo.get_user(session, account.id, uuid.UUID(assignee_id))
        except ValueError:
            assignee = None
        if assignee is None or not assignee.is_active:
            raise InvalidInput("assignee_id", "choose a member of your team")
        conversation.assignee_id = assignee.id
        flash: Flash = ("success", f"Assigned to {assignee.name}.")
    else:
        conversation.assignee_id = None
        flash = ("success", "Unassigned.")
    return _after_action(request, session, account, user, conversation, flash)


@router.post("/inbox/{conversation_id}/status")
def set_status(
    conversation_id: uuid.UUID,
    request: Request,
    session: SessionDep,
    user: Manager,
    account: CurrentAccount,
    status: Annotated[str, Form()],
) -> Response:
    if status not in ("open", "resolved"):
        raise InvalidInput("status", "open or resolved")
    conversation = service.get_conversation(session, account.id, conversation_id)
    conversation.status = status
    flash: Flash = ("success", "Resolved." if status == "resolved" else "Reopened.")
    return _after_action(request, session, account, user, conversation, flash)


@router.post("/inbox/{conversation_id}/flag")
def set_flag(
    conversation_id: uuid.UUID,
    request: Request,
    session: SessionDep,
    user: Manager,
    account: CurrentAccount,
    flagged: Annotated[bool, Form()],
) -> Response:
    conversation = service.get_conversation(session, account.id, conversation_id)
    conversation.flagged = flagged
    flash: Flash = ("success", "Flagged for follow-up." if flagged else "Flag removed.")
    return _after_action(request, session, account, user, conversation, flash)


@router.get("/inbox/{conversation_id}/customer-search")
def customer_search(
    conversation_id: uuid.UUID,
    request: Request,
    session: SessionDep,
    user: Manager,
    account: CurrentAccount,
    q: Annotated[str, Query(max_length=200)] = "",
) -> Response:
    conversation = service.get_conversation(session, account.id, conversation_id)
    matches = service.customer_matches(session, account.id, q)
    return render(
        request,
        "inbox/_customer_matches.html",
        {"conversation": conversation, "matches": matches, "q": q},
    )


@router.post("/inbox/{conversation_id}/link")
def link_customer(
    conversation_id: uuid.UUID,
    request: Request,
    session: SessionDep,
    user: Manager,
    account: CurrentAccount,
    customer_id: Annotated[uuid.UUID, Form()],
) -> Response:
    conversation = service.get_conversation(session, account.id, conversation_id)
    target = service.link_to_customer(session, account, conversation, customer_id)
    return redirect(
        request,
        f"/app/inbox/{target.id}",
        flash=("success", "Linked: this contact's messages now belong to the customer."),
    )


@router.post("/inbox/{conversation_id}/lead")
def create_lead(
    conversation_id: uuid.UUID,
    request: Request,
    session: SessionDep,
    user: Manager,
    account: CurrentAccount,
    name: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    conversation = service.get_conversation(session, account.id, conversation_id)
    service.create_lead(session, account, conversation, name)
    return _after_action(
        request, session, account, user, conversation, ("success", "Lead created.")
    )
