"""SendGrid v3: mail send, and the signed-webhook public key, as sendgrid-python uses them."""

from __future__ import annotations

import hmac
import json
import re
from typing import Any

from fastapi import APIRouter, Depends, Request, Response

from sandbox_carrier.api_common import (
    ErrorItem,
    SendGridApiError,
    apply_api_faults,
    apply_lost_response,
    apply_send_faults,
    carrier_of,
)
from sandbox_carrier.store import EmailRecord, new_sendgrid_message_id
from sandbox_carrier.world import Carrier

EMAIL = re.compile(r"^[^@\s<>]+@[^@\s<>]+\.[^@\s<>]+$")
MAX_RECIPIENTS = 1000


async def sendgrid_auth(request: Request) -> Carrier:
    carrier = carrier_of(request)
    scheme, _, key = request.headers.get("authorization", "").partition(" ")
    expected = carrier.config.sendgrid_api_key
    if scheme.lower() != "bearer" or not hmac.compare_digest(key.encode(), expected.encode()):
        raise SendGridApiError(
            401, "The provided authorization grant is invalid, expired, or revoked"
        )
    await apply_api_faults(carrier, "sendgrid")
    return carrier


def _is_str(value: object) -> bool:
    return isinstance(value, str) and value != ""


def validate_mail(body: Any) -> list[ErrorItem]:
    """The checks SendGrid makes on a v3 mail send body; every error at once, like SendGrid."""
    if not isinstance(body, dict):
        return [("Bad Request", None)]
    errors: list[ErrorItem] = []
    has_template = _is_str(body.get("template_id"))
    personalizations = body.get("personalizations")
    if not isinstance(personalizations, list) or not personalizations:
        errors.append(
            (
                "The personalizations field is required and must have at least one "
                "personalization.",
                "personalizations",
            )
        )
        personalizations = []
    elif len(personalizations) > MAX_RECIPIENTS:
        errors.append(
            ("The personalizations field may not contain more than 1000 items.", "personalizations")
        )
    total = 0
    for i, item in enumerate(personalizations):
        item = item if isinstance(item, dict) else {}
        to = item.get("to")
        if not isinstance(to, list) or not to:
            errors.append(
                (
                    "The to array is required for all personalization objects, and must have at "
                    "least one email object with a valid email address.",
                    f"personalizations.{i}.to",
                )
            )
        for kind in ("to", "cc", "bcc"):
            addresses = item.get(kind) or []
            if not isinstance(addresses, list):
                errors.append(
                    (f"The {kind} field must be an array.", f"personalizations.{i}.{kind}")
                )
                continue
            for j, address in enumerate(addresses):
                total += 1
                email = address.get("email") if isinstance(address, dict) else None
                if not isinstance(email, str) or not EMAIL.match(email):
                    errors.append(
                        (
                            "Does not contain a valid address.",
                            f"personalizations.{i}.{kind}.{j}.email",
                        )
                    )
    if total > MAX_RECIPIENTS:
        errors.append(
            (
                "The total number of recipients (to, cc, bcc) must be 1000 or less.",
                "personalizations",
            )
        )
    sender = body.get("from")
    sender_email = sender.get("email") if isinstance(sender, dict) else None
    if not isinstance(sender_email, str) or not sender_email:
        errors.append(
            (
                "The from object must be provided for every email send. It is an object that "
                "requires the email parameter, but may also contain a name parameter.",
                "from.email",
            )
        )
    elif not EMAIL.match(sender_email):
        errors.append(("The from email does not contain a valid address.", "from.email"))
    every_has_subject = bool(personalizations) and all(
        isinstance(p, dict) and _is_str(p.get("subject")) for p in personalizations
    )
    if not has_template and not _is_str(body.get("subject")) and not every_has_subject:
        errors.append(
            (
                "The subject is required. You can get around this requirement if you use a "
                "template with a subject defined or if every personalization has a subject "
                "defined.",
                "subject",
            )
        )
    content = body.get("content")
    if content is None or content == []:
        if not has_template:
            errors.append(
                (
                    "Unless a valid template_id is provided, the content parameter is required. "
                    "There must be at least one defined content block.",
                    "content",
                )
            )
    elif not isinstance(content, list):
        errors.append(("The content field must be an array.", "content"))
    else:
        for k, block in enumerate(content):
            block = block if isinstance(block, dict) else {}
            if not _is_str(block.get("type")):
                errors.append(("The content type must be provided.", f"content.{k}.type"))
            if not _is_str(block.get("value")):
                errors.append(
                    (
                        "The content value must be a string at least one character in length.",
                        f"content.{k}.value",
                    )
                )
    custom_args = body.get("custom_args")
    if custom_args is not None and not isinstance(custom_args, dict):
        errors.append(("Custom args must be an object of strings.", "custom_args"))
    return errors


