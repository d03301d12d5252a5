"""Which notification each job milestone sends. Pure data: workflows import it."""

from __future__ import annotations

JOB_EVENT_TYPES = (
    "job_booked",
    "technician_en_route",
    "technician_on_site",
    "job_complete",
    "invoice_sent",
    "payment_received",
    "job_rescheduled",
    "job_cancelled",
)

# DESIGN.md's defaults. A milestone without a template for a channel sends nothing there.
DEFAULT_CHANNELS: dict[str, tuple[str, ...]] = {
    "job_booked": ("sms", "email"),
    "technician_en_route": ("sms",),
    "technician_on_site": ("sms",),
    "job_complete": ("sms", "email"),
    "invoice_sent": ("email", "sms"),
    "payment_received": ("email",),
    "job_rescheduled": ("sms", "email"),
    "job_cancelled": ("sms", "email"),
}
