/* After a refused submit, move focus to the error summary so keyboard and screen-reader users
   start at the list of problems (each links to its field). Without this script the summary is
   still at the top of the form and announced through role="alert". */
(function () {
  "use strict";
  function focusSummary() {
    var summary = document.getElementById("error-summary");
    if (summary) { summary.focus(); }
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", focusSummary);
  } else {
    focusSummary();
  }
})();
