"""A message is a row before it is a provider call; retries reuse the row."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from dramtrade import consent, outbound
from dramtrade.models import (
    Channel,
    Customer,
    CustomerEmail,
    CustomerPhone,
    Job,
    Message,
    Template,
    User,
)
from tests.conftest import Tenant


def booked_job(session: Session, tenant: Tenant, *, opted_out: bool = False) -> Job:
    tech = User(
        sub_account_id=tenant.sub_account_id,
        email=f"tech-{tenant.sub_account_id}@example.com",
        name="Marco Ruiz",
        role="technician",
        phone="+15125550142",
    )
    customer = Customer(
        sub_account_id=tenant.sub_account_id,
        first_name="Dana",
        last_name="Whitfield",
        timezone="America/Chicago",
        sms_opted_out=opted_out,
    )
    session.add_all([tech, customer])
    session.flush()
    session.add_all(
        [
            CustomerPhone(
                sub_account_id=tenant.sub_account_id, customer_id=customer.id, e164="+15125550134"
            ),
            CustomerEmail(
                sub_account_id=tenant.sub_account_id,
                customer_id=customer.id,
                email="dana@example.com",
            ),
        ]
    )
    job = Job(
        sub_account_id=tenant.sub_account_id,
        customer_id=customer.id,
        job_type="AC tune-up",
        technician_id=tech.id,
        # 14:00 UTC on a winter day is 8:00 AM in Chicago.
        scheduled_start=datetime(2027, 1, 12, 14, 0, tzinfo=UTC),
        scheduled_end=datetime(2027, 1, 12, 16, 30, tzinfo=UTC),
    )
    session.add(job)
    session.flush()
    return job


def test_job_booked_sms_renders_the_sub_accounts_template_in_local_time(
    db_session: Session, tenant: Tenant
) -> None:
    job = booked_job(db_session, tenant)
    message_id = outbound.prepare_job_notification(db_session, job.id, "job_booked", Channel.sms)
    message = db_session.get_one(Message, message_id)
    assert message.body == (
        "Hi Dana, your AC tune-up with Lone Star Comfort is booked for Tuesday, January 12, "
        "8:00 AM - 10:30 AM. Reply here with any questions."
    )
    assert (message.to_addr, message.from_addr) == ("+15125550134", tenant.phone_number)
    assert message.status == "pending"
    assert (message.encoding, message.segments) == ("GSM-7", 1)


def test_preparing_twice_reuses_the_row(db_session: Session, tenant: Tenant) -> None:
    job = booked_job(db_session, tenant)
    first = outbound.prepare_job_notification(db_session, job.id, "job_booked", Channel.email)
    second = outbound.prepare_job_notification(db_session, job.id, "job_booked", Channel.email)
    assert first == second
    count = db_session.scalar(
        select(func.count()).select_from(Message).where(Message.job_id == job.id)
    )
    assert count == 1


def test_a_sent_row_is_never_claimed_again(db_session: Session, tenant: Tenant) -> None:
    job = booked_job(db_session, tenant)
    message_id = outbound.prepare_job_notification(db_session, job.id, "job_booked", Channel.sms)
    assert message_id is not None
    assert outbound.claim(db_session, message_id) is not None
    outbound.record_accepted(db_session, message_id, "SM123", "queued", 1)
    assert outbound.claim(db_session, message_id) is None


def test_opt_out_is_checked_at_send_time(db_session: Session, tenant: Tenant) -> None:
    job = booked_job(db_session, tenant)
    message_id = outbound.prepare_job_notification(db_session, job.id, "job_booked", Channel.sms)
    assert message_id is not None
    consent.opt_out_sms(db_session, tenant.sub_account_id, "+15125550134")  # STOP came later
    assert outbound.claim(db_session, message_id) is None
    message = db_session.get_one(Message, message_id)
    assert message.status == "suppressed"
    assert message.error_message == "recipient opted out of SMS"


def test_no_template_means_nothing_to_send(db_session: Session, tenant: Tenant) -> None:
    job = booked_job(db_session, tenant)
    db_session.execute(
        delete(Template).where(
            Template.sub_account_id == tenant.sub_account_id, Template.trigger == "payment_received"
        )
    )
    assert (
        outbound.prepare_job_notification(db_session, job.id, "payment_received", Channel.sms)
        is None
    )
