// The supervisors' dashboard: figures, charts and tables drawn from the
// statistics API, with the filters kept in the page's address so a view can be
// shared, and a live panel that moves with the inbox's socket.
import { LiveSocket } from "../inbox/socket.js";

const root = document.getElementById("dashboard");
const form = root.querySelector("[data-testid=dashboard-filters]");
const Chart = window.Chart;
const charts = {};

function label(name) {
  return root.dataset[`label${name[0].toUpperCase()}${name.slice(1)}`] || name;
}

// --- Filters: the address is the state ----------------------------------------

function readFilters() {
  const params = new URLSearchParams(window.location.search);
  for (const field of form.elements) {
    if (field.name && params.has(field.name)) field.value = params.get(field.name);
  }
}

function writeFilters() {
  const params = new URLSearchParams();
  for (const field of form.elements) {
    if (field.name && field.value) params.set(field.name, field.value);
  }
  window.history.replaceState(null, "", `${window.location.pathname}?${params}`);
}

function query(extra = {}) {
  const days = Number(form.elements.days.value || 7);
  const until = new Date();
  const since = new Date(until.getTime() - days * 86_400_000);
  const params = new URLSearchParams({ since: since.toISOString(), until: until.toISOString() });
  for (const name of ["team", "operator", "hours"]) {
    const value = form.elements[name].value;
    if (value && !(name === "hours" && value === "all")) params.set(name, value);
  }
  for (const [key, value] of Object.entries(extra)) params.set(key, value);
  return params;
}

async function getJson(url, params) {
  const answer = await fetch(`${url}?${params}`, {
    credentials: "same-origin",
    headers: { Accept: "application/json" },
  });
  if (!answer.ok) throw new Error(`${url}: ${answer.status}`);
  return answer.json();
}

// --- Drawing ------------------------------------------------------------------

function duration(seconds) {
  if (seconds === null || seconds === undefined) return "–";
  if (seconds < 90) return `${Math.round(seconds)} s`;
  if (seconds < 5400) return `${Math.round(seconds / 60)} min`;
  return `${(seconds / 3600).toFixed(1)} h`;
}

function fill(figures) {
  for (const element of root.querySelectorAll("[data-figure]")) {
    const [group, name] = element.dataset.figure.split(".");
    const value = figures[group] ? figures[group][name] : undefined;
    element.textContent =
      element.dataset.kind === "duration" ? duration(value) : value === undefined ? "–" : String(value);
  }
}

function exportLinks() {
  const urls = {
    summary: [root.dataset.summaryUrl, {}],
    heatmap: [root.dataset.heatmapUrl, {}],
    distribution: [root.dataset.distributionUrl, {}],
    operator: [root.dataset.breakdownUrl, { by: "operator" }],
    day: [root.dataset.breakdownUrl, { by: "day" }],
    hour: [root.dataset.breakdownUrl, { by: "hour" }],
  };
  for (const link of root.querySelectorAll("a[data-export]")) {
    const [url, extra] = urls[link.dataset.export];
    link.href = `${url}?${query({ ...extra, format: "csv" })}`;
  }
}

function cell(text) {
  const td = document.createElement("td");
  td.textContent = text;
  return td;
}

function operatorsTable(rows) {
  const body = root.querySelector("[data-testid=operators-table] tbody");
  body.replaceChildren(
    ...rows
      .filter((row) => row.key !== null)
      .map((row) => {
        const tr = document.createElement("tr");
        tr.dataset.testid = "operator-row";
        tr.append(
          cell(row.label),
          cell(String(row.first_response.count + row.reply.count)),
          cell(duration(row.first_response.p50_s)),
          cell(duration(row.reply.p50_s)),
          cell(duration(row.resolution.p50_s)),
          cell(String(row.conversations.missed)),
          cell(duration(row.online_s)),
        );
        tr.lastChild.dataset.testid = "operator-online";
        return tr;
      }),
  );
}

function heatmap(data) {
  const table = root.querySelector("[data-testid=heatmap]");
  const head = document.createElement("tr");
  head.append(document.createElement("th"));
  for (let hour = 0; hour < 24; hour += 1) {
    const th = document.createElement("th");
    th.textContent = String(hour);
    head.append(th);
  }
  table.tHead.replaceChildren(head);
  const most = Math.max(1, ...data.rows.flat());
  const days = label("weekdays").split(",");
  table.tBodies[0].replaceChildren(
    ...data.rows.map((counts, day) => {
      const tr = document.createElement("tr");
      const th = document.createElement("th");
      th.textContent = days[day] || String(day);
      tr.append(th);
      for (const count of counts) {
        const td = cell(count ? String(count) : "");
        // Five shades by share of the busiest hour: classes, not inline styles.
        td.className = `heat-${count ? Math.min(5, 1 + Math.floor((4 * count) / most)) : 0}`;
        tr.append(td);
      }
      return tr;
    }),
  );
}

function draw(name, config) {
  if (!Chart) return;
  const canvas = root.querySelector(`[data-testid=${name}]`);
  if (charts[name]) {
    charts[name].data = config.data;
    charts[name].update("none");
    return;
  }
  charts[name] = new Chart(canvas, {
    ...config,
    options: { animation: false, responsive: true, maintainAspectRatio: false, ...config.options },
  });
}

