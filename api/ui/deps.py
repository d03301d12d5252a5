"""Request plumbing of the staff UI: who is signed in, CSRF, roles and permissions.

Every route of an ``api.ui.routing.ui_router()`` runs ``load_ui_request`` first (a router-level
dependency): it resolves the signed-in user from the session cookie, derives the CSRF token
and refuses any POST/PUT/PATCH/DELETE whose ``X-CSRF-Token`` header or ``csrf_token`` form
field does not match (403). Pages then ask for ``CurrentUser`` (redirects to sign-in when
nobody is signed in) or ``require(Permission.x)`` (403 for a role without it).
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from api.deps import SessionDep, SettingsDep
from api.ui import sessions
from api.ui.errors import Forbidden, LoginRequired
from dramtrade.config import Settings
from dramtrade.models import Role, SubAccount, User

UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf_token"


class Permission(enum.StrEnum):
    view_inbox = "view_inbox"
    send = "send"  # reply by SMS/email, send from the customer record
    manage_conversations = "manage_conversations"  # assign, resolve/reopen, flag, link, lead
    view_customers = "view_customers"
    manage_settings = "manage_settings"  # templates, notifications, sub-account settings
    view_jobs = "view_jobs"


_OFFICE = {
    Permission.view_inbox,
    Permission.send,
    Permission.manage_conversations,
    Permission.view_customers,
    Permission.view_jobs,
}
ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.owner: frozenset(Permission),
    Role.admin: frozenset(Permission),
    Role.office: frozenset(_OFFICE),
    # Technicians read the inbox, customers and jobs, and change nothing.
    Role.technician: frozenset(
        {Permission.view_inbox, Permission.view_customers, Permission.view_jobs}
    ),
}


def can(user: User | None, permission: Permission) -> bool:
    if user is None:
        return False
    try:
        role = Role(user.role)
    except ValueError:
        return False
    return permission in ROLE_PERMISSIONS[role]


@dataclass
class UIContext:
    """What ``load_ui_request`` found; also kept on ``request.state.ui`` for templates."""

    user: User | None
    account: SubAccount | None
    csrf_token: str
    secure_cookies: bool
    # Set on whatever response the route returns (``UIRoute`` applies them).
    pending_cookies: list[dict[str, Any]] = field(default_factory=list)


def secure_cookies(settings: Settings) -> bool:
    return settings.public_base_url.lower().startswith("https://")


def _current_user(session: Session, settings: Settings, request: Request) -> User | None:
    claim = sessions.parse(request.cookies.get(sessions.SESSION_COOKIE))
    if claim is None:
        return None
    user = session.get(User, claim.user_id)
    if user is None or not sessions.verify(settings.secret_key.get_secret_value(), claim, user):
        return None
    return user


def _signed_in(
    request: Request, session: SessionDep, settings: SettingsDep
) -> tuple[User, SubAccount] | None:
    """Sync, so its queries run in the thread pool, not on the event loop."""
    user = _current_user(session, settings, request)
    if user is None:
        return None
    return user, session.get_one(SubAccount, user.sub_account_id)


async def load_ui_request(
    request: Request,
    settings: SettingsDep,
    signed_in: Annotated[tuple[User, SubAccount] | None, Depends(_signed_in)],
) -> UIContext:
    secret = settings.secret_key.get_secret_value()
    user, account = signed_in if signed_in is not None else (None, None)
    cookies: list[dict[str, Any]] = []
    secure = secure_cookies(settings)
    if user is not None:
        binding: str | None = request.cookies.get(sessions.SESSION_COOKIE)
    else:
        binding = request.cookies.get(sessions.ANON_COOKIE)
        if not binding and request.method not in UNSAFE_METHODS:
            binding = sessions.new_anonymous_id()
            cookies.append(
                {
                    "key": sessions.ANON_COOKIE,
                    "value": binding,
                    "httponly": True,
                    "samesite": "lax",
                    "secure": secure,
                    "path": "/app",
                }
            )
    ctx = UIContext(
        user=user,
        account=account,
        csrf_token=sessions.csrf_token(secret, binding or ""),
        secure_cookies=secure,
        pending_cookies=cookies,
    )
    request.state.ui = ctx
    if request.method in UNSAFE_METHODS:
        token = request.headers.get(CSRF_HEADER)
        if token is None:
            content_type = request.headers.get("content-type", "")
            if content_type.startswith(("application/x-www-form-urlencoded", "multipart/")):
                form = await request.form()
                field = form.get(CSRF_FIELD)
                token = field if isinstance(field, str) else None
        if not sessions.csrf_ok(secret, binding, token):
            raise Forbidden(
                "Your form expired or was sent from another site. Reload the page and try again.",
                title="Security check failed",
            )
    return ctx


UIRequest = Annotated[UIContext, Depends(load_ui_request)]


def get_current_user(ui: UIRequest, request: Request) -> User:
    if ui.user is None:
        raise LoginRequired(request)
    return ui.user


CurrentUser = Annotated[User, Depends(get_current_user)]


def get_current_account(ui: UIRequest, user: CurrentUser) -> SubAccount:
    assert ui.account is not None  # a signed-in user always has one (foreign key)
    return ui.account


CurrentAccount = Annotated[SubAccount, Depends(get_current_account)]


def require(permission: Permission) -> Callable[[User], User]:
    """``user: Annotated[User, Depends(require(Permission.send))]``: 403 without it."""

    def dependency(user: CurrentUser) -> User:
        if not can(user, permission):
            raise Forbidden("Your role does not allow this. Ask an owner or admin.")
        return user

    return dependency
