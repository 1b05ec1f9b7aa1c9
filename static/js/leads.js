// Lead list: select every lead on the page, say how many are selected, and show new owners
// once a bulk change finishes. The page works without this file.
const leadBoxes = () => Array.from(document.querySelectorAll('input[name="lead"][form="bulk"]'));

function leadSelectionUpdate() {
  const all = document.getElementById("select-all");
  const count = document.getElementById("bulk-count");
  const boxes = leadBoxes();
  const chosen = boxes.filter((box) => box.checked).length;
  if (count) {
    count.textContent = chosen ? `${chosen} selected.` : "Select leads to act on them.";
  }
  if (all) {
    all.hidden = false;
    all.checked = chosen > 0 && chosen === boxes.length;
    all.indeterminate = chosen > 0 && chosen < boxes.length;
  }
}

document.addEventListener("change", (event) => {
  const target = event.target;
  if (target.id === "select-all") {
    leadBoxes().forEach((box) => { box.checked = target.checked; });
  }
  if (target.id === "select-all" || (target.name === "lead" && target.getAttribute("form") === "bulk")) {
    leadSelectionUpdate();
  }
});
document.addEventListener("DOMContentLoaded", leadSelectionUpdate);

// A finished bulk job (its bar stops polling): fetch the list again and swap the table in place.
document.addEventListener("htmx:afterSettle", () => {
  const finished = document.querySelector("#bulk-status .job:not([hx-trigger]):not([data-shown])");
  if (!finished || !document.getElementById("lead-results")) {
    return;
  }
  finished.dataset.shown = "true";
  htmx.ajax("GET", window.location.href, { target: "#lead-results", select: "#lead-results", swap: "outerHTML" })
    .then(leadSelectionUpdate);
});

// Our pages answer bad input with 400 and a message; show it in place instead of dropping it.
document.addEventListener("htmx:beforeSwap", (event) => {
  if (event.detail.xhr.status === 400) {
    event.detail.shouldSwap = true;
    event.detail.isError = false;
  }
});
