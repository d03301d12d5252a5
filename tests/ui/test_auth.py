"""Sign-in, sign-out, session cookies, CSRF and roles of the staff UI."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from api.ui import sessions
from dramtrade.models import LoginAttempt, Role, User, utcnow
from tests.conftest import Tenant
from tests.ui.support import PASSWORD, csrf_token, make_user, sign_in


def test_unauthenticated_redirects_to_login_with_next(client: TestClient):
    response = client.get("/app/inbox?filter=mine", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/app/login?next=/app/inbox%3Ffilter%3Dmine"


def test_htmx_request_without_session_gets_hx_redirect(client: TestClient):
    response = client.get(
        "/app/inbox",
        headers={"HX-Request": "true", "HX-Current-URL": "http://testserver/app/inbox"},
        follow_redirects=False,
    )
    assert response.status_code == 401
    assert response.headers["HX-Redirect"].startswith("/app/login?next=/app/inbox")


def test_sign_in_sets_httponly_lax_cookie_and_redirects(client: TestClient, office_user: User):
    token = csrf_token(client)
    response = client.post(
        "/app/login",
        data={
            "email": office_user.email.upper(),
            "password": PASSWORD,
            "csrf_token": token,
            "next": "/app/inbox?filter=open",
        },
        follow_redirects=False,
    )
    assert response.status_code == 303
    assert response.headers["location"] == "/app/inbox?filter=open"
    cookie = response.headers["set-cookie"]
    assert cookie.startswith(f"{sessions.SESSION_COOKIE}=")
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Path=/app" in cookie
    assert "Secure" not in cookie  # public_base_url is http in tests
    page = client.get("/app/inbox")
    assert page.status_code == 200
    assert office_user.name in page.text


def test_next_must_be_a_local_path(client: TestClient, office_user: User):
    token = csrf_token(client)
    for evil in ("https://evil.example/", "//evil.example/app", "/\\evil.example", "/v1/x"):
        response = client.post(
            "/app/login",
            data={
                "email": office_user.email,
                "password": PASSWORD,
                "csrf_token": token,
                "next": evil,
            },
            follow_redirects=False,
        )
        assert response.headers["location"] == "/app/inbox", evil
        client.cookies.clear()
        token = csrf_token(client)


def test_wrong_password_is_401_and_recorded(
    client: TestClient, db_session: Session, office_user: User
):
    token = csrf_token(client)
    response = client.post(
        "/app/login",
        data={"email": office_user.email, "password": "nope", "csrf_token": token},
    )
    assert response.status_code == 401
    assert "do not match" in response.text
    assert sessions.SESSION_COOKIE not in client.cookies
    attempts = db_session.query(LoginAttempt).filter_by(email=office_user.email).count()
    assert attempts == 1


def test_unknown_email_and_inactive_user_cannot_sign_in(
    client: TestClient, db_session: Session, tenant: Tenant
):
    inactive = make_user(db_session, tenant.sub_account_id)
    inactive.is_active = False
    db_session.flush()
    token = csrf_token(client)
    for email in ("nobody@example.com", inactive.email):
        response = client.post(
            "/app/login", data={"email": email, "password": PASSWORD, "csrf_token": token}
        )
        assert response.status_code == 401


def test_five_failures_per_address_gives_429(client: TestClient, office_user: User):
    token = csrf_token(client)
    for _ in range(5):
        response = client.post(
            "/app/login",
            data={"email": office_user.email, "password": "wrong", "csrf_token": token},
        )
        assert response.status_code == 401
    # Even the right password is refused now, with a clear message.
    response = client.post(
        "/app/login",
        data={"email": office_user.email, "password": PASSWORD, "csrf_token": token},
    )
    assert response.status_code == 429
    assert "Too many failed sign-in attempts" in response.text
    assert response.headers["Retry-After"] == "900"


def test_old_failures_do_not_count(client: TestClient, db_session: Session, office_user: User):
    old = utcnow() - timedelta(minutes=16)
    for _ in range(5):
        db_session.add(LoginAttempt(email=office_user.email, client_ip="1.2.3.4", attempted_at=old))
    db_session.flush()
    sign_in(client, office_user.email)


def test_twenty_failures_per_client_ip_gives_429(
    client: TestClient, db_session: Session, office_user: User
):
    for i in range(20):
        db_session.add(LoginAttempt(email=f"x{i}@example.com", client_ip="testclient"))
    db_session.flush()
    token = csrf_token(client)
    response = client.post(
        "/app/login",
        data={"email": office_user.email, "password": PASSWORD, "csrf_token": token},
    )
    assert response.status_code == 429


def test_login_without_or_with_wrong_csrf_is_403(client: TestClient, office_user: User):
    csrf_token(client)
    data = {"email": office_user.email, "password": PASSWORD}
    assert client.post("/app/login", data=data).status_code == 403
    response = client.post("/app/login", data={**data, "csrf_token": "forged"})
    assert response.status_code == 403
    assert "Security check failed" in response.text


def test_post_without_csrf_is_403_when_signed_in(office_client: TestClient):
    assert office_client.post("/app/logout").status_code == 403
    assert office_client.post("/app/logout", headers={"X-CSRF-Token": "x"}).status_code == 403
    # The header that htmx sends works as well as the form field.
    response = office_client.post(
        "/app/logout", headers={"X-CSRF-Token": office_client.csrf}, follow_redirects=False
    )
    assert response.status_code == 303


def test_csrf_token_of_another_session_is_refused(
    client: TestClient, office_user: User, owner_user: User
):
    first = sign_in(client, office_user.email)
    client.cookies.clear()
    sign_in(client, owner_user.email)
    response = client.post("/app/logout", data={"csrf_token": first})
    assert response.status_code == 403


def test_sign_out_ends_the_session(office_client: TestClient):
    response = office_client.post(
        "/app/logout", data={"csrf_token": office_client.csrf}, follow_redirects=False
    )
    assert response.status_code == 303
    assert response.headers["location"] == "/app/login"
    page = office_client.get("/app/login")
    assert "You are signed out." in page.text
    assert office_client.get("/app/inbox", follow_redirects=False).status_code == 303


def test_forged_or_stale_session_cookie_is_ignored(
    client: TestClient, db_session: Session, office_user: User
):
    secret = "dev-only-secret-change-me"
    client.cookies.set(
        sessions.SESSION_COOKIE, sessions.issue("other-secret", office_user), path="/app"
    )
    assert client.get("/app/inbox", follow_redirects=False).status_code == 303
    # A cookie older than the session lifetime is refused.
    old = sessions.issue(secret, office_user, now=0)
    claim = sessions.parse(old)
    assert claim is not None and not sessions.verify(secret, claim, office_user)
    # Changing the password ends existing sessions.
    sign_in(client, office_user.email)
    assert client.get("/app/inbox", follow_redirects=False).status_code == 200
    office_user.password_hash = "changed"
    db_session.flush()
    assert client.get("/app/inbox", follow_redirects=False).status_code == 303


def test_demo_login_works(client: TestClient, db_session: Session, tmp_path):
    from dramtrade.config import get_settings
    from dramtrade.demo import DEMO_LOGIN, DEMO_PASSWORD, seed_demo

    settings = get_settings().model_copy(update={"data_dir": tmp_path})
    seed_demo(db_session, settings)
    db_session.flush()
    token = sign_in(client, DEMO_LOGIN, DEMO_PASSWORD)
    assert token


def test_technician_cannot_open_settings_owner_can(
    client: TestClient, technician_user: User, owner_user: User
):
    from api.ui.deps import Permission, can

    assert can(technician_user, Permission.view_inbox)
    assert not can(technician_user, Permission.manage_settings)
    assert not can(technician_user, Permission.send)
    assert can(owner_user, Permission.manage_settings)
    sign_in(client, technician_user.email)
    page = client.get("/app/inbox")
    assert page.status_code == 200
    assert 'href="/app/settings"' not in page.text


def test_office_role_permissions(office_user: User):
    from api.ui.deps import Permission, can

    assert can(office_user, Permission.send)
    assert can(office_user, Permission.manage_conversations)
    assert not can(office_user, Permission.manage_settings)
    assert Role(office_user.role) == Role.office
