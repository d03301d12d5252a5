// Inbox page behaviour: composer channel switch, opt-out confirmation, resetting after a send,
// and announcing new messages to screen readers when the thread refreshes by itself.

const composer = document.getElementById("composer");

function channel() {
  const checked = composer?.querySelector('input[name="channel"]:checked');
  return checked ? checked.value : "sms";
}

function applyChannel() {
  if (!composer) return;
  const current = channel();
  for (const el of composer.querySelectorAll(".sms-only")) el.hidden = current !== "sms";
  for (const el of composer.querySelectorAll(".email-only")) el.hidden = current !== "email";
  const subject = composer.querySelector('input[name="subject"]');
  if (subject) subject.required = current === "email";
  // The explicit confirmation is required only for the warning that applies to this channel.
  for (const box of composer.querySelectorAll("[data-optout-confirm]")) {
    const visible = !box.closest("[hidden]");
    box.required = visible;
    box.disabled = !visible;
  }
}

if (composer) {
  composer.addEventListener("change", (event) => {
    if (event.target.name === "channel") applyChannel();
  });
  applyChannel();
  // The server answers a stored reply with HX-Trigger: replySent; errors keep the text.
  document.body.addEventListener("replySent", () => {
    const body = composer.querySelector("textarea[name=body]");
    const subject = composer.querySelector('input[name="subject"]');
    body.value = "";
    if (subject) subject.value = "";
    body.dispatchEvent(new Event("input"));
    for (const box of composer.querySelectorAll("[data-optout-confirm]")) box.checked = false;
    composer.querySelector('input[name="idempotency_key"]').value = crypto.randomUUID();
  });
}

// Tell screen readers about new messages when the thread re-renders (SSE).
const announcer = document.getElementById("live-announcer");
let known = Number(document.querySelector(".timeline")?.dataset.count ?? 0);
document.addEventListener("htmx:afterSettle", (event) => {
  if (event.detail.elt?.id !== "thread-live" || !announcer) return;
  const count = Number(document.querySelector(".timeline")?.dataset.count ?? 0);
  if (count > known) {
    const added = count - known;
    announcer.textContent = `${added} new message${added === 1 ? "" : "s"}`;
  }
  known = count;
});
