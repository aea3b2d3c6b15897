// The campaigns page (admins build and run campaigns, supervisors read them): the
// list, the form (template or A/B variants, consent category, an audience from a
// label, the inbox list's filters, a list of numbers or a CSV file, the
// variables), the preview before the start (who will get it, who will not and
// why, who waits for quiet hours, the cost by country), the actions, the
// progress and the funnel's counts (per variant for A/B), and the numbers'
// health. Kept live over the inbox's socket (the send jobs
// publish `campaign.progress` and `campaign.updated`, the health webhooks
// `number.health` to supervisors and admins); every (re)connect re-reads, and a
// running campaign is also re-read every few seconds.
import { ApiError } from "../inbox/api.js";
import { h, option, show } from "../inbox/dom.js";
import { format, gettext } from "../inbox/i18n.js";
import { LiveSocket } from "../inbox/socket.js";

const POLL_MS = 3000;
const root = document.getElementById("campaigns-page");
const canEdit = root.dataset.canEdit === "true";
const apiRoot = root.dataset.apiRoot;
const $ = (id) => document.querySelector(`[data-testid="${id}"]`);

const REASONS = {
  no_consent: gettext("no consent"),
  opted_out: gettext("opted out"),
  frequency_cap: gettext("frequency cap"),
  country_not_allowed: gettext("country not allowed"),
  invalid_number: gettext("invalid number"),
};
const STATUSES = {
  draft: gettext("draft"),
  scheduled: gettext("scheduled"),
  running: gettext("running"),
  paused: gettext("paused"),
  done: gettext("done"),
  cancelled: gettext("cancelled"),
};
const COUNTS = [
  "eligible", "queued", "sent", "delivered", "read", "replied",
  "failed", "excluded", "deferred", "opted_out_after",
];

let current = null;
let timer = null;

function csrfToken() {
  const meta = document.querySelector('meta[name="csrf-token"]');
  return meta ? meta.content : "";
}

async function api(method, path, body) {
  const init = { method, credentials: "same-origin", headers: { Accept: "application/json" } };
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.headers["X-CSRFToken"] = csrfToken();
    init.body = JSON.stringify(body);
  } else if (method !== "GET") {
    init.headers["X-CSRFToken"] = csrfToken();
  }
  let response;
  try {
    response = await fetch(apiRoot + path, init);
  } catch {
    throw new ApiError(0, { code: "network", detail: gettext("The server could not be reached.") });
  }
  const data = await response.json().catch(() => null);
  if (!response.ok) throw new ApiError(response.status, data);
  return data;
}

function showError(el, error) {
  el.textContent = error ? error.message : "";
  show(el, Boolean(error));
}

function openButton(campaign) {
  const button = h("button", { type: "button", class: "link-button", dataset: { testid: "campaign-open" } }, campaign.name);
  button.addEventListener("click", () => open(campaign.id));
  return button;
}

async function loadList() {
  try {
    const campaigns = await api("GET", "campaigns/");
    $("campaign-list").replaceChildren(
      ...campaigns.map((c) =>
        h("li", { dataset: { testid: "campaign-row", id: String(c.id) } },
          openButton(c),
          " ",
          h("span", { class: "muted", dataset: { testid: "campaign-row-status" } }, STATUSES[c.status] || c.status),
        ),
      ),
    );
    show($("campaign-list-empty"), campaigns.length === 0);
    showError($("campaigns-error"), null);
  } catch (error) {
    showError($("campaigns-error"), error);
  }
}

async function loadHealth() {
  try {
    const events = await api("GET", "number-health/");
    $("health-events").replaceChildren(
      ...events.map((e) =>
        h("li", { dataset: { testid: "health-event" } },
          `${new Date(e.at).toLocaleString()} — ${e.event || e.field}`,
          e.quality ? ` · ${gettext("quality")} ${e.quality}` : "",
          e.tier ? ` · ${gettext("tier")} ${e.tier}` : "",
          e.restriction ? ` · ${gettext("restriction")} ${e.restriction}` : "",
          e.paused ? ` · ${format(gettext("%(n)s campaigns paused"), { n: e.paused })}` : "",
        ),
      ),
    );
  } catch {
    /* the list above shows the API's errors */
  }
}

