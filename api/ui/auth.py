"""Sign-in and sign-out of the staff UI, with failed attempts rate-limited per address and IP."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from api.deps import SessionDep, SettingsDep
from api.ui import sessions
from api.ui.deps import UIRequest
from api.ui.errors import safe_next
from api.ui.routing import ui_router
from api.ui.templating import redirect, render
from dramtrade.models import LoginAttempt, User, utcnow
from dramtrade.security import hash_password, verify_password

router = ui_router()

WINDOW = timedelta(minutes=15)
MAX_FAILURES_PER_EMAIL = 5
MAX_FAILURES_PER_IP = 20
# Checked when the address is unknown, so a wrong address costs as much time as a wrong password.
_DUMMY_HASH = hash_password("not-a-real-password")


def client_ip(request: Request) -> str:
    # Behind a proxy this is the proxy's address unless uvicorn runs with --proxy-headers.
    return request.client.host if request.client else "unknown"


def _too_many(session: Session, email: str, ip: str) -> bool:
    since = utcnow() - WINDOW
    by_email = session.scalar(
        select(func.count())
        .select_from(LoginAttempt)
        .where(LoginAttempt.email == email, LoginAttempt.attempted_at >= since)
    )
    if (by_email or 0) >= MAX_FAILURES_PER_EMAIL:
        return True
    by_ip = session.scalar(
        select(func.count())
        .select_from(LoginAttempt)
        .where(LoginAttempt.client_ip == ip, LoginAttempt.attempted_at >= since)
    )
    return (by_ip or 0) >= MAX_FAILURES_PER_IP


@router.get("/login")
def login_page(request: Request, ui: UIRequest, next: str | None = None) -> Response:
    target = safe_next(next) or "/app/inbox"
    if ui.user is not None:
        return RedirectResponse(target, status_code=303)
    return render(request, "auth/login.html", {"next": target, "email": ""})


@router.post("/login")
def login(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    ui: UIRequest,
    email: Annotated[str, Form(max_length=320)] = "",
    password: Annotated[str, Form(max_length=1000)] = "",
    next: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    target = safe_next(next) or "/app/inbox"
    address = email.strip().lower()
    ip = client_ip(request)
    context = {"next": target, "email": address}
    if _too_many(session, address, ip):
        return render(
            request,
            "auth/login.html",
            {
                **context,
                "error": "Too many failed sign-in attempts. Wait 15 minutes and try again, "
                "or ask an owner to reset your password.",
            },
            status_code=429,
            headers={"Retry-After": str(int(WINDOW.total_seconds()))},
        )
    user = (
        session.scalar(select(User).where(func.lower(User.email) == address)) if address else None
    )
    ok = verify_password(user.password_hash if user else _DUMMY_HASH, password)
    if user is None or not ok or not user.is_active:
        session.add(LoginAttempt(email=address[:320], client_ip=ip[:64]))
        return render(
            request,
            "auth/login.html",
            {**context, "error": "That email and password do not match an active account."},
            status_code=401,
        )
    # A successful sign-in clears this address's failures.
    session.execute(delete(LoginAttempt).where(LoginAttempt.email == address))
    response = RedirectResponse(target, status_code=303)
    response.set_cookie(
        sessions.SESSION_COOKIE,
        sessions.issue(settings.secret_key.get_secret_value(), user),
        max_age=sessions.SESSION_MAX_AGE,
        httponly=True,
        samesite="lax",
        secure=ui.secure_cookies,
        path="/app",
    )
    response.delete_cookie(sessions.ANON_COOKIE, path="/app")
    return response


@router.post("/logout")
def logout(request: Request, ui: UIRequest) -> Response:
    response = redirect(request, "/app/login", flash=("info", "You are signed out."))
    response.delete_cookie(sessions.SESSION_COOKIE, path="/app")
    return response
