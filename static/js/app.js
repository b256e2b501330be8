// Small progressive enhancements; every page works without this file.
// Keyboard: "/" focuses the page's search box, "g h" goes home.
(function () {
  let last = "";
  document.addEventListener("keydown", function (event) {
    const tag = (event.target.tagName || "").toLowerCase();
    if (tag === "input" || tag === "textarea" || tag === "select" || event.target.isContentEditable) return;
    if (event.key === "/") {
      const search = document.querySelector("main input[type=search]");
      if (search) { event.preventDefault(); search.focus(); }
    } else if (last === "g" && event.key === "h") {
      window.location.href = "/";
    }
    last = event.key;
  });
  // Messages fade after a while; errors stay.
  document.addEventListener("htmx:afterSettle", dismissLater);
  document.addEventListener("DOMContentLoaded", dismissLater);
  function dismissLater() {
    document.querySelectorAll(".message-success, .message-info").forEach(function (el) {
      setTimeout(function () { el.remove(); }, 6000);
    });
  }
})();
