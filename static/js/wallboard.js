// The wallboard's two charts (Chart.js, vendored): redrawn whenever a push brings new figures.
(function () {
  "use strict";
  var charts = {};
  var colours = {
    ready: "#1e7d32", ringing: "#b26a00", talking: "#0a5fb4",
    wrap_up: "#7b52b9", not_ready: "#b3261e", logged_out: "#9aa4ae"
  };
  function data() {
    var el = document.getElementById("wb-chart-json");
    if (!el) { return null; }
    try { return JSON.parse(el.textContent); } catch (e) { return null; }
  }
  function draw(id, config) {
    var canvas = document.getElementById(id);
    if (!canvas || typeof Chart === "undefined") { return; }
    if (charts[id]) {
      charts[id].data.labels = config.data.labels;
      charts[id].data.datasets[0].data = config.data.datasets[0].data;
      charts[id].data.datasets[0].backgroundColor = config.data.datasets[0].backgroundColor;
      charts[id].update("none");
    } else {
      charts[id] = new Chart(canvas, config);
    }
  }
  function render() {
    var d = data();
    if (!d) { return; }
    var options = {
      responsive: true, maintainAspectRatio: false, animation: false,
      plugins: { legend: { display: false } },
      scales: { y: { beginAtZero: true, ticks: { precision: 0 } } }
    };
    draw("wb-chart-waiting", {
      type: "bar",
      data: { labels: d.queues, datasets: [{ data: d.waiting, backgroundColor: "#0a5fb4" }] },
      options: options
    });
    draw("wb-chart-states", {
      type: "bar",
      data: {
        labels: d.states,
        datasets: [{
          data: d.agents,
          backgroundColor: d.state_codes.map(function (c) { return colours[c] || "#666"; })
        }]
      },
      options: options
    });
  }
  document.addEventListener("DOMContentLoaded", render);
  document.addEventListener("htmx:oobAfterSwap", function (evt) {
    if (evt.detail.target && evt.detail.target.id === "wb-chart-data") { render(); }
  });
  document.addEventListener("htmx:afterSettle", render);
})();
