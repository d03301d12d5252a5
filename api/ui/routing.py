"""``ui_router()``: every staff UI router is made here, so every route gets the session/CSRF
dependency and errors rendered as pages instead of JSON.

``UIRoute`` turns ``UIError`` (403/404/429...), the domain errors (404/409/422) and
``LoginRequired`` (303 to the sign-in page, or ``HX-Redirect`` for htmx) into responses. It
catches them *outside* the request's session dependency, so that session has already rolled
back: nothing half-written is committed.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import RedirectResponse
from fastapi.routing import APIRoute

from api.ui.deps import load_ui_request
from api.ui.errors import LoginRequired, UIError
from dramtrade.errors import Conflict, DomainError, InvalidInput, NotFound


def error_page(request: Request, status_code: int, title: str, message: str) -> Response:
    from api.ui.templating import render

    if request.headers.get("HX-Request"):
        # A partial: show the message in the page's flash area instead of replacing content.
        return render(
            request,
            "partials/flash_oob.html",
            status_code=status_code,
            flashes=[("error", message)],
            headers={"HX-Reswap": "none"},
        )
    return render(
        request,
        "error.html",
        {"title": title, "message": message, "status_code": status_code},
        status_code=status_code,
    )


def _domain_status(exc: DomainError) -> tuple[int, str]:
    if isinstance(exc, NotFound):
        return 404, "Not found"
    if isinstance(exc, Conflict):
        return 409, "Conflict"
    if isinstance(exc, InvalidInput):
        return 422, "Check the form"
    return 400, "Something went wrong"


class UIRoute(APIRoute):
    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def route_handler(request: Request) -> Response:
            response = await self._handle(handler, request)
            ui = getattr(request.state, "ui", None)
            for cookie in ui.pending_cookies if ui is not None else ():
                response.set_cookie(**cookie)
            return response

        return route_handler

    @staticmethod
    async def _handle(
        handler: Callable[[Request], Coroutine[Any, Any, Response]], request: Request
    ) -> Response:
        try:
            return await handler(request)
        except LoginRequired as exc:
            if request.headers.get("HX-Request"):
                return Response(status_code=401, headers={"HX-Redirect": exc.location})
            return RedirectResponse(exc.location, status_code=303)
        except UIError as exc:
            return error_page(request, exc.status_code, exc.title, exc.message)
        except DomainError as exc:
            code, title = _domain_status(exc)
            message = exc.detail if isinstance(exc, InvalidInput) else exc.message
            return error_page(request, code, title, message)
        except RequestValidationError as exc:
            fields = ", ".join(
                str(e.get("loc", ["?"])[-1]) for e in exc.errors() if isinstance(e, dict)
            )
            return error_page(request, 422, "Check the form", f"Invalid value: {fields}")
        except HTTPException as exc:
            if exc.status_code >= 500:
                raise
            return error_page(request, exc.status_code, "Error", str(exc.detail))


def ui_router() -> APIRouter:
    """A router for staff UI pages: include it in ``api.ui.router``."""
    return APIRouter(route_class=UIRoute, dependencies=[Depends(load_ui_request)])
