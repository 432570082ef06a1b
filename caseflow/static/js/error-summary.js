/* After a refused submit, move focus to the error summary so keyboard and screen-reader users
   start at the list of problems (each links to its field). Without this script the summary is
   still at the top of the form and announced through role="alert".
   A link to a group of radio buttons (a fieldset carrying the field's id) focuses the group's
   chosen radio, or its first one, so the arrow keys choose at once. */
(function () {
  "use strict";
  function focusSummary() {
    var summary = document.getElementById("error-summary");
    if (!summary) { return; }
    summary.focus();
    summary.addEventListener("click", function (event) {
      var link = event.target.closest("a[href^='#']");
      if (!link) { return; }
      var target = document.getElementById(decodeURIComponent(link.getAttribute("href").slice(1)));
      if (!target || target.tagName !== "FIELDSET") { return; }
      var input = target.querySelector("input:checked") || target.querySelector("input, select, textarea");
      if (!input) { return; }
      event.preventDefault();
      target.scrollIntoView({ block: "start" });
      input.focus();
    });
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", focusSummary);
  } else {
    focusSummary();
  }
})();
