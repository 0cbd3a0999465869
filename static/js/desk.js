// Small things htmx cannot do: running clocks and the live-connection dot.
(function () {
  "use strict";
  function pad(n) { return String(n).padStart(2, "0"); }
  function tick() {
    var now = Date.now();
    document.querySelectorAll("time.clock[data-since]").forEach(function (el) {
      var since = Date.parse(el.getAttribute("data-since"));
      if (isNaN(since)) { return; }
      var s = Math.max(0, Math.floor((now - since) / 1000));
      var h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60);
      el.textContent = (h ? h + ":" + pad(m) : pad(m)) + ":" + pad(s % 60);
    });
    document.querySelectorAll("time.countdown[data-until]").forEach(function (el) {
      var until = Date.parse(el.getAttribute("data-until"));
      if (isNaN(until)) { return; }
      var s = Math.max(0, Math.ceil((until - now) / 1000));
      el.textContent = pad(Math.floor(s / 60)) + ":" + pad(s % 60);
    });
  }
  setInterval(tick, 1000);
  document.addEventListener("htmx:afterSettle", tick);
  function status(on) {
    var dot = document.getElementById("ws-status");
    if (dot) { dot.className = "ws-status " + (on ? "on" : "off"); }
    document.documentElement.dataset.ws = on ? "open" : "closed";
  }
  // A pushed notepad for the same contact must not replace what the agent is typing:
  // the local text is as new as the saved one or newer (autosave follows).
  document.addEventListener("htmx:oobBeforeSwap", function (evt) {
    var target = evt.detail.target;
    if (!target || target.id !== "notepad") { return; }
    var current = target.querySelector("textarea[data-interaction]");
    var incoming = evt.detail.fragment && evt.detail.fragment.querySelector
      ? evt.detail.fragment.querySelector("textarea[data-interaction]") : null;
    if (current && incoming && current.dataset.interaction === incoming.dataset.interaction) {
      evt.detail.shouldSwap = false;
    }
  });
  // A push about the same contact (or, with no contact, the sync after the socket connects)
  // must not pull the agent out of the view they chose (a running script, the history, a
  // ticket): only a new contact brings the account view back.
  document.addEventListener("htmx:oobBeforeSwap", function (evt) {
    var target = evt.detail.target, fragment = evt.detail.fragment;
    if (!target || target.id !== "workspace" || !fragment) { return; }
    var incoming = fragment.id === "workspace" ? fragment
      : (fragment.querySelector && fragment.querySelector("#workspace")) || fragment.firstElementChild;
    if (!incoming || !incoming.dataset) { return; }
    var current = target.dataset;
    if (current.view && current.view !== "account" && incoming.dataset.view === "account" &&
        (current.interaction || "") === (incoming.dataset.interaction || "")) {
      evt.detail.shouldSwap = false;
    }
  });
  // Nor may it blank the account the agent opened by hand (from the search, a ticket, a
  // link): a push about the same contact that shows no account keeps header and workspace.
  document.addEventListener("htmx:oobBeforeSwap", function (evt) {
    var target = evt.detail.target, fragment = evt.detail.fragment;
    if (!target || (target.id !== "workspace" && target.id !== "account-header") || !fragment) {
      return;
    }
    var incoming = fragment.id === target.id ? fragment
      : (fragment.querySelector && fragment.querySelector("#" + target.id)) || fragment.firstElementChild;
    if (!incoming || !incoming.dataset) { return; }
    var current = target.dataset;
    if (current.account && !incoming.dataset.account &&
        (current.interaction || "") === (incoming.dataset.interaction || "")) {
      evt.detail.shouldSwap = false;
    }
  });
  // The answer to a click and a push can cross: comm-info and toolbar carry the time of the
  // state they show, and an older one never replaces a newer one.
  document.addEventListener("htmx:oobBeforeSwap", function (evt) {
    var target = evt.detail.target, fragment = evt.detail.fragment;
    if (!target || (target.id !== "comm-info" && target.id !== "toolbar") || !fragment) { return; }
    var incoming = fragment.id === target.id ? fragment
      : (fragment.querySelector && fragment.querySelector("#" + target.id)) || fragment.firstElementChild;
    var before = Number(target.dataset.stamp), after = incoming && incoming.dataset
      ? Number(incoming.dataset.stamp) : NaN;
    if (!isNaN(before) && !isNaN(after) && after < before) { evt.detail.shouldSwap = false; }
  });
  // The navigation keeps the account the agent opened by hand (no live contact): history,
  // script, knowledge and the other views ask for that account instead of none.
  document.addEventListener("htmx:configRequest", function (evt) {
    var elt = evt.detail.elt;
    if (!elt || !elt.closest || !elt.closest("nav.navbar") || evt.detail.verb !== "get") { return; }
    var header = document.getElementById("account-header");
    if (header && header.dataset.account && !header.dataset.interaction) {
      evt.detail.parameters["account"] = header.dataset.account;
    }
  });
  // The navigation marks the view the workspace shows, also after an htmx swap.
  document.addEventListener("htmx:afterSettle", function () {
    var workspace = document.getElementById("workspace");
    if (!workspace || !workspace.dataset.view) { return; }
    var view = workspace.dataset.view === "ticket" ? "tickets" : workspace.dataset.view;
    document.querySelectorAll("nav.navbar a[data-nav]").forEach(function (link) {
      link.classList.toggle("active", link.dataset.nav === view);
    });
  });
  // Leaving an account or ticket (another view swapped in, the page closed) tells colleagues
  // at once. A beacon still leaves while the page unloads; a presence line that a swap only
  // replaces with the same one (a push re-rendering the same view) is no departure.
  function csrfToken() {
    try {
      return JSON.parse(document.body.getAttribute("hx-headers") || "{}")["X-CSRFToken"] || "";
    } catch (e) {
      return "";
    }
  }
  function leave(url) {
    var body = new FormData();
    body.append("csrfmiddlewaretoken", csrfToken());
    navigator.sendBeacon(url, body);
  }
  document.addEventListener("htmx:beforeCleanupElement", function (evt) {
    var el = evt.target;
    if (!el || !el.dataset || !el.dataset.presenceLeave) { return; }
    var id = el.id, url = el.dataset.presenceLeave;
    setTimeout(function () {
      if (!document.getElementById(id)) { leave(url); }
    }, 0);
  });
  // Typing in a ticket's forms tells colleagues who have the ticket open that it is being
  // edited (at once, then with every heartbeat); a saved form ends it.
  function ticketPresence(form) {
    var workspace = form.closest && form.closest("#workspace");
    return workspace && workspace.querySelector(".presence[id^='presence-ticket-']");
  }
  function setEditing(presence, editing) {
    var value = editing ? "1" : "";
    if ((presence.dataset.editing || "") === value) { return; }
    presence.dataset.editing = value;
    htmx.trigger(presence, "presence-edit");
  }
  document.addEventListener("input", function (evt) {
    var form = evt.target && evt.target.form;
    var presence = form && ticketPresence(form);
    if (presence) { setEditing(presence, true); }
  });
  document.addEventListener("htmx:afterRequest", function (evt) {
    var form = evt.detail.elt;
    if (!form || form.tagName !== "FORM" || !evt.detail.successful) { return; }
    var presence = ticketPresence(form);
    if (presence) { setEditing(presence, false); }
  });
  document.addEventListener("htmx:configRequest", function (evt) {
    var elt = evt.detail.elt;
    if (elt && elt.dataset && elt.dataset.presenceLeave && elt.dataset.editing === "1") {
      evt.detail.parameters["editing"] = "1";
    }
  });
  window.addEventListener("pagehide", function () {
    document.querySelectorAll("[data-presence-leave]").forEach(function (el) {
      leave(el.dataset.presenceLeave);
    });
  });
  document.addEventListener("htmx:wsOpen", function () { status(true); });
  document.addEventListener("htmx:wsClose", function () { status(false); });
  document.addEventListener("htmx:wsError", function () { status(false); });
})();
