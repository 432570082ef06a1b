/* The units tree opens a unit in place: a click on ▸ fetches that unit's children (the same list the
   page shows, as a fragment) and puts them under it; ▾ closes them again. Without this script every
   ▸ and ▾ is a link to the page opened at that unit, so the tree works the same, a page at a time. */
(function () {
  "use strict";
  var tree = document.querySelector("ul.tree");
  if (!tree) { return; }
  tree.addEventListener("click", function (event) {
    var toggle = event.target.closest("a.tree-toggle[data-name]");
    if (!toggle) { return; }
    var item = toggle.closest("li");
    var shown = item.querySelector(":scope > ul.tree-children");
    event.preventDefault();
    if (shown) {
      shown.remove();
      toggle.textContent = "▸";
      toggle.setAttribute("aria-expanded", "false");
      toggle.setAttribute("aria-label", "展开" + toggle.dataset.name);
      return;
    }
    fetch(toggle.href + "&fragment=1", { credentials: "same-origin" })
      .then(function (response) { return response.ok ? response.text() : Promise.reject(response.status); })
      .then(function (html) {
        item.insertAdjacentHTML("beforeend", html);
        toggle.textContent = "▾";
        toggle.setAttribute("aria-expanded", "true");
        toggle.setAttribute("aria-label", "收起" + toggle.dataset.name);
      })
      .catch(function () { window.location.href = toggle.href; });
  });
})();
