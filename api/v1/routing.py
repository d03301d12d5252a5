"""The HTTP face of the domain errors, shared by the v1 routers.

``DomainErrorRoute`` turns ``NotFound`` into 404, ``Conflict`` into 409 and ``InvalidInput``
into a 422 in FastAPI's own validation shape (``loc`` names the field). It re-raises them as
HTTP exceptions rather than answering itself, so the request's session dependency still sees
an error and rolls back: nothing half-written is committed.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Request, Response, status
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from sqlalchemy.exc import DataError, IntegrityError

from dramtrade.errors import Conflict, DomainError, InvalidInput, NotFound


def to_http(exc: DomainError) -> Exception:
    if isinstance(exc, NotFound):
        return HTTPException(status.HTTP_404_NOT_FOUND, detail=exc.message)
    if isinstance(exc, Conflict):
        return HTTPException(status.HTTP_409_CONFLICT, detail=exc.message)
    if isinstance(exc, InvalidInput):
        return RequestValidationError(
            [{"type": "value_error", "loc": exc.loc, "msg": exc.message, "input": None}]
        )
    return HTTPException(status.HTTP_400_BAD_REQUEST, detail=exc.message)


class DomainErrorRoute(APIRoute):
    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def route_handler(request: Request) -> Response:
            try:
                return await handler(request)
            except DomainError as exc:
                raise to_http(exc) from exc
            except IntegrityError as exc:  # a race the services' checks could not see
                raise HTTPException(
                    status.HTTP_409_CONFLICT, detail="conflicts with an existing record"
                ) from exc
            except DataError as exc:  # a value the database refuses that validation let by
                raise HTTPException(422, detail="a value cannot be stored") from exc

        return route_handler


def reject_nul_in_query(request: Request) -> None:
    """PostgreSQL text cannot hold NUL: a query parameter carrying one is a 422 naming it."""
    for name, value in request.query_params.multi_items():
        if "\x00" in value:
            raise RequestValidationError(
                [
                    {
                        "type": "value_error",
                        "loc": ("query", name),
                        "msg": "must not contain NUL characters",
                        "input": None,
                    }
                ]
            )


def v1_router(tag: str) -> APIRouter:
    return APIRouter(
        tags=[tag],
        route_class=DomainErrorRoute,
        dependencies=[Depends(reject_nul_in_query)],
        responses={
            401: {"description": "Missing or invalid API key"},
            404: {"description": "Unknown id, or an id of another sub-account"},
        },
    )
