// Small behaviours of the staff UI; htmx does the rest. Loaded on every page as a module.

// Flash messages can be dismissed.
document.addEventListener("click", (event) => {
  const button = event.target.closest("[data-dismiss]");
  if (button) button.parentElement.remove();
});

// Partials that reload on their own (SSE) keep keyboard focus where it was when possible.
document.addEventListener("htmx:afterSettle", (event) => {
  const focused = event.detail.elt.querySelector("[data-autofocus]");
  if (focused) focused.focus();
});
