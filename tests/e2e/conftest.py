"""End-to-end tests: the ``stack`` and ``live_tenant`` fixtures live in tests/support/stack.py
(shared with the browser tests through tests/conftest.py); re-exported here for the tests and
the bench that import them from this module."""

from tests.support.stack import Stack, WorkerThread, _sendgrid_keys, tomorrow_at

__all__ = ["Stack", "WorkerThread", "_sendgrid_keys", "tomorrow_at"]
