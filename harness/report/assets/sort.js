// Click a header to sort a table.sortable by that column (numbers by data-sort when present);
// a leaderboard's "Columns" checkboxes show or hide a metric's column. No network, works from file://.
document.querySelectorAll("table.sortable").forEach(function (table) {
  table.querySelectorAll("thead th").forEach(function (th, index) {
    th.addEventListener("click", function () {
      var body = table.tBodies[0];
      var rows = Array.prototype.slice.call(body.rows);
      var asc = !th.classList.contains("sorted-asc");
      table.querySelectorAll("th").forEach(function (h) { h.classList.remove("sorted-asc", "sorted-desc"); });
      th.classList.add(asc ? "sorted-asc" : "sorted-desc");
      function key(row) {
        var cell = row.cells[index];
        var raw = cell.getAttribute("data-sort");
        var text = raw !== null ? raw : cell.textContent.trim();
        var number = parseFloat(text);
        return isNaN(number) ? text : number;
      }
      rows.sort(function (a, b) {
        var ka = key(a), kb = key(b);
        if (ka === kb) return 0;
        return (ka > kb ? 1 : -1) * (asc ? 1 : -1);
      });
      rows.forEach(function (row) { body.appendChild(row); });
    });
  });
});
document.querySelectorAll(".board").forEach(function (board) {
  board.querySelectorAll("details.columns input[data-column]").forEach(function (box) {
    box.addEventListener("change", function () {
      var name = box.getAttribute("data-column");
      board.querySelectorAll("table.leaderboard [data-column]").forEach(function (cell) {
        if (cell.getAttribute("data-column") === name) cell.classList.toggle("hidden-column", !box.checked);
      });
    });
  });
});
// Printing shows every folded part (ranking details, per-phase boards, training curves).
window.addEventListener("beforeprint", function () {
  document.querySelectorAll("details").forEach(function (d) { d.open = true; });
});
