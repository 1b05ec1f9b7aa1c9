// Small progressive enhancements; every page works without them.

// A form with data-confirm asks before it is sent (the Content-Security-Policy allows no
// onsubmit="…" in the page). Without this script the form is sent without asking.
document.addEventListener("submit", (event) => {
  const message = event.target instanceof HTMLFormElement && event.target.dataset.confirm;
  if (message && !window.confirm(message)) event.preventDefault();
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
