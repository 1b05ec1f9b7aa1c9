// Capture forms: the hosted page records where the visitor came from, and the builder's
// "Copy snippet" button. Both pages work without this file.
document.addEventListener("DOMContentLoaded", () => {
  // The hosted page's hidden referrer field: the page that linked here, unless the link set it.
  const referrer = document.querySelector('form input[type="hidden"][name="referrer"]');
  if (referrer && !referrer.value && document.referrer) {
    referrer.value = document.referrer.slice(0, 200);
  }

  document.querySelectorAll("button[data-copy-target]").forEach((button) => {
    button.addEventListener("click", async () => {
      const source = document.getElementById(button.dataset.copyTarget);
      const status = button.parentElement.querySelector(".copy-status");
      if (!source) return;
      try {
        await navigator.clipboard.writeText(source.textContent);
        if (status) status.textContent = "Copied. Paste it into your page's HTML.";
      } catch (error) {
        // No clipboard access (an http page, or refused): select the text for Ctrl+C instead.
        const range = document.createRange();
        range.selectNodeContents(source);
        const selection = window.getSelection();
        selection.removeAllRanges();
        selection.addRange(range);
        if (status) status.textContent = "Selected. Press Ctrl+C (or ⌘C) to copy.";
      }
    });
  });
});