async function fillForm() {
  if (!canEdit) return;
  const [numbers, categories, templates, labels, teams] = await Promise.all([
    api("GET", "numbers/"),
    api("GET", "consent-categories/"),
    api("GET", "templates/?status=APPROVED"),
    api("GET", "labels/"),
    api("GET", "teams/"),
  ]);
  const rows = (x) => (Array.isArray(x) ? x : x.results || []);
  $("campaign-number").replaceChildren(...rows(numbers).map((n) => option(n.id, `${n.name} (${n.display_phone_number})`)));
  $("campaign-consent").replaceChildren(...rows(categories).map((c) => option(c.slug, c.name)));
  const approved = rows(templates);
  $("campaign-template").replaceChildren(...approved.map((t) => option(t.id, `${t.name} (${t.language}, ${t.category})`)));
  $("campaign-template-b").replaceChildren(option("", "—"), ...approved.map((t) => option(t.id, `${t.name} (${t.language})`)));
  $("campaign-label").replaceChildren(...rows(labels).map((l) => option(l.id, l.name)));
  $("campaign-filter-team").replaceChildren(option("", gettext("Any team")), ...rows(teams).map((t) => option(t.id, t.name)));
  $("campaign-filter-label").replaceChildren(option("", gettext("Any label")), ...rows(labels).map((l) => option(l.id, l.name)));
}

// The inbox list's filters the admin chose (those left at "any" are not sent).
function listFilter() {
  const chosen = {
    status: $("campaign-filter-status").value,
    team: $("campaign-filter-team").value,
    label: $("campaign-filter-label").value,
    search: $("campaign-filter-search").value.trim(),
  };
  return Object.fromEntries(Object.entries(chosen).filter(([, value]) => value !== ""));
}

async function create(event) {
  event.preventDefault();
  const audienceKind = document.querySelector('input[name="audience"]:checked').value;
  let audience;
  if (audienceKind === "label") {
    audience = { label: Number($("campaign-label").value) };
  } else if (audienceKind === "filter") {
    audience = { filter: listFilter() };
  } else if (audienceKind === "csv") {
    const [file] = $("campaign-csv").files;
    // The server reads the file's columns and says what is wrong with it.
    audience = { csv: file ? await file.text() : "" };
  } else {
    audience = { wa_ids: $("campaign-wa-ids").value.split(/\s+/).filter(Boolean) };
  }
  const first = Number($("campaign-template").value);
  const second = $("campaign-template-b").value;
  const shareA = Number($("campaign-share-a").value || 50);
  const variants = second
    ? [{ template: first, share: shareA }, { template: Number(second), share: 100 - shareA }]
    : [{ template: first, share: 100 }];
  const variables = $("campaign-variables").value.split(",").map((v) => v.trim()).filter(Boolean);
  try {
    const campaign = await api("POST", "campaigns/", {
      name: $("campaign-name").value,
      number: Number($("campaign-number").value),
      consent_category: $("campaign-consent").value,
      variants,
      audience,
      parameters: variables.length ? { body: variables } : {},
    });
    showError($("campaign-form-error"), null);
    await loadList();
    await open(campaign.id);
  } catch (error) {
    showError($("campaign-form-error"), error);
  }
}

function countsRow(label, counts) {
  return h("tr", { dataset: { testid: "counts-row" } },
    h("td", {}, label),
    ...COUNTS.map((key) => h("td", { dataset: { testid: `count-${key}` } }, String(counts[key] ?? 0))),
  );
}

