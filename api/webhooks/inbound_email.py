"""SendGrid Inbound Parse: ``POST /webhooks/email/inbound/{secret}``.

Inbound Parse is unsigned, so the URL carries a secret (``DRAMTRADE_INBOUND_EMAIL_SECRET``);
any other path answers 404, as if there were no endpoint. The multipart body is parsed here,
keeping each text field's bytes so it can be decoded in the charset SendGrid names in its
``charsets`` field (starlette would decode every field as UTF-8). The email is stored before
the 200 goes back; a duplicate post answers 200 and stores nothing.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request, status
from python_multipart.exceptions import FormParserError
from python_multipart.multipart import Field, File, FormParser, parse_options_header

from api.deps import SessionDep, SettingsDep
from dramtrade.inbound_email import InboundAttachment, decode_fields, receive_email

router = APIRouter()

# SendGrid's own limit is 30 MB per message; the parsed post adds a little around it.
MAX_INBOUND_EMAIL_BYTES = 32 * 1024 * 1024


def check_secret(secret: str, settings: SettingsDep) -> None:
    expected = settings.inbound_email_secret
    if expected is None or not hmac.compare_digest(
        secret.encode("utf-8"), expected.get_secret_value().encode("utf-8")
    ):
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail="Not Found")


@dataclass
class InboundPost:
    fields: dict[str, str]
    attachments: list[InboundAttachment]


def _text(value: bytes | None) -> str:
    return (value or b"").decode("utf-8", errors="replace")


async def parse_post(request: Request, _: Annotated[None, Depends(check_secret)]) -> InboundPost:
    content_type, params = parse_options_header(request.headers.get("content-type", ""))
    if content_type not in (b"multipart/form-data", b"application/x-www-form-urlencoded"):
        raise HTTPException(
            status.HTTP_415_UNSUPPORTED_MEDIA_TYPE, detail="body must be multipart/form-data"
        )
    raw_fields: dict[str, bytes] = {}
    files: list[File] = []

    def on_field(field: Field) -> None:
        if field.field_name is not None:
            raw_fields[_text(field.field_name)] = field.value or b""

    def on_file(file: File) -> None:
        files.append(file)

    try:
        parser = FormParser(
            content_type.decode("latin-1"),
            on_field,
            on_file,
            boundary=params.get(b"boundary"),
            # Files stay in memory: the body as a whole is capped below.
            config={"MAX_MEMORY_FILE_SIZE": MAX_INBOUND_EMAIL_BYTES + 1},
        )
        received = 0
        async for chunk in request.stream():
            received += len(chunk)
            if received > MAX_INBOUND_EMAIL_BYTES:
                raise HTTPException(
                    status.HTTP_413_CONTENT_TOO_LARGE,
                    detail=f"request body larger than {MAX_INBOUND_EMAIL_BYTES} bytes",
                )
            parser.write(chunk)
        parser.finalize()
    except (FormParserError, ValueError) as exc:
        raise HTTPException(
            status.HTTP_400_BAD_REQUEST, detail="body is not a valid multipart form"
        ) from exc
    attachments = []
    for file in files:
        file.file_object.seek(0)
        content = file.file_object.read()
        file.close()
        attachments.append(
            InboundAttachment(
                field_name=_text(file.field_name),
                filename=_text(file.file_name),
                content_type=getattr(file, "content_type", None) or "",
                content=content,
            )
        )
    return InboundPost(fields=decode_fields(raw_fields), attachments=attachments)


InboundPostDep = Annotated[InboundPost, Depends(parse_post)]


@router.post("/inbound/{secret}")
def inbound_email(
    post: InboundPostDep, session: SessionDep, settings: SettingsDep
) -> dict[str, bool]:
    """Store one inbound email; always 200 once authenticated and parsed (SendGrid retries 5xx)."""
    message = receive_email(
        session, post.fields, post.attachments, max_attachment_bytes=settings.max_attachment_bytes
    )
    return {"stored": message is not None}
