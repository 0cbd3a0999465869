// Alert rules that open a workspace view or start a script: the server renders a hidden
// marker per rule and contact; the first time a desk sees a marker it follows it, once.
(function () {
  "use strict";
  function follow(root) {
    if (!root || !root.querySelectorAll || typeof htmx === "undefined") { return; }
    root.querySelectorAll("[data-guidance]").forEach(function (el) {
      var key = "icenter-guidance-" + el.getAttribute("data-guidance");
      try {
        if (window.sessionStorage.getItem(key)) { return; }
        window.sessionStorage.setItem(key, "1");
      } catch (e) { return; }
      htmx.ajax(el.getAttribute("data-method") || "GET", el.getAttribute("data-url"), {
        source: el, target: "#workspace", swap: "outerHTML"
      });
    });
  }
  document.addEventListener("htmx:load", function (evt) { follow(evt.detail.elt); });
  document.addEventListener("DOMContentLoaded", function () { follow(document); });
})();
