// The admin's periodic task form (django-celery-beat): beside the crontab's help, the chosen
// schedule in words, as the package's own inline script did (the Content-Security-Policy
// refuses inline scripts, so it lives here; templates/admin/djcelery/change_periodictask_form.html).
document.addEventListener("DOMContentLoaded", () => {
  const data = document.getElementById("readable-crontabs");
  const select = document.getElementById("id_crontab");
  const help = document.querySelector(".field-crontab .help");
  if (!data || !select || !help) return;
  const readable = JSON.parse(data.textContent);
  const original = help.textContent;
  const translation = document.querySelector(".field-crontab_translation");
  if (translation) translation.style.display = "none";
  select.addEventListener("change", () => {
    help.replaceChildren(original, document.createElement("br"), `Translation: ${readable[select.value]}`);
  });
});
