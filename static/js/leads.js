// Lead list: select every lead on the page, and say how many are selected.
// The page works without this file; it only adds the select-all box and the count.
document.addEventListener("DOMContentLoaded", () => {
  const all = document.getElementById("select-all");
  const count = document.getElementById("bulk-count");
  const boxes = () => Array.from(document.querySelectorAll('input[name="lead"][form="bulk"]'));

  const update = () => {
    const chosen = boxes().filter((box) => box.checked).length;
    if (count) {
      count.textContent = chosen ? `${chosen} selected.` : "Select leads to act on them.";
    }
    if (all) {
      all.checked = chosen > 0 && chosen === boxes().length;
      all.indeterminate = chosen > 0 && chosen < boxes().length;
    }
  };

  if (all) {
    all.hidden = false;
    all.addEventListener("change", () => {
      boxes().forEach((box) => { box.checked = all.checked; });
      update();
    });
  }
  boxes().forEach((box) => box.addEventListener("change", update));
});

// Our pages answer bad input with 400 and a message; show it in place instead of dropping it.
document.addEventListener("htmx:beforeSwap", (event) => {
  if (event.detail.xhr.status === 400) {
    event.detail.shouldSwap = true;
    event.detail.isError = false;
  }
});
