"""Dependencies shared by every endpoint: a database session and the calling sub-account."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import select
from sqlalchemy.orm import Session
from temporalio.client import Client

from dramtrade.config import Settings, get_settings
from dramtrade.db import get_sessionmaker
from dramtrade.models import ApiKey, SubAccount, utcnow
from dramtrade.security import hash_api_key


def get_session() -> Iterator[Session]:
    """One unit of work per request: commit on success, roll back on error."""
    session = get_sessionmaker()()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


# scope="function": commit before the response goes out, so what we acknowledged is stored.
SessionDep = Annotated[Session, Depends(get_session, scope="function")]
SettingsDep = Annotated[Settings, Depends(get_settings)]

_bearer = HTTPBearer(auto_error=False, description="A sub-account API key: `Bearer dtk_...`")


@dataclass(frozen=True)
class Caller:
    sub_account_id: uuid.UUID
    api_key_id: uuid.UUID


def get_caller(
    session: SessionDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Caller:
    unauthorized = HTTPException(
        status.HTTP_401_UNAUTHORIZED,
        detail="missing or invalid API key",
        headers={"WWW-Authenticate": "Bearer"},
    )
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise unauthorized
    key = session.scalar(
        select(ApiKey).where(
            ApiKey.key_hash == hash_api_key(credentials.credentials), ApiKey.revoked_at.is_(None)
        )
    )
    if key is None:
        raise unauthorized
    key.last_used_at = utcnow()
    return Caller(sub_account_id=key.sub_account_id, api_key_id=key.id)


CallerDep = Annotated[Caller, Depends(get_caller)]


def get_sub_account(session: SessionDep, caller: CallerDep) -> SubAccount:
    account = session.get(SubAccount, caller.sub_account_id)
    if account is None:  # the key outlived its sub-account
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, detail="missing or invalid API key")
    return account


SubAccountDep = Annotated[SubAccount, Depends(get_sub_account)]


async def get_temporal(request: Request) -> Client:
    state = request.app.state
    if state.temporal is None:
        async with state.temporal_lock:
            if state.temporal is None:
                try:
                    state.temporal = await Client.connect(
                        state.settings.temporal_address,
                        namespace=state.settings.temporal_namespace,
                    )
                except RuntimeError as exc:
                    raise HTTPException(
                        status.HTTP_503_SERVICE_UNAVAILABLE,
                        detail="workflow engine unavailable, try again shortly",
                    ) from exc
    client: Client = state.temporal
    return client


TemporalDep = Annotated[Client, Depends(get_temporal)]