function trend(rows) {
  const days = rows.filter((row) => row.key !== null);
  draw("trend-chart", {
    data: {
      labels: days.map((row) => row.label),
      datasets: [
        {
          type: "bar",
          label: label("new"),
          data: days.map((row) => row.conversations.new + row.conversations.reopened),
          yAxisID: "count",
          backgroundColor: "#93c5fd",
        },
        {
          type: "line",
          label: label("firstResponse"),
          data: days.map((row) =>
            row.first_response.p50_s === null ? null : Math.round(row.first_response.p50_s / 6) / 10,
          ),
          yAxisID: "minutes",
          borderColor: "#16a34a",
          backgroundColor: "#16a34a",
        },
      ],
    },
    options: {
      scales: {
        count: { position: "left", beginAtZero: true },
        minutes: { position: "right", beginAtZero: true, grid: { drawOnChartArea: false } },
      },
    },
  });
}

function histogram(bars) {
  const names = label("bars").split(",");
  const series = [
    ["firstResponseCount", "first_response", "#16a34a"],
    ["replies", "reply", "#60a5fa"],
    ["resolutions", "resolution", "#f59e0b"],
  ];
  draw("histogram-chart", {
    type: "bar",
    data: {
      labels: bars.map((_, i) => names[i] || String(bars[i].up_to_s)),
      datasets: series.map(([name, key, color]) => ({
        label: label(name),
        data: bars.map((bar) => bar[key]),
        backgroundColor: color,
      })),
    },
    options: { scales: { y: { beginAtZero: true, ticks: { precision: 0 } } } },
  });
  root.querySelector("[data-testid=histogram-chart]").dataset.total = String(
    bars.reduce((sum, bar) => sum + bar.first_response + bar.reply + bar.resolution, 0),
  );
}

function byHour(rows) {
  const hours = Array.from({ length: 24 }, (_, hour) => hour);
  const found = new Map(rows.map((row) => [row.key, row]));
  draw("hour-chart", {
    type: "bar",
    data: {
      labels: hours.map((hour) => `${String(hour).padStart(2, "0")}:00`),
      datasets: [
        {
          label: label("firstResponse"),
          data: hours.map((hour) => {
            const row = found.get(hour);
            return row && row.first_response.p50_s !== null
              ? Math.round(row.first_response.p50_s / 6) / 10
              : null;
          }),
          backgroundColor: "#60a5fa",
        },
      ],
    },
  });
}

// --- Loading --------------------------------------------------------------------

let loading = null;
let again = false;

async function load() {
  // One load at a time; events during it ask for one more afterwards.
  if (loading) {
    again = true;
    return loading;
  }
  loading = (async () => {
    try {
      const [summary, operators, days, hours, heat, distribution] = await Promise.all([
        getJson(root.dataset.summaryUrl, query()),
        getJson(root.dataset.breakdownUrl, query({ by: "operator" })),
        getJson(root.dataset.breakdownUrl, query({ by: "day" })),
        getJson(root.dataset.breakdownUrl, query({ by: "hour" })),
        getJson(root.dataset.heatmapUrl, query()),
        getJson(root.dataset.distributionUrl, query()),
      ]);
      fill(summary);
      operatorsTable(operators.rows);
      trend(days.rows);
      byHour(hours.rows);
      heatmap(heat);
      histogram(distribution.bars);
      exportLinks();
      root.dataset.loaded = String(Number(root.dataset.loaded || 0) + 1);
      loadAgents();
    } finally {
      loading = null;
      if (again) {
        again = false;
        load();
      }
    }
  })();
  return loading;
}

async function loadAgents() {
  const body = await getJson(root.dataset.agentsUrl, new URLSearchParams({ limit: 200 }));
  const agents = body.results || body;
  const online = agents.filter((agent) => agent.presence === "online");
  root.querySelector("[data-testid=operators-online]").textContent =
    `${online.length} (${online.reduce((sum, agent) => sum + (agent.active_chats || 0), 0)})`;
}

// --- Live ------------------------------------------------------------------------

function breachArrived(event) {
  const list = root.querySelector("[data-testid=breaches]");
  const selector = `[data-conversation="${Number(event.conversation_id)}"]`;
  for (const old of list.querySelectorAll(selector)) {
    if (old.dataset.level === "warning" || event.level === "warning") old.remove();
  }
  const item = document.createElement("li");
  item.dataset.testid = "breach";
  item.dataset.conversation = String(event.conversation_id);
  item.dataset.level = event.level;
  item.className = `breach-${event.level}`;
  const level = document.createElement("span");
  level.className = "breach-level";
  level.textContent = label(event.level === "breach" ? "breach" : "warning");
  item.append(
    level,
    ` ${label("conversation")} ${event.conversation_id} · ${label(event.kind)}`,
  );
  list.prepend(item);
}

let timer = null;

function soon() {
  clearTimeout(timer);
  timer = setTimeout(load, 500);
}

function connect() {
  const state = root.querySelector("[data-testid=connection-state]");
  const scheme = window.location.protocol === "https:" ? "wss" : "ws";
  const socket = new LiveSocket(
    `${scheme}://${window.location.host}${root.dataset.socketPath}`,
    {
      onOpen: () => load(),
      onEvent: (event) => {
        if (event.type === "sla.breached" || event.type === "sla.warning") {
          breachArrived(event);
          soon();
        } else if (event.type.startsWith("message.") || event.type.startsWith("conversation.")) {
          soon();
        }
      },
      onState: (value) => {
        state.dataset.state = value;
        state.textContent =
          state.dataset[`label${value[0].toUpperCase()}${value.slice(1)}`] || value;
      },
    },
    { pingEveryMs: Number(root.dataset.pingEveryMs) || undefined },
  );
  socket.start();
}

readFilters();
form.addEventListener("change", () => {
  writeFilters();
  load();
});
form.addEventListener("submit", (event) => event.preventDefault());
load();
connect();
