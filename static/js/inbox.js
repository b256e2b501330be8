// Inbox: conditional polling (If-None-Match → 304 keeps the DOM), keyboard shortcuts,
// canned replies and emoji. The workspace still works without this file, with reloads.
(function () {
  if (window.htmx) {
    // A 304 means "nothing changed": swap nothing (htmx would otherwise swap an empty body).
    htmx.config.responseHandling = [{ code: "204", swap: false }, { code: "304", swap: false }]
      .concat(htmx.config.responseHandling.filter(function (r) { return r.code !== "204"; }));
  }
  document.addEventListener("htmx:configRequest", function (event) {
    const el = event.detail.elt;
    if (event.detail.verb === "get" && el.dataset && el.dataset.etag) {
      event.detail.headers["If-None-Match"] = el.dataset.etag;
    }
  });
  // Polling must not swap the reply box or the list while the agent is using them.
  document.addEventListener("htmx:beforeSwap", function (event) {
    if (event.detail.xhr.status === 304) { event.detail.shouldSwap = false; }
  });
  document.addEventListener("htmx:afterSwap", markSelected);
  document.addEventListener("DOMContentLoaded", markSelected);

  function rows() { return Array.from(document.querySelectorAll("[data-conversation-row]")); }
  function currentId() {
    const pane = document.querySelector("[data-conversation-id]");
    return pane ? pane.dataset.conversationId : null;
  }
  function markSelected() {
    const id = currentId();
    rows().forEach(function (row) {
      if (row.dataset.id === id) { row.setAttribute("aria-current", "true"); } else { row.removeAttribute("aria-current"); }
    });
  }
  function move(step) {
    const all = rows();
    if (!all.length) return;
    let index = all.findIndex(function (row) { return row.dataset.id === currentId(); });
    index = index < 0 ? 0 : Math.min(Math.max(index + step, 0), all.length - 1);
    all[index].click();
    all[index].focus();
  }
  function overlay(show) {
    const box = document.querySelector(".shortcuts");
    if (!box) return;
    box.hidden = show === undefined ? !box.hidden : !show;
    if (!box.hidden) { const close = box.querySelector("[data-shortcuts-close]"); if (close) close.focus(); }
  }
  document.addEventListener("click", function (event) {
    const target = event.target;
    if (target.closest("[data-shortcuts-open]")) { overlay(true); }
    if (target.closest("[data-shortcuts-close]")) { overlay(false); }
    const emoji = target.closest("[data-emoji]");
    if (emoji) {
      const area = document.querySelector("[data-reply]");
      if (area) {
        const at = area.selectionStart || area.value.length;
        area.value = area.value.slice(0, at) + emoji.dataset.emoji + area.value.slice(area.selectionEnd || at);
        area.focus();
      }
    }
    const tab = target.closest("[data-view]");
    if (tab) { const input = document.querySelector("#inbox-filters input[name=view]"); if (input) input.value = tab.dataset.view; }
  });
  // Image replies: a preview of the chosen (or pasted) file before it is sent. The server
  // checks the bytes; this only shows the agent what will go out.
  function showImage(input) {
    const box = input.form && input.form.querySelector("[data-reply-image-preview]");
    if (!box) return;
    const thumb = box.querySelector("[data-reply-image-thumb]");
    const name = box.querySelector("[data-reply-image-name]");
    if (thumb.src && thumb.src.startsWith("blob:")) { URL.revokeObjectURL(thumb.src); }
    const file = input.files && input.files[0];
    if (!file) { box.hidden = true; thumb.removeAttribute("src"); name.textContent = ""; return; }
    thumb.src = URL.createObjectURL(file);
    const tooBig = Number(input.dataset.maxBytes) && file.size > Number(input.dataset.maxBytes);
    name.textContent = file.name + " (" + Math.ceil(file.size / 1024) + " KB)" + (tooBig ? " — " + input.dataset.tooLarge : "");
    box.hidden = false;
  }
  document.addEventListener("paste", function (event) {
    const area = event.target.closest && event.target.closest("[data-reply]");
    const input = area && area.form && area.form.querySelector("[data-reply-image]");
    const files = event.clipboardData && Array.from(event.clipboardData.files || []);
    const image = files && files.find(function (file) { return file.type.startsWith("image/"); });
    if (!input || !image || typeof DataTransfer === "undefined") return;
    event.preventDefault();
    const transfer = new DataTransfer();
    transfer.items.add(image);
    input.files = transfer.files;
    showImage(input);
  });
  document.addEventListener("click", function (event) {
    const clear = event.target.closest("[data-reply-image-clear]");
    const input = clear && clear.form && clear.form.querySelector("[data-reply-image]");
    if (input) { input.value = ""; showImage(input); input.focus(); }
  });
  document.addEventListener("change", function (event) {
    if (event.target.matches && event.target.matches("[data-reply-image]")) { showImage(event.target); }
  });
  document.addEventListener("change", function (event) {
    const select = event.target.closest("[data-canned]");
    if (select && select.value && window.htmx) {
      const version = document.querySelector("#reply-form input[name=version]");
      htmx.ajax("GET", select.value + "?version=" + encodeURIComponent(version ? version.value : ""), { target: "#reply-text", swap: "outerHTML" });
      select.value = "";
    }
  });
  document.addEventListener("keydown", function (event) {
    const tag = (event.target.tagName || "").toLowerCase();
    const typing = tag === "input" || tag === "textarea" || tag === "select" || event.target.isContentEditable;
    if (typing) {
      if (event.key === "Enter" && (event.ctrlKey || event.metaKey) && event.target.form) {
        event.preventDefault();
        event.target.form.requestSubmit();
      } else if (event.key === "Escape") {
        event.target.blur();
      }
      return;
    }
    if (event.ctrlKey || event.metaKey || event.altKey || !document.querySelector("[data-testid=inbox]")) return;
    const actions = {
      "j": function () { move(1); },
      "k": function () { move(-1); },
      "r": function () { const a = document.querySelector("[data-reply]"); if (a) a.focus(); },
      "n": function () { const a = document.querySelector("[data-note]"); if (a) a.focus(); },
      "e": function () { const b = document.querySelector("[data-action=resolve]"); if (b) b.click(); },
      "?": function () { overlay(); },
      "Escape": function () { overlay(false); },
    };
    if (actions[event.key]) { event.preventDefault(); actions[event.key](); }
  });
})();
