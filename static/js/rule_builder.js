// Scoring and definition forms (personas, rules, the rule-tree builder) post back to
// themselves through htmx. A 400 answer carries the form with its errors marked, so swap it
// in like a success instead of dropping it (htmx skips 4xx bodies by default).
function answersWithErrors(event) {
  const target = event.detail.target || event.detail.elt;
  return event.detail.xhr.status === 400 && target instanceof Element && target.closest("[data-swap-errors]") !== null;
}

// In DEBUG, django-htmx's script (listening on document) shows any 400 as a whole error page;
// our 400s are forms to show in place, so stop the event before it gets there.
document.body.addEventListener("htmx:beforeOnLoad", (event) => {
  if (answersWithErrors(event)) {
    event.stopPropagation();
  }
});

document.addEventListener("htmx:beforeSwap", (event) => {
  if (answersWithErrors(event)) {
    event.detail.shouldSwap = true;
    event.detail.isError = false;
  }
});