def _str_map(value: Any) -> dict[str, str]:
    if not isinstance(value, dict):
        return {}
    return {str(k): v if isinstance(v, str) else json.dumps(v) for k, v in value.items()}


def build_records(body: dict[str, Any], message_id: str, seq: int) -> list[EmailRecord]:
    """One record per recipient (to, cc and bcc of every personalization)."""
    text = html = None
    for block in body.get("content") or []:
        if block.get("type") == "text/plain" and text is None:
            text = block.get("value")
        elif block.get("type") == "text/html" and html is None:
            html = block.get("value")
    categories = [str(c) for c in body.get("categories") or []]
    records: list[EmailRecord] = []
    for item in body["personalizations"]:
        subject = item.get("subject") or body.get("subject") or ""
        headers = {**_str_map(body.get("headers")), **_str_map(item.get("headers"))}
        custom_args = {**_str_map(body.get("custom_args")), **_str_map(item.get("custom_args"))}
        sender = item.get("from") or body["from"]
        for kind in ("to", "cc", "bcc"):
            for address in item.get(kind) or []:
                records.append(
                    EmailRecord(
                        message_id=message_id,
                        to=address["email"],
                        from_=sender["email"],
                        subject=subject,
                        text=text,
                        html=html,
                        seq=seq,
                        headers=headers,
                        custom_args=custom_args,
                        categories=categories,
                    )
                )
    return records


router = APIRouter(prefix="/v3", tags=["sendgrid"])


@router.post("/mail/send")
async def mail_send(request: Request, carrier: Carrier = Depends(sendgrid_auth)) -> Response:
    apply_send_faults(carrier, "sendgrid")
    try:
        body = json.loads(await request.body())
    except (ValueError, UnicodeDecodeError) as exc:
        raise SendGridApiError(400, "Bad Request") from exc
    errors = validate_mail(body)
    if errors:
        raise SendGridApiError(400, errors=errors)
    sandbox = ((body.get("mail_settings") or {}).get("sandbox_mode") or {}).get("enable")
    if sandbox is True:
        # SendGrid's own sandbox mode: validated, answered 200, never sent.
        return Response(status_code=200)
    message_id = new_sendgrid_message_id()
    records = build_records(body, message_id, carrier.store.next_seq())
    carrier.store.add_emails(records)
    bounce = {a.lower() for a in carrier.store.current_faults().bounce}
    carrier.spawn(carrier.run_email_events(records, bounce))
    apply_lost_response(carrier, "sendgrid")
    return Response(status_code=202, headers={"X-Message-Id": message_id})


@router.get("/user/webhooks/event/settings/signed")
async def signed_settings(carrier: Carrier = Depends(sendgrid_auth)) -> dict[str, str]:
    return {"public_key": carrier.signer.public_key_b64}


@router.get("/user/webhooks/event/settings/signed/{webhook_id}")
async def signed_settings_by_id(
    webhook_id: str, carrier: Carrier = Depends(sendgrid_auth)
) -> dict[str, str]:
    return {"id": webhook_id, "public_key": carrier.signer.public_key_b64}