function render(campaign) {
  current = campaign;
  show($("campaign-detail"), true);
  $("campaign-title").textContent = campaign.name;
  $("campaign-status").textContent = STATUSES[campaign.status] || campaign.status;
  $("campaign-status").dataset.status = campaign.status;
  $("campaign-paused-reason").textContent = campaign.paused_reason ? `(${campaign.paused_reason})` : "";
  const c = campaign.counts;
  const finished = c.sent + c.failed + c.excluded;
  const percent = campaign.status === "done" ? 100 : c.total ? Math.floor((100 * finished) / c.total) : 0;
  $("campaign-progress").value = percent;
  $("campaign-progress").dataset.percent = String(percent);
  $("campaign-progress-text").textContent = `${percent} %`;
  const rows = [countsRow(gettext("All"), c)];
  for (const v of campaign.variants) {
    if (v.counts) rows.push(countsRow(format(gettext("Variant %(label)s: %(name)s"), { label: v.label, name: v.template_name }), v.counts));
  }
  $("campaign-counts").replaceChildren(...rows);
  $("campaign-failed-reasons").replaceChildren(
    ...Object.entries(c.failed_by_reason || {}).map(([reason, n]) => h("li", {}, `${gettext("Failed")} (${reason}): ${n}`)),
  );
  if (canEdit) {
    show($("campaign-start"), campaign.status === "draft");
    show($("campaign-pause"), campaign.status === "running" || campaign.status === "scheduled");
    show($("campaign-resume"), campaign.status === "paused");
    show($("campaign-cancel"), !["done", "cancelled"].includes(campaign.status));
  }
}

function renderPreview(preview) {
  show($("campaign-preview"), true);
  $("preview-eligible").textContent = String(preview.eligible);
  $("preview-excluded").replaceChildren(
    ...Object.entries(preview.excluded).map(([reason, n]) =>
      h("li", { dataset: { testid: "preview-excluded-reason", reason } }, `${REASONS[reason] || reason}: ${n}`),
    ),
  );
  $("preview-deferred").textContent = String(preview.deferred.quiet_hours || 0);
  const cost = preview.cost_estimate;
  $("preview-cost").textContent = `${cost.total.toFixed(4)} ${cost.currency}`;
  $("preview-cost-by-country").replaceChildren(
    ...Object.entries(cost.by_country).map(([country, x]) =>
      h("li", { dataset: { testid: "preview-country", country } }, `${country}: ${x.toFixed(4)} ${cost.currency}`),
    ),
  );
}

async function refresh() {
  if (!current) return;
  try {
    render(await api("GET", `campaigns/${current.id}/`));
  } catch (error) {
    showError($("campaigns-error"), error);
  }
  clearTimeout(timer);
  if (current && ["running", "scheduled"].includes(current.status)) {
    timer = setTimeout(refresh, POLL_MS);
  } else {
    loadList();
  }
}

async function open(id) {
  clearTimeout(timer);
  const campaign = await api("GET", `campaigns/${id}/`);
  render(campaign);
  show($("campaign-preview"), false);
  if (campaign.status === "draft") renderPreview(await api("GET", `campaigns/${id}/preview/`));
  if (["running", "scheduled"].includes(campaign.status)) timer = setTimeout(refresh, POLL_MS);
}

async function act(action) {
  if (!current) return;
  try {
    render(await api("POST", `campaigns/${current.id}/${action}/`));
    showError($("campaign-action-error"), null);
    clearTimeout(timer);
    timer = setTimeout(refresh, POLL_MS);
    loadList();
  } catch (error) {
    showError($("campaign-action-error"), error);
  }
}

if (canEdit) {
  $("campaign-form").addEventListener("submit", create);
  for (const action of ["start", "pause", "resume", "cancel"]) {
    $(`campaign-${action}`).addEventListener("click", () => act(action));
  }
  fillForm().catch((error) => showError($("campaign-form-error"), error));
}
function setConnection(connection) {
  const el = $("connection-state");
  const key = `label${connection[0].toUpperCase()}${connection.slice(1)}`;
  el.dataset.state = connection;
  el.textContent = el.dataset[key] || connection;
}

const socket = new LiveSocket(
  `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}${root.dataset.socketPath}`,
  {
    // Every (re)connect re-reads: nothing published meanwhile is lost.
    onOpen: () => {
      loadList();
      loadHealth();
      if (current) refresh();
    },
    onEvent: (event) => {
      if (event.type === "number.health") {
        loadHealth();
        loadList();
      }
      if ((event.type === "campaign.progress" || event.type === "campaign.updated") && current && event.campaign === current.id) {
        clearTimeout(timer);
        refresh();
      } else if (event.type === "campaign.updated") {
        loadList();
      }
    },
    onState: setConnection,
  },
  { pingEveryMs: Number(root.dataset.pingEveryMs) || undefined },
);
socket.start();
