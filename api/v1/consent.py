"""``GET /v1/customers/{id}/consent``: a customer's SMS opt-out and email suppression state,
per number and address, with the latest 20 events of the audit trail."""

from __future__ import annotations

import uuid
from datetime import datetime

from fastapi import HTTPException, status
from pydantic import BaseModel, Field

from api.deps import SessionDep, SubAccountDep
from api.v1.routing import v1_router
from dramtrade import consent, repositories

router = v1_router("customers")

HISTORY_LIMIT = 20


class PhoneConsentOut(BaseModel):
    number: str = Field(description="E.164")
    opted_out: bool
    changed_at: datetime | None = Field(description="when the number last opted out or in")


class EmailConsentOut(BaseModel):
    email: str
    suppressed: bool
    reason: str | None = Field(description="hard bounce, spamreport, unsubscribe, ...")
    since: datetime | None


class ConsentEventOut(BaseModel):
    at: datetime
    channel: str
    address: str
    action: str = Field(description="opt_out, opt_in, help or suppressed")
    detail: str | None = Field(description="the keyword texted, or the provider's reason")


class CustomerConsentOut(BaseModel):
    customer_id: uuid.UUID
    sms_opted_out: bool = Field(description="any of the customer's numbers opted out")
    sms_opted_out_at: datetime | None
    email_suppressed: bool = Field(description="any of the customer's addresses suppressed")
    email_suppressed_reason: str | None
    phones: list[PhoneConsentOut]
    emails: list[EmailConsentOut]
    history: list[ConsentEventOut] = Field(description=f"latest {HISTORY_LIMIT}, newest first")


@router.get("/customers/{customer_id}/consent", summary="A customer's opt-out state and history")
def get_consent(
    customer_id: uuid.UUID, session: SessionDep, account: SubAccountDep
) -> CustomerConsentOut:
    customer = repositories.get_customer(session, account.id, customer_id)
    if customer is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail="customer not found")
    phones: list[PhoneConsentOut] = []
    for phone in repositories.phones_by_customer(session, account.id, [customer.id]).get(
        customer.id, []
    ):
        row = consent.sms_consent(session, account.id, phone.e164)
        phones.append(
            PhoneConsentOut(
                number=phone.e164,
                opted_out=bool(row and row.opted_out),
                changed_at=row.changed_at if row else None,
            )
        )
    emails: list[EmailConsentOut] = []
    for item in repositories.emails_by_customer(session, account.id, [customer.id]).get(
        customer.id, []
    ):
        found = consent.email_suppression(session, account.id, item.email)
        emails.append(
            EmailConsentOut(
                email=item.email,
                suppressed=found is not None,
                reason=found.reason if found else None,
                since=found.created_at if found else None,
            )
        )
    events = consent.history(session, account.id, customer, HISTORY_LIMIT)
    opted_out = [p for p in phones if p.opted_out]
    suppressed = [e for e in emails if e.suppressed]
    return CustomerConsentOut(
        customer_id=customer.id,
        sms_opted_out=bool(opted_out) or customer.sms_opted_out,
        sms_opted_out_at=max((p.changed_at for p in opted_out if p.changed_at), default=None)
        or customer.sms_opted_out_at,
        email_suppressed=bool(suppressed) or customer.email_suppressed,
        email_suppressed_reason=suppressed[0].reason
        if suppressed
        else customer.email_suppressed_reason,
        phones=phones,
        emails=emails,
        history=[
            ConsentEventOut(
                at=e.created_at,
                channel=str(e.channel),
                address=e.address,
                action=e.action,
                detail=e.detail,
            )
            for e in events
        ],
    )
