from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from dramtrade.models import Role, User
from tests.conftest import Tenant
from tests.ui.support import make_user, sign_in


@pytest.fixture
def office_user(db_session: Session, tenant: Tenant) -> User:
    return make_user(db_session, tenant.sub_account_id, Role.office, name="Olive Office")


@pytest.fixture
def owner_user(db_session: Session, tenant: Tenant) -> User:
    return make_user(db_session, tenant.sub_account_id, Role.owner, name="Oscar Owner")


@pytest.fixture
def technician_user(db_session: Session, tenant: Tenant) -> User:
    return make_user(db_session, tenant.sub_account_id, Role.technician, name="Tina Tech")


@pytest.fixture
def office_client(client: TestClient, office_user: User) -> TestClient:
    """The TestClient signed in as an office user; ``client.csrf`` holds the CSRF token."""
    client.csrf = sign_in(client, office_user.email)  # type: ignore[attr-defined]
    return client
