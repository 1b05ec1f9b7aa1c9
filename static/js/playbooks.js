// The playbook builder: show only the fields of the chosen trigger. Without this script every
// field shows and the server uses the chosen trigger's own.
(function () {
  const select = document.getElementById("trigger_type");
  if (!select) return;
  const fields = document.querySelectorAll("[data-trigger]");
  function show() {
    fields.forEach((field) => { field.hidden = field.dataset.trigger !== select.value; });
  }
  select.addEventListener("change", show);
  show();
})();
