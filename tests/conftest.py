"""Test infrastructure: a fresh PostgreSQL database per run, dropped afterwards.

Unit and API tests run inside a transaction rolled back per test (``db_session``); the
end-to-end tests, which run the API, worker and carrier as real servers, commit for real and
stay independent by each creating their own sub-account.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import psycopg
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlalchemy.orm import Session

# The end-to-end stack (Temporal, carrier, API with the staff UI, worker): one per run, shared by
# tests/e2e and tests/browser.
from tests.support.stack import live_tenant, stack, temporal_env

__all__ = ["live_tenant", "stack", "temporal_env"]

ADMIN_DSN = os.environ.get(
    "TEST_POSTGRES_ADMIN_DSN", "postgresql://postgres@127.0.0.1:5432/postgres"
)
TEST_DB = f"dramtrade_test_{os.getpid()}_{uuid.uuid4().hex[:6]}"


def _admin(sql: str) -> None:
    with psycopg.connect(ADMIN_DSN, autocommit=True) as conn:
        conn.execute(sql)  # type: ignore[arg-type]


def pytest_configure(config: pytest.Config) -> None:
    _admin(f'CREATE DATABASE "{TEST_DB}"')
    base = ADMIN_DSN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://", 1)
    os.environ["DRAMTRADE_DATABASE_URL"] = f"{base}/{TEST_DB}"
    from dramtrade.config import get_settings
    from dramtrade.migrate import upgrade

    get_settings.cache_clear()
    upgrade(os.environ["DRAMTRADE_DATABASE_URL"])


def pytest_unconfigure(config: pytest.Config) -> None:
    from dramtrade.db import get_engine

    get_engine().dispose()
    _admin(f'DROP DATABASE IF EXISTS "{TEST_DB}" WITH (FORCE)')


@pytest.fixture(scope="session")
def engine() -> Engine:
    from dramtrade.db import get_engine

    return get_engine()


@pytest.fixture
def db_session(engine: Engine) -> Iterator[Session]:
    """A session whose commits become savepoints of a transaction rolled back at the end."""
    connection = engine.connect()
    outer = connection.begin()
    session = Session(
        bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False
    )
    try:
        yield session
    finally:
        session.close()
        outer.rollback()
        connection.close()


@dataclass
class Tenant:
    sub_account_id: uuid.UUID
    api_key: str
    phone_number: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.api_key}"}


_number_counter = iter(range(10_000))


def unique_business_number() -> str:
    """A valid US number not used by any other tenant of this test run."""
    return f"+1512{300 + os.getpid() % 600:03d}{next(_number_counter):04d}"


def make_tenant(session: Session, name: str = "Lone Star Comfort") -> Tenant:
    from dramtrade.provisioning import create_sub_account

    number = unique_business_number()
    account, key = create_sub_account(
        session,
        name=name,
        sending_domain=f"{uuid.uuid4().hex[:8]}.example.com",
        phone_number=number,
    )
    session.flush()
    return Tenant(sub_account_id=account.id, api_key=key, phone_number=number)


@pytest.fixture
def tenant(db_session: Session) -> Tenant:
    return make_tenant(db_session)


@pytest.fixture
def other_tenant(db_session: Session) -> Tenant:
    return make_tenant(db_session, name="Other Plumbing Co")


@pytest.fixture
def client(db_session: Session) -> Iterator[TestClient]:
    """The API in-process, its requests sharing the test's rolled-back transaction."""
    from api.deps import get_session
    from api.main import create_app

    app = create_app()

    def _session() -> Iterator[Session]:
        yield db_session
        db_session.commit()

    app.dependency_overrides[get_session] = _session
    with TestClient(app) as test_client:
        yield test_client
