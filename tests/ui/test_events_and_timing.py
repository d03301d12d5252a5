"""The SSE stream that drives live updates, and server time of the inbox pages."""

from __future__ import annotations

import threading
import time
from contextlib import nullcontext

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import delete
from sqlalchemy.orm import Session

from api.ui import events
from dramtrade import conversations
from dramtrade.db import get_sessionmaker
from dramtrade.models import Channel, Conversation, SubAccount
from tests.conftest import Tenant, make_tenant
from tests.ui.support import make_user, sign_in
from tests.ui.test_inbox import add_customer, add_message


def frames(body: str) -> list[str]:
    return [line.split(": ", 1)[1] for line in body.splitlines() if line.startswith("event: ")]


@pytest.fixture
def shared_factory(client: TestClient, db_session: Session):
    client.app.dependency_overrides[events.session_factory] = lambda: (  # type: ignore[attr-defined]
        lambda: nullcontext(db_session)
    )


def test_events_require_sign_in(client: TestClient):
    response = client.get("/app/events", follow_redirects=False)
    assert response.status_code == 303


def test_reconnect_hears_about_a_new_inbound_message(
    office_client: TestClient, db_session: Session, tenant: Tenant, shared_factory, monkeypatch
):
    monkeypatch.setattr(events, "STREAM_SECONDS", 0.0)
    jane = add_customer(db_session, tenant, "Jane", "Alvarez", "+15125550111")
    conv = conversations.for_customer(db_session, jane)
    add_message(db_session, conv, "earlier", ago=10)
    before = events.read_state(db_session, tenant.sub_account_id)
    # Nothing changed: the stream says nothing.
    quiet = office_client.get("/app/events", headers={"Last-Event-ID": before.event_id})
    assert quiet.headers["content-type"].startswith("text/event-stream")
    assert frames(quiet.text) == []
    add_message(db_session, conv, "new inbound")
    response = office_client.get("/app/events", headers={"Last-Event-ID": before.event_id})
    assert frames(response.text) == [f"conv-{conv.id}", "inbox"]
    # A status change of a conversation alone is an inbox event.
    after = events.read_state(db_session, tenant.sub_account_id)
    conv.flagged = True
    db_session.flush()
    response = office_client.get("/app/events", headers={"Last-Event-ID": after.event_id})
    assert frames(response.text) == ["inbox"]


def test_events_are_scoped_to_the_sub_account(
    office_client: TestClient, db_session: Session, tenant: Tenant, shared_factory, monkeypatch
):
    monkeypatch.setattr(events, "STREAM_SECONDS", 0.0)
    before = events.read_state(db_session, tenant.sub_account_id)
    other = make_tenant(db_session, "Other Co")
    conv = conversations.for_phone(db_session, other.sub_account_id, "+15125550188")
    add_message(db_session, conv, "not yours")
    response = office_client.get("/app/events", headers={"Last-Event-ID": before.event_id})
    assert frames(response.text) == []


def test_stream_emits_within_two_seconds_of_a_committed_message(client: TestClient, monkeypatch):
    """Real commits from another connection, as a webhook on another API node would make."""
    monkeypatch.setattr(events, "STREAM_SECONDS", 2.5)
    monkeypatch.setattr(events, "POLL_SECONDS", 0.25)
    maker = get_sessionmaker()
    with maker() as session:
        tenant = make_tenant(session, "Live Co")
        user = make_user(session, tenant.sub_account_id)
        conv = conversations.for_phone(session, tenant.sub_account_id, "+15125550199")
        session.commit()
        conv_id, email = conv.id, user.email
    try:
        sign_in(client, email)
        inserted_at: list[float] = []

        def inbound_later() -> None:
            time.sleep(0.8)
            with maker() as s:
                c = s.get_one(Conversation, conv_id)
                add_message(s, c, "live!", channel=Channel.sms)
                s.commit()
            inserted_at.append(time.monotonic())

        thread = threading.Thread(target=inbound_later)
        thread.start()
        response = client.get("/app/events")
        thread.join()
        assert f"conv-{conv_id}" in frames(response.text)
        assert "inbox" in frames(response.text)
    finally:
        with maker() as s:
            s.execute(delete(SubAccount).where(SubAccount.id == tenant.sub_account_id))
            s.commit()


def test_inbox_pages_stay_under_200_ms_on_demo_data(
    client: TestClient, db_session: Session, tmp_path
):
    from dramtrade.config import get_settings
    from dramtrade.demo import DEMO_LOGIN, DEMO_PASSWORD, seed_demo

    seed = seed_demo(db_session, get_settings().model_copy(update={"data_dir": tmp_path}))
    db_session.flush()
    account_id = seed.sub_account_id if hasattr(seed, "sub_account_id") else None
    tenant_id = (
        account_id
        or db_session.query(SubAccount).filter_by(sending_domain="lonestarcomfort.example").one().id
    )
    tenant = Tenant(sub_account_id=tenant_id, api_key="", phone_number="")
    # More traffic than the demo seed has: 40 threads of 10 messages, some unknown numbers.
    first: Conversation | None = None
    for i in range(40):
        if i % 4 == 0:
            conv = conversations.for_phone(db_session, tenant_id, f"+1512555{7000 + i:04d}")
        else:
            customer = add_customer(
                db_session,
                tenant,
                f"Cust{i}",
                "Perf",
                f"+1512555{8000 + i:04d}",
                f"perf{i}@example.com",
            )
            conv = conversations.for_customer(db_session, customer)
        for j in range(10):
            add_message(
                db_session, conv, f"message {j} of thread {i}", inbound=j % 2 == 0, ago=i * 10 + j
            )
        first = first or conv
    assert first is not None
    sign_in(client, DEMO_LOGIN, DEMO_PASSWORD)
    pages = [
        "/app/inbox",
        "/app/inbox?filter=all&q=perf",
        "/app/inbox/list?filter=all",
        f"/app/inbox/{first.id}",
        f"/app/inbox/{first.id}/thread",
    ]
    for path in pages:
        client.get(path)  # warm up templates and statement caches
        timings = []
        for _ in range(3):
            started = time.perf_counter()
            response = client.get(path)
            timings.append(time.perf_counter() - started)
            assert response.status_code == 200, path
        print(path, f"{min(timings) * 1000:.0f} ms")
        assert min(timings) < 0.2, (path, timings)
