/* Unit chooser: live search for inputs marked data-unit-search="/units/search?...".
   Suggestions go into the input's <datalist> (value = unit code, label = name).
   Without this script the input still works: the server resolves a typed code or name. */
(function () {
  "use strict";

  function attach(input) {
    var list = document.getElementById(input.getAttribute("list"));
    var base = input.getAttribute("data-unit-search");
    if (!list || !base) { return; }
    var timer = null;
    var last = "";

    function fill(units) {
      while (list.firstChild) { list.removeChild(list.firstChild); }
      units.forEach(function (u) {
        var option = document.createElement("option");
        option.value = u.code;
        option.label = u.name + "（" + u.kind + "）";
        option.textContent = u.name;
        list.appendChild(option);
      });
    }

    function search() {
      var q = input.value.trim();
      if (q === last) { return; }
      last = q;
      var url = base + (base.indexOf("?") >= 0 ? "&" : "?") + "q=" + encodeURIComponent(q);
      fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" } })
        .then(function (resp) { return resp.ok ? resp.json() : []; })
        .then(function (units) { if (input.value.trim() === q) { fill(units); } })
        .catch(function () { /* offline or logged out: the server-side fallback still works */ });
    }

    input.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(search, 250);
    });
    input.addEventListener("focus", search);
  }

  document.addEventListener("DOMContentLoaded", function () {
    Array.prototype.forEach.call(document.querySelectorAll("input[data-unit-search]"), attach);
  });
})();
