// The team view (dashboard/team.py): the users' rows from /team.json, read again every
// few seconds. Every value goes in as text (never as HTML).
"use strict";

const COLUMNS = ["user", "key", "budget", "requests_today", "cost_today", "saved_today",
  "requests", "failed", "tokens", "cost", "saved", "last_seen"];
const NUMERIC = new Set(COLUMNS.slice(2));

function render(users) {
  const body = document.querySelector("#team-table tbody");
  const rows = users.map((user) => {
    const tr = document.createElement("tr");
    tr.dataset.user = user.user;
    for (const key of COLUMNS) {
      const td = document.createElement(key === "user" ? "th" : "td");
      if (key === "user") td.scope = "row";
      if (NUMERIC.has(key)) td.className = "num";
      td.dataset.col = key;
      td.textContent = String(user[key]);
      tr.append(td);
    }
    return tr;
  });
  body.replaceChildren(...rows);
  document.getElementById("no-users").hidden = users.length > 0;
}

async function refresh() {
  const conn = document.getElementById("conn");
  const problem = document.getElementById("team-problem");
  try {
    const resp = await fetch("/team.json", { credentials: "same-origin", cache: "no-store" });
    const data = await resp.json();
    render(data.users || []);
    problem.hidden = !data.error;
    problem.textContent = data.error || "";
    conn.textContent = resp.ok ? "live" : "database unavailable";
  } catch (err) {
    conn.textContent = "disconnected";
  }
}

document.addEventListener("DOMContentLoaded", () => {
  const every = Number(document.getElementById("users").dataset.pollMs) || 5000;
  refresh();
  setInterval(refresh, every);
});
