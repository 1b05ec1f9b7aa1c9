// Scoring and definition forms (personas, rules, the rule-tree builder) post back to
// themselves through htmx. A 400 answer carries the form with its errors marked, so swap it
// in like a success instead of dropping it (htmx skips 4xx bodies by default).
document.addEventListener("htmx:beforeSwap", (event) => {
  const status = event.detail.xhr.status;
  const target = event.detail.target;
  if (status === 400 && target instanceof Element && target.closest("[data-swap-errors]")) {
    event.detail.shouldSwap = true;
    event.detail.isError = false;
  }
});
