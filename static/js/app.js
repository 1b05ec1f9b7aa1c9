// Small progressive enhancements; every page works without them.
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
