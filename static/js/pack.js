// A meeting pack's action items: a form answered with 400 carries its errors, marked by the
// HX-Reswap header; swap it in place like a success (htmx drops 4xx bodies by default). The
// page works without this file: the forms then post and the page comes back whole.
(() => {
  const inPlace = (event) => {
    const xhr = event.detail.xhr;
    return xhr.status >= 400 && xhr.status < 500 && xhr.getResponseHeader("HX-Reswap") !== null;
  };
  // In DEBUG, django-htmx's script (listening on document) shows any 400 as a whole error page.
  document.body.addEventListener("htmx:beforeOnLoad", (event) => {
    if (inPlace(event)) event.stopPropagation();
  });
  document.addEventListener("htmx:beforeSwap", (event) => {
    if (inPlace(event)) {
      event.detail.shouldSwap = true;
      event.detail.isError = false;
    }
  });
})();
