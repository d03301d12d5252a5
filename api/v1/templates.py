"""``/v1/templates``: message templates with ``{{variables}}``, their reference and previews.

A template is checked when it is saved, never guessed at when it is sent: an empty body, stray
braces or an unknown variable is a 422 naming the field (``body``, ``subject`` or ``html``).
Rendering only substitutes known variables and never evaluates anything; in email HTML the
values are HTML-escaped.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import Query, Response, status

from api.deps import SessionDep, SubAccountDep
from api.v1.routing import v1_router
from dramtrade import repositories
from dramtrade import template_repository as repo
from dramtrade.schemas import Page
from dramtrade.services import templates as service
from dramtrade.template_schemas import (
    PreviewContext,
    PreviewOut,
    TemplateChannel,
    TemplateCreate,
    TemplateDraftPreview,
    TemplateOut,
    TemplateUpdate,
    VariableOut,
)

router = v1_router("templates")

Limit = Annotated[int, Query(ge=1, le=repositories.MAX_LIMIT, description="Page size")]
Cursor = Annotated[
    str | None, Query(max_length=200, description="`next_cursor` of the previous page")
]
_SAVE_ERRORS: dict[int | str, dict[str, Any]] = {
    409: {"description": "A template of this name and channel already exists"},
    422: {"description": "A field is invalid; `loc` names it (`body`, `subject`, `html`, ...)"},
}


# Declared before /templates/{template_id} so that "variables" is never parsed as an id.
@router.get("/templates/variables", summary="The variable reference")
def list_variables() -> list[VariableOut]:
    """Every `{{variable}}` a template may use, with what it holds and an example value."""
    return service.variable_reference()


@router.post("/templates/preview", summary="Preview an unsaved template")
def preview_draft(
    body: TemplateDraftPreview, session: SessionDep, account: SubAccountDep
) -> PreviewOut:
    """Checks the draft as a save would (422 naming the field), then renders it with the
    reference's example values, or with a `customer_id`'s / `job_id`'s real values (an unknown or
    foreign id is a 422 on that field)."""
    return service.preview_draft(session, account, body)


@router.post(
    "/templates",
    status_code=status.HTTP_201_CREATED,
    summary="Create a template",
    responses=_SAVE_ERRORS,
)
def create_template(
    body: TemplateCreate, session: SessionDep, account: SubAccountDep
) -> TemplateOut:
    """`subject` is required for `email` and `both` and refused for `sms`; `html` is optional
    for `email` and `both` and refused for `sms`. A `both` template serves either channel."""
    return service.present(service.create_template(session, account, body))


@router.get("/templates", summary="List templates")
def list_templates(
    session: SessionDep,
    account: SubAccountDep,
    channel: Annotated[
        TemplateChannel | None,
        Query(description="`sms`/`email`: templates usable on it (including `both`)"),
    ] = None,
    category: Annotated[str | None, Query(max_length=50)] = None,
    trigger: Annotated[str | None, Query(max_length=40)] = None,
    limit: Limit = repositories.DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> Page[TemplateOut]:
    rows, next_cursor = repo.list_templates(
        session,
        account.id,
        channel=channel.value if channel is not None else None,
        category=category,
        trigger=trigger,
        limit=limit,
        cursor=cursor,
    )
    return Page[TemplateOut](items=[service.present(t) for t in rows], next_cursor=next_cursor)


@router.get("/templates/{template_id}", summary="Get a template")
def get_template(
    template_id: uuid.UUID, session: SessionDep, account: SubAccountDep
) -> TemplateOut:
    return service.present(service.get_template(session, account.id, template_id))


@router.patch("/templates/{template_id}", summary="Update a template", responses=_SAVE_ERRORS)
def update_template(
    template_id: uuid.UUID, body: TemplateUpdate, session: SessionDep, account: SubAccountDep
) -> TemplateOut:
    """Only the fields sent change; `null` clears `subject`, `html`, `category` or `trigger`.
    The resulting template is checked as a whole: moving an email template to `sms` needs
    `"subject": null` (and `"html": null`) in the same request."""
    return service.present(service.update_template(session, account, template_id, body))


@router.delete(
    "/templates/{template_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Delete a template",
)
def delete_template(
    template_id: uuid.UUID, session: SessionDep, account: SubAccountDep
) -> Response:
    """Messages already sent from it are kept; they no longer point at a template."""
    service.delete_template(session, account.id, template_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/templates/{template_id}/preview", summary="Preview a template")
def preview_template(
    template_id: uuid.UUID,
    session: SessionDep,
    account: SubAccountDep,
    body: PreviewContext | None = None,
) -> PreviewOut:
    """Renders with the reference's example values, or with a `customer_id`'s / `job_id`'s
    real values, formatted in the customer's timezone (an unknown or foreign id in the body is
    a 422 on that field; an unknown or foreign template is a 404)."""
    return service.preview_template(session, account, template_id, body or PreviewContext())
