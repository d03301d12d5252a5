"""End-to-end tests: the ``stack`` and ``live_tenant`` fixtures live in tests/support/stack.py
(shared with the browser tests through tests/conftest.py); re-exported here for the tests that
import them from this module."""

from tests.support.stack import Stack, WorkerThread, tomorrow_at

__all__ = ["Stack", "WorkerThread", "tomorrow_at"]
