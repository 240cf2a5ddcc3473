// Sortable tables: a button in each sortable header; aria-sort tells assistive technology the order.
// Only the first tbody (ranked rows) is sorted; reported rows stay below, unranked.
(function () {
  "use strict";

  function compare(a, b, numeric) {
    if (numeric) {
      return parseFloat(a) - parseFloat(b);
    }
    return a < b ? -1 : a > b ? 1 : 0;
  }

  function sortBy(table, th, status) {
    var headers = Array.prototype.slice.call(th.parentNode.children);
    var column = headers.indexOf(th);
    var numeric = th.classList.contains("num");
    var current = th.getAttribute("aria-sort");
    var direction;
    if (current === "ascending") {
      direction = "descending";
    } else if (current === "descending") {
      direction = "ascending";
    } else {
      direction = th.getAttribute("data-best") === "high" ? "descending" : "ascending";
    }
    headers.forEach(function (header) {
      if (header.querySelector("button")) {
        header.setAttribute("aria-sort", "none");
      }
    });
    th.setAttribute("aria-sort", direction);
    var body = table.tBodies[0];
    var rows = Array.prototype.slice.call(body.rows);
    rows.forEach(function (row, index) {
      if (!row.hasAttribute("data-order")) {
        row.setAttribute("data-order", String(index));
      }
    });
    var sign = direction === "ascending" ? 1 : -1;
    rows.sort(function (x, y) {
      var a = x.cells[column] ? x.cells[column].getAttribute("data-sort") || "" : "";
      var b = y.cells[column] ? y.cells[column].getAttribute("data-sort") || "" : "";
      if (a === "" || b === "") {
        return a === b ? 0 : a === "" ? 1 : -1;
      }
      return sign * compare(a, b, numeric) ||
        parseInt(x.getAttribute("data-order"), 10) - parseInt(y.getAttribute("data-order"), 10);
    });
    rows.forEach(function (row) {
      body.appendChild(row);
    });
    status.textContent = "Sorted by " + th.textContent.trim() + ", " + direction + ".";
  }

  Array.prototype.forEach.call(document.querySelectorAll("table.sortable"), function (table) {
    // announces the new order to screen readers; placed after the scrolling wrapper so it adds no scroll
    var status = document.createElement("p");
    status.className = "sort-status visually-hidden";
    status.setAttribute("aria-live", "polite");
    (table.closest(".table-wrap") || table).insertAdjacentElement("afterend", status);
    Array.prototype.forEach.call(table.querySelectorAll("thead th button"), function (button) {
      button.addEventListener("click", function () {
        sortBy(table, button.parentNode, status);
      });
    });
  });
})();
