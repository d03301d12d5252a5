"""The staff web app, server-rendered under /app. See api/ui/README.md to add a page."""

from fastapi import APIRouter
from fastapi.responses import RedirectResponse

from api.ui import auth, customers, events, inbox, jobs
from api.ui import settings as settings_pages

router = APIRouter()
router.include_router(auth.router)
router.include_router(inbox.router)
router.include_router(events.router)
router.include_router(customers.router)
router.include_router(jobs.router)
router.include_router(settings_pages.router)


@router.get("")
@router.get("/")
def app_home() -> RedirectResponse:
    return RedirectResponse("/app/inbox", status_code=303)
