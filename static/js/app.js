// Small progressive enhancements; every page works without them.

// A form with data-confirm asks before it is sent (the Content-Security-Policy allows no
// onsubmit="…" in the page). Without this script the form is sent without asking.
document.addEventListener("submit", (event) => {
  const message = event.target instanceof HTMLFormElement && event.target.dataset.confirm;
  if (message && !window.confirm(message)) event.preventDefault();
});
// htmx drops a 4xx answer's body; ours are forms with their errors, marked by the HX-Reswap
// header, to swap in place like a success (a campaign's cost form, a pack's action items, a
// team's settings). Without this script those forms post and the page comes back whole.
const swappedInPlace = (event) => {
  const xhr = event.detail.xhr;
  return xhr.status >= 400 && xhr.status < 500 && xhr.getResponseHeader("HX-Reswap") !== null;
};
// In DEBUG, django-htmx's script (listening on document) shows any 400 as a whole error page.
document.addEventListener("DOMContentLoaded", () => {
  document.body.addEventListener("htmx:beforeOnLoad", (event) => {
    if (swappedInPlace(event)) event.stopPropagation();
  });
});
document.addEventListener("htmx:beforeSwap", (event) => {
  if (swappedInPlace(event)) {
    event.detail.shouldSwap = true;
    event.detail.isError = false;
  }
});

document.addEventListener("DOMContentLoaded", () => {
  // "/" focuses the top search, as in most CRMs.
  document.addEventListener("keydown", (event) => {
    const target = event.target;
    const typing = target instanceof HTMLInputElement || target instanceof HTMLTextAreaElement || target instanceof HTMLSelectElement;
    if (event.key === "/" && !typing) {
      const search = document.getElementById("top-search");
      if (search) { event.preventDefault(); search.focus(); }
    }
  });
});
