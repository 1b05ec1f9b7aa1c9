// The alignment dashboard's charts, drawn with the vendored Chart.js from the numbers the page
// embeds with json_script (no inline script: a Content-Security-Policy may forbid them). Each
// chart is hidden from screen readers: the table beside it holds the same numbers. Without
// this script (or Chart.js) the tables stay, and every field of the picker stays shown.
document.addEventListener("DOMContentLoaded", () => {
  showPeriodFields();
  const source = document.getElementById("dashboard-charts");
  if (!source || typeof window.Chart === "undefined") return;
  const specs = JSON.parse(source.textContent);
  const style = getComputedStyle(document.documentElement);
  const colour = (name, fallback) => style.getPropertyValue(name).trim() || fallback;
  const palette = [
    colour("--brand", "#2f5bea"),
    colour("--warn", "#c47f00"),
    colour("--accent", "#0f9d76"),
    colour("--danger", "#c4314b"),
  ];
  window.Chart.defaults.font.family = colour("--font", "system-ui, sans-serif");
  window.Chart.defaults.color = colour("--muted", "#5f6b7a");
  document.querySelectorAll("canvas[data-chart]").forEach((canvas) => {
    const spec = specs[canvas.dataset.chart];
    if (spec) new window.Chart(canvas, chartConfig(spec, palette));
  });
});

function chartConfig(spec, palette) {
  const unit = spec.unit || "";
  const kind = spec.type || "bar";
  const datasets = spec.datasets.map((set, index) => {
    const tint = palette[index % palette.length];
    return {
      label: set.label,
      data: set.data,
      type: set.type || kind,
      backgroundColor: tint,
      borderColor: tint,
      borderWidth: 2,
      borderDash: set.dashed ? [6, 4] : [],
      pointRadius: kind === "line" || set.type === "line" ? 3 : 0,
      spanGaps: true,
      order: set.type === "line" ? 0 : 1, // lines over bars
    };
  });
  // Counts of leads have whole ticks; rates and days may not.
  const ticks = { precision: spec.integer ? 0 : undefined, callback: (v) => `${v}${unit}` };
  const value = { beginAtZero: true, ticks };
  return {
    type: kind,
    data: { labels: spec.labels, datasets },
    options: {
      animation: false, // the figures are there at once, and nothing moves for who prefers it
      responsive: true,
      maintainAspectRatio: false,
      indexAxis: spec.horizontal ? "y" : "x",
      scales: spec.horizontal ? { x: value } : { y: value },
      plugins: {
        legend: { display: datasets.length > 1, position: "bottom" },
        tooltip: { callbacks: { label: (item) => `${item.dataset.label}: ${item.formattedValue}${unit}` } },
      },
    },
  };
}

// The picker shows the fields of the chosen kind of period only: a month, a quarter, or two days.
function showPeriodFields() {
  const kind = document.getElementById("id_period");
  if (!kind) return;
  const fields = { month: ["month"], quarter: ["quarter"], custom: ["start", "end"] };
  const fit = () => {
    Object.entries(fields).forEach(([period, names]) => {
      names.forEach((name) => {
        const field = document.querySelector(`.dash-filters [data-field="${name}"]`);
        if (field) field.hidden = kind.value !== period && !field.classList.contains("has-error");
      });
    });
  };
  kind.addEventListener("change", fit);
  fit();
}
