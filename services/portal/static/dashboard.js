// Draws the dashboard's charts from the JSON the page carries (each chart also has its table).
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("chart-data").textContent);
  var palette = ["#0b5394", "#38761d", "#bf9000", "#b45f06", "#990000", "#674ea7", "#45818e", "#a64d79", "#666666", "#3d85c6"];
  function bars(id, series, opts) {
    var canvas = document.getElementById(id);
    if (!canvas || !series || !window.Chart) return;
    var sets = Object.keys(series.series).map(function (name, i) {
      return { label: name, data: series.series[name], backgroundColor: palette[i % palette.length] };
    });
    new window.Chart(canvas, { type: "bar", data: { labels: series.labels, datasets: sets },
      options: Object.assign({ responsive: true, maintainAspectRatio: false, animation: false, plugins: { legend: { position: "bottom" } } }, opts || {}) });
  }
  bars("chart-predicates", data.predicates, { scales: { x: { stacked: true }, y: { stacked: true, ticks: { precision: 0 } } } });
  bars("chart-flags", data.flags, { scales: { x: { stacked: true }, y: { stacked: true, ticks: { precision: 0 } } } });
  bars("chart-budget", data.budget);
})();
