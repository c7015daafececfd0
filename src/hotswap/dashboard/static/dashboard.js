/* hotswap dashboard: renders what the server pushes (server-sent events, /events) and posts
   the page's actions. No polling: the only timer updates the "Age" column from the clock.
   Every value from the server is put into the page as text, never as HTML. */
(() => {
  "use strict";

  const $ = (selector, root = document) => root.querySelector(selector);
  const LOG_MAX = 200;
  const LINE_COLOR = "#4e79a7";  // the cache plot's one line (backends' colours come from the server)
  const state = { backends: [], spend: null, log: [], sessions: [] };

  function el(tag, props = {}, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(props)) {
      if (key === "class") node.className = value;
      else if (key === "text") node.textContent = value;
      else if (key.startsWith("data-") || key.startsWith("aria-") || key === "title" || key === "scope") node.setAttribute(key, value);
      else node[key] = value;
    }
    for (const child of children) node.append(child);
    return node;
  }

  // -- formatting (times in the browser's own zone) ----------------------------------------
  // Money as hotswap/figures.py writes it (tests/unit/test_figures.py runs both on one table):
  // the server sends every figure of the tables as text; this one is for the plot's axis.
  function usd(v) {
    if (v === null || v === undefined) return "unknown";
    const sign = v < 0 ? "-" : "";
    const a = Math.abs(v);
    if (a === 0) return "$0.00";
    if (a < 0.0001) return sign + "<$0.0001";
    const rounded = Number(a.toPrecision(2));
    if (rounded >= 1) return sign + "$" + a.toLocaleString("en-US", { minimumFractionDigits: 2, maximumFractionDigits: 2 });
    const exponent = Math.floor(Math.log10(rounded));
    return sign + "$" + rounded.toFixed(Math.max(2, 1 - exponent));
  }
  function percent(rate) { return rate === null || rate === undefined ? "–" : Math.round(rate * 100) + "%"; }
  function age(seconds) {
    seconds = Math.max(0, Math.floor(seconds));
    if (seconds < 60) return seconds + "s";
    if (seconds < 3600) return Math.floor(seconds / 60) + "m";
    if (seconds < 86400) return Math.floor(seconds / 3600) + "h" + String(Math.floor(seconds % 3600 / 60)).padStart(2, "0") + "m";
    return Math.floor(seconds / 86400) + "d";
  }
  function clock(ts) {
    const d = new Date(ts * 1000);
    const time = d.toLocaleTimeString();
    if (d.toDateString() === new Date().toDateString()) return time;
    return d.toLocaleDateString(undefined, { month: "short", day: "numeric" }) + " " + time;
  }
  function when(ts) { return new Date(ts * 1000).toLocaleString(); }
  function dayTs(day) { return new Date(day + "T00:00:00").getTime() / 1000; }
  function shortDay(day) { return new Date(day + "T00:00:00").toLocaleDateString(undefined, { month: "short", day: "numeric" }); }

  // -- actions -----------------------------------------------------------------------------
  async function post(path, body) {
    const resp = await fetch(path, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(body),
      credentials: "same-origin",
    });
    let data = null;
    try { data = await resp.json(); } catch (e) { data = null; }
    if (!resp.ok || !data || !data.ok) {
      throw new Error((data && data.error) || "HTTP " + resp.status + " (reload the page from the URL the command printed)");
    }
    return data;
  }

  function say(text, bad = false) {
    const box = $("#action-message");
    box.textContent = text;
    box.classList.toggle("bad", bad);
  }

  async function run(button, action) {
    button.disabled = true;
    try { await action(); } catch (err) { say("Error: " + err.message, true); } finally { button.disabled = false; }
  }

  function switchSessions(session, backend, button) {
    return run(button, async () => {
      const data = await post("/api/switch", { session, backend });
      say(data.lines.join("\n"));
    });
  }

  $("#switch-all").addEventListener("submit", (event) => {
    event.preventDefault();
    switchSessions("*", $("#all-backend").value, $("#switch-all button"));
  });

  for (const button of document.querySelectorAll("button.check")) {
    button.addEventListener("click", () => run(button, async () => {
      const out = button.parentElement.querySelector(".check-result");
      out.textContent = "checking…";
      out.className = "check-result muted";
      try {
        const r = (await post("/api/check", { backend: button.dataset.backend })).result;
        const timing = r.ttfb_ms !== null ? ` · first byte ${Math.round(r.ttfb_ms)} ms` : "";
        out.textContent = r.result + (r.http_status ? " " + r.http_status : "") + timing + (r.detail ? " · " + r.detail : "");
        out.className = "check-result " + (r.result === "ok" ? "ok" : r.failed ? "bad" : "muted");
      } catch (err) {
        out.textContent = "Error: " + err.message;
        out.className = "check-result bad";
      }
    }));
  }

  // -- sessions ----------------------------------------------------------------------------
  const backendNames = [...$("#all-backend").options].map((o) => o.value);

  function actionCell(row) {
    const td = el("td", { class: "action" });
    if (!row.alive) {
      const button = el("button", { type: "button", text: "Remove", "aria-label": `Remove stale session ${row.id}` });
      button.addEventListener("click", () => run(button, async () => {
        await post("/api/remove", { session: row.id });
        say(`removed stale session ${row.id}`);
      }));
      td.append(button);
      return td;
    }
    const select = el("select", { "aria-label": `Backend for session ${row.id}` });
    for (const name of backendNames) select.append(el("option", { value: name, text: name }));
    select.value = row.backend_name;
    select.addEventListener("change", () => { select.dataset.touched = "1"; });
    const button = el("button", { type: "button", text: "Switch", "aria-label": `Switch session ${row.id}` });
    button.addEventListener("click", async () => {
      await switchSessions(row.id, select.value, button);
      delete select.dataset.touched;
    });
    td.append(el("div", { class: "picker" }, select, button));
    return td;
  }

  function sessionRow(row) {
    const tr = el("tr", { "data-id": row.id });
    tr.append(
      el("th", { scope: "row", class: "mono", text: row.id }),
      el("td", { class: "cwd mono" }),
      el("td", { class: "backend" }),
      el("td", { class: "requests num" }),
      el("td", { class: "cost num" }),
      el("td", { class: "note" }),
      el("td", { class: "breakers" }),
      el("td", { class: "age num" }),
    );
    return tr;
  }

  function fillSession(tr, row) {
    const cells = (name) => tr.querySelector("." + name);
    cells("cwd").textContent = row.cwd;
    cells("cwd").title = `port ${row.port}`;
    cells("backend").textContent = row.backend;
    cells("requests").textContent = row.requests;
    cells("cost").textContent = row.cost_today;
    cells("note").textContent = row.note;
    cells("breakers").textContent = row.breakers || "–";
    cells("breakers").className = "breakers " + (row.breaker === "open" ? "bad" : row.breaker === "half-open" ? "warn" : "");
    cells("age").dataset.started = row.started;
    tr.classList.toggle("stale", !row.alive);
    if (tr.dataset.alive !== String(row.alive)) {
      const old = tr.querySelector("td.action");
      if (old) old.remove();
      tr.append(actionCell(row));
      tr.dataset.alive = String(row.alive);
    }
    const select = tr.querySelector("select");
    if (select && document.activeElement !== select && !select.dataset.touched) select.value = row.backend_name;
  }

  function renderSessions(rows) {
    state.sessions = rows;
    const tbody = $("#sessions-table tbody");
    const existing = new Map([...tbody.rows].map((tr) => [tr.dataset.id, tr]));
    rows.forEach((row, i) => {
      let tr = existing.get(row.id);
      if (!tr) tr = sessionRow(row);
      fillSession(tr, row);
      if (tbody.rows[i] !== tr) tbody.insertBefore(tr, tbody.rows[i] || null);
      existing.delete(row.id);
    });
    for (const tr of existing.values()) tr.remove();
    $("#no-sessions").hidden = rows.length > 0;
    tickAges();
    refreshFilter("#filter-session", rows.map((r) => r.id));
  }

  function tickAges() {
    const now = Date.now() / 1000;
    for (const td of document.querySelectorAll("#sessions-table td.age")) {
      if (td.dataset.started) td.textContent = age(now - Number(td.dataset.started));
    }
  }
  setInterval(tickAges, 1000);

  // -- backends ----------------------------------------------------------------------------
  function renderBackends(rows) {
    for (const row of rows) {
      const tr = document.querySelector(`#backends-table tr[data-backend="${CSS.escape(row.name)}"]`);
      if (!tr) continue;
      const breaker = tr.querySelector(".breaker");
      breaker.textContent = row.breaker;
      breaker.className = "breaker " + (row.breaker.startsWith("open") ? "bad" : row.breaker === "closed" ? "" : "warn");
      const lacking = row.key_ok ? row.key_missing_in || [] : [];  // set here, not there
      tr.querySelector(".key-where").textContent = lacking.length
        ? `(not set where session ${lacking.join(", ")} runs)` : "";
      const last = tr.querySelector(".last-error");
      const e = row.last_error;
      last.textContent = e ? `${when(e.at)} · ${e.status || "no answer"} · ${e.reason || ""}` + (e.session ? ` (session ${e.session})` : "") : "none";
      last.className = "last-error " + (e ? "" : "muted");
    }
  }

  // -- the live log ------------------------------------------------------------------------
  function logRow(entry) {
    const statusClass = entry.outcome === "ok" ? "num" : "num bad";
    return el("tr", { "data-session": entry.session, "data-backend": entry.backend },
      el("td", { class: "nowrap", text: clock(entry.started), title: when(entry.started) }),
      el("td", { class: "mono", text: entry.session }),
      el("td", { text: entry.backend }),
      el("td", { class: "mono nowrap", text: entry.model }),
      el("td", { class: statusClass, text: String(entry.status) }),
      el("td", { class: "num", text: entry.tokens }),
      el("td", { class: "num", text: entry.cost }),
      el("td", { class: "num", text: entry.ttfb }),
      el("td", { class: "note", text: entry.note }),
    );
  }

  function addLog(message) {
    const tbody = $("#log-table tbody");
    if (message.reset) { tbody.replaceChildren(); state.log = []; }
    for (const entry of message.entries) {
      state.log.push(entry);
      const tr = logRow(entry);
      if (!message.reset) tr.classList.add("fresh");
      tbody.prepend(tr);
    }
    while (tbody.rows.length > LOG_MAX) tbody.deleteRow(tbody.rows.length - 1);
    state.log = state.log.slice(-LOG_MAX);
    $("#no-log").hidden = state.log.length > 0;
    refreshFilter("#filter-backend", state.log.map((e) => e.backend));
    refreshFilter("#filter-session", state.log.map((e) => e.session));
    applyFilters();
  }

  function refreshFilter(selector, values) {
    const select = $(selector);
    const have = new Set([...select.options].map((o) => o.value));
    for (const v of [...new Set(values)].sort()) {
      if (!have.has(v)) select.append(el("option", { value: v, text: v }));
    }
  }

  function applyFilters() {
    const session = $("#filter-session").value;
    const backend = $("#filter-backend").value;
    for (const tr of $("#log-table tbody").rows) {
      tr.hidden = (session && tr.dataset.session !== session) || (backend && tr.dataset.backend !== backend);
    }
  }
  $("#filter-session").addEventListener("change", applyFilters);
  $("#filter-backend").addEventListener("change", applyFilters);

  // -- spend: plots and their tables -------------------------------------------------------
  const plots = { cost: null, cache: null, key: "" };

  function css(name) { return getComputedStyle(document.documentElement).getPropertyValue(name).trim(); }

  function axes(format) {
    const stroke = css("--muted"), grid = css("--line");
    return [
      { stroke, grid: { stroke: grid, width: 1 }, ticks: { stroke: grid, width: 1 } },
      { stroke, grid: { stroke: grid, width: 1 }, ticks: { stroke: grid, width: 1 }, values: (u, vals) => vals.map(format), size: 60 },
    ];
  }

  function width(node) { return Math.max(280, node.clientWidth); }

  function costPlot(spend) {
    const node = $("#cost-plot");
    const names = spend.backends.map((b) => b.name);
    // Stacked bars: each series is the running sum up to its backend, drawn top-most first.
    const series = [{}];
    const raw = [null];
    const bars = uPlot.paths.bars({ size: [0.7, 48], gap: 2 });
    for (let i = names.length - 1; i >= 0; i--) {
      const color = spend.backends[i].color;
      series.push({ label: names[i], fill: color, stroke: color, paths: bars, points: { show: false },
        value: (u, v, si, idx) => (idx === null || idx === undefined ? "–" : raw[si][idx]) });
      raw.push(spend.backends[i].cost_text);
    }
    const savingsColor = css("--fg");
    series.push({ label: "saved vs Anthropic", stroke: savingsColor, width: 2, points: { show: true, size: 5, fill: savingsColor },
      value: (u, v, si, idx) => (idx === null || idx === undefined ? "–" : spend.savings_text[idx]) });
    const opts = {
      width: width(node), height: 240,
      scales: { x: { time: true, range: (u, min, max) => [min - 43200, max + 43200] },
        y: { range: (u, min, max) => [Math.min(0, min), Math.max(max * 1.1, 0.01)] } },
      axes: axes((v) => usd(v)),
      series,
      legend: { live: true },
    };
    return { opts, data: costData(spend) };
  }

  function costData(spend) {
    const xs = spend.days.map(dayTs);
    const data = [xs];
    const sums = spend.days.map(() => 0);
    const stacks = spend.backends.map((b) => b.cost.map((v, i) => (sums[i] += v)));
    for (let i = stacks.length - 1; i >= 0; i--) data.push(stacks[i]);
    data.push(spend.savings);
    return data;
  }

  function cachePlot(spend) {
    const node = $("#cache-plot");
    const color = LINE_COLOR;
    const opts = {
      width: width(node), height: 240,
      scales: { x: { time: true }, y: { range: [0, 100] } },
      axes: axes((v) => v + "%"),
      series: [{}, { label: "cache hit rate", stroke: color, width: 2, points: { show: true, size: 5, fill: color },
        value: (u, v) => (v === null || v === undefined ? "–" : Math.round(v) + "%") }],
    };
    return { opts, data: cacheData(spend) };
  }

  function cacheData(spend) {
    return [spend.days.map(dayTs), spend.hit_rate.map((r) => (r === null ? null : r * 100))];
  }

  function drawPlots(spend) {
    if (typeof uPlot === "undefined") return;
    const key = spend.backends.map((b) => b.name).join("|") + "|" + matchMedia("(prefers-color-scheme: dark)").matches;
    if (key !== plots.key || !plots.cost) {
      for (const name of ["cost", "cache"]) if (plots[name]) plots[name].destroy();
      const c = costPlot(spend), h = cachePlot(spend);
      plots.cost = new uPlot(c.opts, c.data, $("#cost-plot"));
      plots.cache = new uPlot(h.opts, h.data, $("#cache-plot"));
      plots.key = key;
    } else {
      plots.cost.setData(costData(spend));
      plots.cache.setData(cacheData(spend));
    }
    $("#cost-plot").dataset.days = String(spend.requests.filter((n) => n > 0).length);
  }

  function renderSpend(spend) {
    state.spend = spend;
    const s = spend.summary;
    $("#spend-summary").textContent = `${s.requests} requests · cost ${s.cost} · saved ${s.savings} against Anthropic · cache hit rate ${percent(s.hit_rate)}`;
    drawPlots(spend);
    const names = spend.backends.map((b) => b.name);
    const head = el("tr", {}, el("th", { scope: "col", text: "Day" }));
    for (const n of names) head.append(el("th", { scope: "col", class: "num", text: n }));
    head.append(el("th", { scope: "col", class: "num", text: "Total" }), el("th", { scope: "col", class: "num", text: "Saved" }));
    $("#cost-table thead").replaceChildren(head);
    const costRows = [], cacheRows = [];
    spend.days.forEach((day, i) => {
      if (!spend.requests[i]) return;
      const tr = el("tr", {}, el("th", { scope: "row", class: "nowrap", text: shortDay(day) }));
      for (const b of spend.backends) tr.append(el("td", { class: "num", text: b.cost_text[i] }));
      tr.append(el("td", { class: "num", text: spend.total_text[i] }), el("td", { class: "num", text: spend.savings_text[i] }));
      costRows.push(tr);
      cacheRows.push(el("tr", {},
        el("th", { scope: "row", class: "nowrap", text: shortDay(day) }),
        el("td", { class: "num", text: spend.prompt_text[i] }),
        el("td", { class: "num", text: spend.cache_read_text[i] }),
        el("td", { class: "num", text: percent(spend.hit_rate[i]) })));
    });
    $("#cost-table tbody").replaceChildren(...costRows.reverse());
    $("#cache-table tbody").replaceChildren(...cacheRows.reverse());
  }

  function resize() {
    for (const [name, id] of [["cost", "#cost-plot"], ["cache", "#cache-plot"]]) {
      if (plots[name]) plots[name].setSize({ width: width($(id)), height: 240 });
    }
  }
  if (window.ResizeObserver) new ResizeObserver(resize).observe($(".plots"));
  matchMedia("(prefers-color-scheme: dark)").addEventListener("change", () => { if (state.spend) { plots.key = ""; drawPlots(state.spend); } });

  // -- the feed ----------------------------------------------------------------------------
  const conn = $("#conn");
  const source = new EventSource("/events");
  source.onopen = () => { conn.textContent = "live"; conn.classList.add("live"); };
  source.onerror = () => { conn.textContent = "reconnecting…"; conn.classList.remove("live"); };
  const on = (name, handler) => source.addEventListener(name, (event) => handler(JSON.parse(event.data)));
  on("sessions", (m) => renderSessions(m.rows));
  on("backends", (m) => renderBackends(m.rows));
  on("spend", renderSpend);
  on("log", addLog);
  on("ledger", (m) => {
    const box = $("#ledger-problem");
    box.hidden = !m.problem;
    box.textContent = m.problem ? "The ledger cannot be read: " + m.problem : "";
  });
})();
