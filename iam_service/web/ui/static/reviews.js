// Keyboard use of the review page (5.18): j/k or the arrow keys move between
// items, y keeps, x writes the revoke comment (Enter revokes), Space selects,
// / searches, Esc leaves a field. Served from /static: the console's CSP
// allows only scripts of our own (no inline script, no eval).
(function () {
  "use strict";
  function rows() {
    return Array.prototype.slice.call(document.querySelectorAll("tr.item"));
  }
  function current() {
    var active = document.activeElement;
    return active ? active.closest("tr.item") : null;
  }
  function focusRow(row) {
    if (row) {
      row.focus();
      row.scrollIntoView({ block: "nearest" });
    }
  }
  function move(step) {
    var all = rows();
    var at = all.indexOf(current());
    var next = at < 0 ? all[0] : all[Math.min(all.length - 1, Math.max(0, at + step))];
    focusRow(next);
  }
  function typing(target) {
    return target && /^(INPUT|TEXTAREA|SELECT)$/.test(target.tagName);
  }
  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey) { return; }
    var target = event.target;
    if (typing(target)) {
      if (event.key === "Escape") {
        var row = target.closest("tr.item");
        target.blur();
        focusRow(row);
      }
      return;
    }
    var row = current();
    switch (event.key) {
      case "j": case "ArrowDown": move(1); break;
      case "k": case "ArrowUp": move(-1); break;
      case "y":
        if (row) { var keep = row.querySelector('[data-action="keep"]'); if (keep) { keep.click(); } }
        break;
      case "x":
        if (row) { var comment = row.querySelector('[data-action="comment"]'); if (comment) { comment.focus(); } }
        break;
      case " ":
        if (row) { var box = row.querySelector('input[type="checkbox"]'); if (box) { box.click(); } }
        break;
      case "/":
        var search = document.getElementById("review-search");
        if (search) { search.focus(); }
        break;
      default: return;
    }
    event.preventDefault();
  });
  // After htmx re-draws a decided row, carry on with the next open one.
  document.body.addEventListener("htmx:afterSwap", function (event) {
    var target = event.detail && event.detail.target;
    var row = target && target.id ? document.getElementById(target.id) : null;
    if (!row || !row.matches("tr.item")) { return; }
    if (row.querySelector('[role="alert"]')) { focusRow(row); return; }
    var all = rows();
    var next = all.slice(all.indexOf(row) + 1).find(function (r) { return !r.classList.contains("decided"); });
    focusRow(next || row);
  });
  document.addEventListener("DOMContentLoaded", function () {
    var first = rows()[0];
    if (first && !document.querySelector(".notice")) { first.setAttribute("tabindex", "0"); }
  });
})();
