// The sales pages: live speed-to-lead countdowns, the queue's keyboard, and 4xx answers that
// are meant to be swapped in place. Every page works without this file.
(() => {
  if (window.smarketingSales) return; // included by several snippets of one page
  window.smarketingSales = true;

  const MINUTE = 60, HOUR = 3600, DAY = 86400;

  // The same wording as leads/templatetags/sales_tags.py (countdown).
  function spanText(seconds) {
    const s = Math.abs(Math.trunc(seconds));
    const pad = (n) => String(n).padStart(2, "0");
    if (s >= DAY) return `${Math.floor(s / DAY)}d ${Math.floor((s % DAY) / HOUR)}h`;
    if (s >= HOUR) return `${Math.floor(s / HOUR)}h ${pad(Math.floor((s % HOUR) / MINUTE))}m`;
    return `${Math.floor(s / MINUTE)}m ${pad(s % MINUTE)}s`;
  }

  function tick() {
    const now = Date.now();
    document.querySelectorAll("time[data-countdown]").forEach((el) => {
      const due = Date.parse(el.getAttribute("datetime"));
      if (Number.isNaN(due)) return;
      const left = Math.floor((due - now) / 1000); // a second past the deadline is overdue
      el.textContent = left < 0 ? `${spanText(left)} overdue` : `in ${spanText(left)}`;
      const row = el.closest("tr, .overdue-text");
      if (row && left < 0) row.classList.add("overdue");
    });
  }

  // --- The queue's keyboard: j/k move, Enter opens, l logs a call, c claims ----------------
  const rows = () => Array.from(document.querySelectorAll("#queue-table tr[data-queue-row]"));
  let selected = -1;

  function select(index) {
    const all = rows();
    if (!all.length) return;
    selected = Math.max(0, Math.min(index, all.length - 1));
    all.forEach((row, i) => row.classList.toggle("is-selected", i === selected));
    const link = all[selected].querySelector("a[data-open]");
    if (link) link.focus(); // focus is the selection: screen readers announce the lead
  }

  function typing(target) {
    return target instanceof HTMLInputElement || target instanceof HTMLTextAreaElement
      || target instanceof HTMLSelectElement || (target instanceof HTMLElement && target.isContentEditable);
  }

  document.addEventListener("keydown", (event) => {
    if (event.defaultPrevented || event.altKey || event.ctrlKey || event.metaKey || typing(event.target)) return;
    if (!document.getElementById("queue")) return;
    const all = rows();
    const current = all.findIndex((row) => row.contains(document.activeElement));
    if (current >= 0) selected = current;
    if (event.key === "j") { event.preventDefault(); select(selected + 1); }
    else if (event.key === "k") { event.preventDefault(); select(selected < 0 ? 0 : selected - 1); }
    else if (event.key === "Enter" && selected >= 0 && current < 0 && all[selected]) {
      const link = all[selected].querySelector("a[data-open]");
      if (link) { event.preventDefault(); link.click(); }
    } else if (event.key === "l" && all.length) {
      const row = all[selected >= 0 ? selected : 0];
      const log = row && row.querySelector("a[data-log]");
      if (log) { event.preventDefault(); log.click(); }
    } else if (event.key === "c") {
      const claim = document.getElementById("claim-next");
      if (claim) { event.preventDefault(); claim.click(); }
    }
  });

  // After a swap, keep the queue's selection where it was (the rows were replaced).
  document.addEventListener("htmx:afterSettle", () => {
    tick();
    if (selected >= 0 && document.getElementById("queue") && !document.querySelector(".just-claimed")) {
      const all = rows();
      if (all.length) all[Math.min(selected, all.length - 1)].classList.add("is-selected");
    }
  });

  document.addEventListener("DOMContentLoaded", tick);
  window.setInterval(tick, 1000);
})();
