// The side menu folds away behind a "Menu" button on narrow screens (the stylesheet's 900px
// breakpoint) and stays open on wide ones. Without this script the button stays hidden and the
// menu stays open, as before. The button says its state with aria-expanded; Escape inside the
// open menu closes it and returns focus to the button.
document.addEventListener("DOMContentLoaded", () => {
  const button = document.querySelector(".sidebar .menu-button");
  const menu = button && document.getElementById(button.getAttribute("aria-controls"));
  if (!menu) return;
  const narrow = window.matchMedia("(max-width: 900px)");
  const show = (open) => {
    button.setAttribute("aria-expanded", String(open));
    menu.hidden = !open;
  };
  const fit = () => {
    button.hidden = !narrow.matches;
    show(!narrow.matches);
  };
  button.addEventListener("click", () => show(button.getAttribute("aria-expanded") !== "true"));
  menu.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && narrow.matches) {
      show(false);
      button.focus();
    }
  });
  narrow.addEventListener("change", fit);
  fit();
});
