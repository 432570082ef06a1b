/* School picker: suggestions while typing, for inputs marked data-school-search="/schools/search".
   Progressive enhancement only: without this script the server resolves the typed code or name. */
(function () {
  "use strict";

  function debounce(fn, ms) {
    var timer = null;
    return function () {
      var args = arguments, self = this;
      clearTimeout(timer);
      timer = setTimeout(function () { fn.apply(self, args); }, ms);
    };
  }

  function enhance(input, index) {
    var url = input.getAttribute("data-school-search");
    var list = document.createElement("ul");
    var status = document.createElement("div");
    var listId = "school-suggest-" + index;
    var active = -1;
    var items = [];
    var lastQuery = "";

    list.id = listId;
    list.className = "school-suggest";
    list.setAttribute("role", "listbox");
    list.hidden = true;
    status.className = "visually-hidden";
    status.setAttribute("role", "status");
    input.setAttribute("role", "combobox");
    input.setAttribute("aria-autocomplete", "list");
    input.setAttribute("aria-controls", listId);
    input.setAttribute("aria-expanded", "false");
    input.parentNode.insertBefore(list, input.nextSibling);
    input.parentNode.insertBefore(status, list.nextSibling);

    function close() {
      list.hidden = true;
      active = -1;
      input.setAttribute("aria-expanded", "false");
      input.removeAttribute("aria-activedescendant");
    }

    function choose(school) {
      input.value = school.code + " " + school.name;
      close();
      status.textContent = "已选择" + school.name;
    }

    function highlight(i) {
      var options = list.querySelectorAll("li");
      if (!options.length) { return; }
      active = (i + options.length) % options.length;
      for (var k = 0; k < options.length; k++) {
        options[k].setAttribute("aria-selected", k === active ? "true" : "false");
      }
      input.setAttribute("aria-activedescendant", options[active].id);
      options[active].scrollIntoView({ block: "nearest" });
    }

    function render(schools) {
      items = schools;
      list.textContent = "";
      schools.forEach(function (school, i) {
        var li = document.createElement("li");
        var name = document.createElement("span");
        var meta = document.createElement("small");
        li.id = listId + "-" + i;
        li.setAttribute("role", "option");
        li.setAttribute("aria-selected", "false");
        name.textContent = school.name;
        meta.textContent = school.code + (school.parent ? " · " + school.parent : "");
        li.appendChild(name);
        li.appendChild(meta);
        li.addEventListener("mousedown", function (event) {
          event.preventDefault(); /* keep focus in the input */
          choose(school);
        });
        list.appendChild(li);
      });
      list.hidden = schools.length === 0;
      input.setAttribute("aria-expanded", schools.length ? "true" : "false");
      status.textContent = schools.length ? "找到" + schools.length + "所学校，用上下键选择" : "没有找到匹配的学校";
      active = -1;
    }

    var search = debounce(function () {
      var q = input.value.trim();
      if (q === lastQuery) { return; }
      lastQuery = q;
      if (!q) { render([]); return; }
      fetch(url + "?q=" + encodeURIComponent(q), { headers: { "Accept": "application/json" } })
        .then(function (resp) { return resp.ok ? resp.json() : []; })
        .then(function (schools) { if (input.value.trim() === q) { render(schools); } })
        .catch(function () { close(); }); /* the server still resolves the text on submit */
    }, 200);

    input.addEventListener("input", search);
    input.addEventListener("blur", function () { setTimeout(close, 100); });
    input.addEventListener("keydown", function (event) {
      if (list.hidden) { return; }
      if (event.key === "ArrowDown") { event.preventDefault(); highlight(active + 1); }
      else if (event.key === "ArrowUp") { event.preventDefault(); highlight(active - 1); }
      else if (event.key === "Enter" && active >= 0) { event.preventDefault(); choose(items[active]); }
      else if (event.key === "Escape") { close(); }
    });
  }

  function init() {
    var inputs = document.querySelectorAll("input[data-school-search]");
    for (var i = 0; i < inputs.length; i++) { enhance(inputs[i], i); }
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
