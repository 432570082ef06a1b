/* The complaint form: when a category is picked, its common questions appear right below the choice.
   Progressive enhancement only: without this script the category step (/complaints/start) shows them. */
(function () {
  "use strict";
  var select = document.getElementById("category");
  var panels = document.querySelectorAll("[data-faq-category]");
  if (!select || !panels.length) { return; }
  var field = select.closest(".field") || select.parentNode;

  function show() {
    Array.prototype.forEach.call(panels, function (panel) {
      var on = panel.getAttribute("data-faq-category") === select.value;
      if (on && panel.previousElementSibling !== field) {
        field.parentNode.insertBefore(panel, field.nextSibling);
      }
      panel.hidden = !on;
    });
  }
  select.addEventListener("change", show);
  show();
}());
