"""The unified inbox: conversation list, thread, reply and conversation actions."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.responses import Response

from api.ui.deps import Permission, require
from api.ui.routing import ui_router
from api.ui.templating import render
from dramtrade.models import User

router = ui_router()


@router.get("/inbox")
def inbox(
    request: Request, user: Annotated[User, Depends(require(Permission.view_inbox))]
) -> Response:
    return render(request, "inbox/index.html", {"active_nav": "inbox"})
