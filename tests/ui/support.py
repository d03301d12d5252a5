"""Helpers for staff UI tests: users with passwords, signing in, the page's CSRF token."""

from __future__ import annotations

import re
import uuid

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from dramtrade.models import Role, User
from dramtrade.security import hash_password

PASSWORD = "correct horse battery"
_CSRF = re.compile(r'name="csrf-token" content="([^"]+)"')


def make_user(
    session: Session,
    sub_account_id: uuid.UUID,
    role: Role = Role.office,
    *,
    name: str | None = None,
    email: str | None = None,
    password: str = PASSWORD,
) -> User:
    user = User(
        sub_account_id=sub_account_id,
        email=email or f"{role.value}-{uuid.uuid4().hex[:8]}@example.com",
        name=name or f"{role.value.title()} Person",
        role=role,
        password_hash=hash_password(password),
    )
    session.add(user)
    session.flush()
    return user


def csrf_token(client: TestClient, path: str = "/app/login") -> str:
    """The CSRF token of the current session (or anonymous visitor), read from a page."""
    response = client.get(path)
    match = _CSRF.search(response.text)
    assert match, f"no csrf meta tag on {path}: {response.status_code}"
    return match.group(1)


def sign_in(client: TestClient, email: str, password: str = PASSWORD) -> str:
    """Sign in through the form; returns the signed-in session's CSRF token."""
    token = csrf_token(client, "/app/login")
    response = client.post(
        "/app/login",
        data={"email": email, "password": password, "csrf_token": token},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    return csrf_token(client, "/app/inbox")
