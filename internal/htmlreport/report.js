"use strict";
(function () {
  var D = JSON.parse(document.getElementById("data").textContent);
  var S = D.s, H = D.h, PAGE = D.p;
  var SEV = ["info", "low", "medium", "high", "critical"];
  var tbody = document.querySelector("#matrix tbody");
  var rows = Array.prototype.slice.call(tbody.rows);
  var page = 0, sortKey = null, sortDir = 1, visible = rows;
  function el(tag, text, cls) {
    var e = document.createElement(tag);
    if (text !== undefined) e.textContent = text;
    if (cls) e.className = cls;
    return e;
  }
  function key(r, k) {
    switch (k) {
      case "target": return r.cells[0].firstChild.textContent; // the button, not the user marker after it
      case "name": return r.cells[1].textContent;
      case "status": return r.cells[2].textContent;
      case "worst": return +r.dataset.w;
      case "findings": return +r.dataset.n;
    }
    return +r.cells[5 + (+k.slice(1))].dataset.s;
  }
  function ipParts(s) {
    var p = s.split(/[.:]/);
    return p.every(function (x) { return /^\d+$/.test(x); }) ? p.map(Number) : null;
  }
  function cmp(a, b) {
    var x = key(a, sortKey), y = key(b, sortKey);
    if (sortKey === "target") {
      var px = ipParts(x), py = ipParts(y);
      if (px && py) {
        for (var i = 0; i < Math.min(px.length, py.length); i++) if (px[i] !== py[i]) return (px[i] - py[i]) * sortDir;
        return (px.length - py.length) * sortDir;
      }
    }
    if (typeof x === "number") return (x - y) * sortDir || (+a.dataset.i - +b.dataset.i);
    return x < y ? -sortDir : x > y ? sortDir : 0;
  }
  function closeDetails() {
    Array.prototype.slice.call(tbody.querySelectorAll("tr.detail")).forEach(function (d) { d.remove(); });
  }
  function apply() {
    closeDetails();
    var q = document.getElementById("q").value.trim().toLowerCase();
    var min = +document.getElementById("minsev").value;
    var cols = Array.prototype.slice.call(document.querySelectorAll(".colfilter:checked")).map(function (c) { return 5 + (+c.dataset.col); });
    visible = rows.filter(function (r) {
      if (q && r.cells[0].textContent.toLowerCase().indexOf(q) < 0 && r.cells[1].textContent.toLowerCase().indexOf(q) < 0) return false;
      if (min >= 0 && +r.dataset.w < min) return false;
      for (var i = 0; i < cols.length; i++) if (r.cells[cols[i]].className !== "bad") return false;
      return true;
    });
    if (sortKey !== null) {
      visible.sort(cmp);
      var frag = document.createDocumentFragment();
      visible.forEach(function (r) { frag.appendChild(r); });
      rows.forEach(function (r) { if (visible.indexOf(r) < 0) frag.appendChild(r); });
      tbody.appendChild(frag);
    }
    var pages = Math.max(1, Math.ceil(visible.length / PAGE));
    if (page >= pages) page = pages - 1;
    var shown = new Set(visible.slice(page * PAGE, (page + 1) * PAGE));
    rows.forEach(function (r) { r.hidden = !shown.has(r); });
    document.getElementById("pageinfo").textContent = "page " + (page + 1) + " of " + pages + " (" + visible.length + " of " + rows.length + " hosts)";
  }
  function details(r) {
    var next = r.nextElementSibling;
    if (next && next.classList.contains("detail")) { next.remove(); return; }
    var h = H[+r.dataset.i] || {};
    var tr = el("tr", undefined, "detail"), td = el("td");
    td.colSpan = r.cells.length;
    tr.appendChild(td);
    if (h.e) td.appendChild(el("p", "stopped at " + S[h.e - 1]));
    if (!h.f || !h.f.length) td.appendChild(el("p", "No findings."));
    (h.f || []).forEach(function (f) {
      var p = el("p");
      p.appendChild(el("span", SEV[f[0]], "sev sev-" + SEV[f[0]]));
      p.appendChild(document.createTextNode(" " + S[f[1]]));
      td.appendChild(p);
      var ul = el("ul");
      if (S[f[2]]) {
        var li = el("li", "setting: " + S[f[2]] + " ");
        if (f[3] >= 0) {
          var a = el("a", "(fix " + (f[3] + 1) + ")");
          a.setAttribute("href", "#fix-" + (f[3] + 1));
          li.appendChild(a);
        }
        ul.appendChild(li);
      }
      var x = f[3] >= 0 ? D.x[f[3]] : null;
      if (x) {
        x.l.forEach(function (l) {
          var li2 = el("li", "fix (" + S[l[0]] + "):");
          li2.appendChild(el("pre", S[l[1]]));
          ul.appendChild(li2);
        });
        if (x.b.length) {
          var li3 = el("li", "may break:"), ub = el("ul");
          x.b.forEach(function (b) { ub.appendChild(el("li", S[b])); });
          li3.appendChild(ub);
          ul.appendChild(li3);
        }
      }
      for (var i = 4; i < f.length; i++) ul.appendChild(el("li", "seen: " + S[f[i]]));
      td.appendChild(ul);
    });
    if (h.x && h.x.length) {
      var t = el("table", undefined, "shares"), hr = el("tr");
      ["share", "comment", "anonymous"].forEach(function (c) { hr.appendChild(el("th", c)); });
      t.appendChild(hr);
      h.x.forEach(function (x) {
        var tr2 = el("tr");
        x.forEach(function (v) { tr2.appendChild(el("td", S[v])); });
        t.appendChild(tr2);
      });
      td.appendChild(el("p", "Shares listed:"));
      td.appendChild(t);
    }
    r.after(tr);
  }
  tbody.addEventListener("click", function (ev) {
    var b = ev.target.closest("button.host");
    if (b) details(b.closest("tr"));
  });
  document.querySelectorAll("#matrix th.sortable").forEach(function (th) {
    th.addEventListener("click", function () {
      var k = th.dataset.sort;
      if (sortKey === k) sortDir = -sortDir; else { sortKey = k; sortDir = (k === "target" || k === "name" || k === "status") ? 1 : -1; }
      document.querySelectorAll("#matrix th").forEach(function (x) { x.classList.remove("sorted-asc", "sorted-desc"); });
      th.classList.add(sortDir > 0 ? "sorted-asc" : "sorted-desc");
      page = 0; apply();
    });
  });
  document.getElementById("q").addEventListener("input", function () { page = 0; apply(); });
  document.getElementById("minsev").addEventListener("change", function () { page = 0; apply(); });
  document.querySelectorAll(".colfilter").forEach(function (c) { c.addEventListener("change", function () { page = 0; apply(); }); });
  document.getElementById("prev").addEventListener("click", function () { if (page > 0) { page--; apply(); } });
  document.getElementById("next").addEventListener("click", function () { page++; apply(); });
  apply();
  document.body.dataset.ready = "1";
})();
