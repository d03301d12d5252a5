"""The staff web app, server-rendered under /app."""

from fastapi import APIRouter

router = APIRouter()
