// The consent page (admins change it, supervisors read it): the consent categories
// with each one's wa.me opt-in link, its QR code and a website button to copy; the
// send rules for proactive messages (quiet hours, weekend days, the marketing cap,
// the countries); the CSV import of consents with its progress and its row-by-row
// report; and the compliance log, filtered and exported as CSV.
import { ApiError } from "./api.js";
import { h, show } from "./dom.js";
import { format, gettext, language } from "./i18n.js";

const IMPORT_POLL_MS = 400;
const LOG_LIMIT = 200;

const root = document.getElementById("consent-page");
const canEdit = root.dataset.canEdit === "true";
const apiRoot = root.dataset.apiRoot;
const byTestId = (id) => document.querySelector(`[data-testid="${id}"]`);

const ui = {
  categories: byTestId("category-list"),
  categoriesEmpty: byTestId("category-list-empty"),
  categoriesError: byTestId("categories-error"),
  categoryForm: byTestId("category-form"),
  categoryError: byTestId("category-form-error"),
  policyForm: byTestId("policy-form"),
  quietEnabled: byTestId("policy-quiet-enabled"),
  quietStart: byTestId("policy-quiet-start"),
  quietEnd: byTestId("policy-quiet-end"),
  weekend: byTestId("policy-weekend-days"),
  capEnabled: byTestId("policy-cap-enabled"),
  capMessages: byTestId("policy-cap-messages"),
  capDays: byTestId("policy-cap-days"),
  countriesEnabled: byTestId("policy-countries-enabled"),
  countries: byTestId("policy-countries"),
  policyError: byTestId("policy-error"),
  policySaved: byTestId("policy-saved"),
  importForm: byTestId("import-form"),
  importFile: byTestId("import-file"),
  importSubmit: byTestId("import-submit"),
  importError: byTestId("import-error"),
  progressBox: byTestId("import-progress-box"),
  progress: byTestId("import-progress"),
  progressText: byTestId("import-progress-text"),
  reportBox: byTestId("import-report-box"),
  summary: byTestId("import-summary"),
  quarantine: byTestId("import-quarantine"),
  quarantineEmpty: byTestId("import-quarantine-empty"),
  report: byTestId("import-report"),
  logFilters: byTestId("log-filters"),
  logReason: byTestId("log-filter-reason"),
  logPath: byTestId("log-filter-path"),
  logSince: byTestId("log-filter-since"),
  logExport: byTestId("log-export"),
  logError: byTestId("log-error"),
  logEntries: byTestId("log-entries"),
  logEmpty: byTestId("log-empty"),
};

// --- The API ------------------------------------------------------------------------

function csrfToken() {
  return document.querySelector('meta[name="csrf-token"]')?.content || "";
}

async function request(method, path, body) {
  const headers = { Accept: "application/json" };
  const init = { method, headers, credentials: "same-origin" };
  if (method !== "GET") headers["X-CSRFToken"] = csrfToken();
  if (body instanceof FormData) {
    init.body = body;
  } else if (body !== undefined) {
    headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(apiRoot + path, init);
  } catch {
    throw new ApiError(0, { code: "network", detail: gettext("The server could not be reached.") });
  }
  const data = await response.json().catch(() => null);
  if (response.status === 401) location.assign(root.dataset.loginUrl);
  if (!response.ok) throw new ApiError(response.status, data);
  return data;
}

const rows = (data) => (Array.isArray(data) ? data : (data?.results ?? []));

/** An error as one sentence, with a 400's fields. */
function errorText(error) {
  const fields = error.body?.fields;
  if (fields && typeof fields === "object") {
    const parts = Object.entries(fields).map(([field, problems]) => `${field}: ${[].concat(problems).join(" ")}`);
    if (parts.length) return parts.join("; ");
  }
  return error.message;
}

function say(el, text) {
  el.textContent = text || "";
  show(el, Boolean(text));
}

const when = (iso) => (iso ? new Date(iso).toLocaleString(language) : "");

// --- Consent categories --------------------------------------------------------------

const TEMPLATE_CATEGORY = {
  MARKETING: () => gettext("Marketing"),
  UTILITY: () => gettext("Utility"),
  AUTHENTICATION: () => gettext("Authentication"),
};

async function copy(text, button) {
  let done = false;
  try {
    await navigator.clipboard.writeText(text);
    done = true;
  } catch {
    done = false;
  }
  button.textContent = done ? gettext("Copied") : gettext("Select it and copy");
  button.dataset.copied = String(done);
}

/** An inline SVG made a document of its own (an image needs its namespace). */
function standalone(svg) {
  return svg.replace(/^<svg(?![^>]*\sxmlns=)/, '<svg xmlns="http://www.w3.org/2000/svg"');
}

function categoryItem(category) {
  const covers = (category.template_categories || [])
    .map((c) => (TEMPLATE_CATEGORY[c] ? TEMPLATE_CATEGORY[c]() : c))
    .join(", ");
  const head = h(
    "div",
    { class: "category-head" },
    h("strong", { dataset: { testid: "category-title" } }, category.name),
    h("code", {}, category.slug),
    h("span", { class: "category-covers" }, format(gettext("covers %(categories)s templates"), { categories: covers })),
  );
  const body = [head];
  const optIn = category.opt_in;
  if (optIn) {
    body.push(
      h("p", { class: "hint" }, format(gettext("Opt-in message: “%(text)s”"), { text: category.opt_in_text })),
      h(
        "a",
        { class: "category-link", href: optIn.link, target: "_blank", rel: "noopener", dataset: { testid: "category-link" } },
        optIn.link,
      ),
    );
    const snippet = h("textarea", {
      class: "category-snippet",
      readonly: true,
      rows: 3,
      "aria-label": gettext("Website button (HTML)"),
      dataset: { testid: "category-snippet" },
    });
    snippet.value = optIn.button_html;
    const copyButton = h("button", { type: "button", class: "secondary small", dataset: { testid: "category-snippet-copy" } }, gettext("Copy the button's HTML"));
    copyButton.addEventListener("click", () => {
      snippet.select();
      copy(optIn.button_html, copyButton);
    });
    body.push(
      h("label", { class: "hint" }, gettext("“Chat on WhatsApp” button for a website"), snippet),
      h("div", { class: "category-tools" }, copyButton),
    );
  } else {
    body.push(h("p", { class: "hint", dataset: { testid: "category-no-link" } }, gettext("No opt-in link: the category has no opt-in message, or the account no number.")));
  }
  const qr = optIn
    ? h("img", {
        class: "category-qr",
        alt: format(gettext("QR code of the opt-in link for %(name)s"), { name: category.name }),
        src: `data:image/svg+xml;charset=utf-8,${encodeURIComponent(standalone(optIn.qr_svg))}`,
        dataset: { testid: "category-qr" },
      })
    : null;
  return h(
    "li",
    { class: "category", dataset: { testid: "category", slug: category.slug } },
    h("div", {}, ...body),
    qr,
  );
}

async function loadCategories() {
  try {
    const categories = rows(await request("GET", "consent-categories/"));
    ui.categories.replaceChildren(...categories.map(categoryItem));
    show(ui.categoriesEmpty, categories.length === 0);
    say(ui.categoriesError, "");
  } catch (error) {
    say(ui.categoriesError, format(gettext("Could not load the categories: %(reason)s"), { reason: error.message }));
  }
}

async function createCategory(event) {
  event.preventDefault();
  const form = ui.categoryForm;
  const covers = [...form.querySelectorAll('input[name="template_categories"]:checked')].map((box) => box.value);
  if (!covers.length) {
    say(ui.categoryError, gettext("Tick the template categories it covers."));
    return;
  }
  const body = {
    name: form.elements.name.value.trim(),
    slug: form.elements.slug.value.trim(),
    template_categories: covers,
    opt_in_text: form.elements.opt_in_text.value.trim(),
  };
  try {
    await request("POST", "consent-categories/", body);
    say(ui.categoryError, "");
    form.reset();
    await loadCategories();
  } catch (error) {
    say(ui.categoryError, format(gettext("Not added: %(reason)s"), { reason: errorText(error) }));
  }
}

// --- The send rules ------------------------------------------------------------------

function weekendBoxes() {
  return [...ui.weekend.querySelectorAll('input[type="checkbox"]')];
}

function enableFields() {
  const quiet = ui.quietEnabled.checked;
  ui.quietStart.disabled = !quiet || !canEdit;
  ui.quietEnd.disabled = !quiet || !canEdit;
  for (const box of weekendBoxes()) box.disabled = !quiet || !canEdit;
  ui.capMessages.disabled = !ui.capEnabled.checked || !canEdit;
  ui.capDays.disabled = !ui.capEnabled.checked || !canEdit;
  ui.countries.disabled = !ui.countriesEnabled.checked || !canEdit;
  for (const box of [ui.quietEnabled, ui.capEnabled, ui.countriesEnabled]) box.disabled = !canEdit;
}

function fillPolicy(policy) {
  const quiet = policy.quiet_hours;
  ui.quietEnabled.checked = Boolean(quiet);
  ui.quietStart.value = quiet?.start || "21:00";
  ui.quietEnd.value = quiet?.end || "09:00";
  const weekend = new Set((quiet?.weekend_days ?? [5, 6]).map(String));
  for (const box of weekendBoxes()) box.checked = weekend.has(box.value);
  const cap = policy.frequency_cap;
  ui.capEnabled.checked = Boolean(cap);
  ui.capMessages.value = cap?.messages ?? 2;
  ui.capDays.value = cap?.days ?? 7;
  const countries = policy.allowed_countries;
  ui.countriesEnabled.checked = Array.isArray(countries);
  ui.countries.value = (countries || []).join(", ");
  enableFields();
}

async function loadPolicy() {
  try {
    fillPolicy(await request("GET", "compliance-policy/"));
    ui.policyForm.dataset.loaded = "true";
  } catch (error) {
    say(ui.policyError, format(gettext("Could not load the rules: %(reason)s"), { reason: error.message }));
  }
}

async function savePolicy(event) {
  event.preventDefault();
  if (!canEdit) return;
  show(ui.policySaved, false);
  const body = {
    quiet_hours: ui.quietEnabled.checked
      ? {
          start: ui.quietStart.value,
          end: ui.quietEnd.value,
          weekend_days: weekendBoxes().filter((box) => box.checked).map((box) => Number(box.value)),
        }
      : null,
    frequency_cap: ui.capEnabled.checked
      ? { messages: Number(ui.capMessages.value), days: Number(ui.capDays.value) }
      : null,
    allowed_countries: ui.countriesEnabled.checked
      ? ui.countries.value
          .split(/[\s,;]+/)
          .map((code) => code.trim().toUpperCase())
          .filter(Boolean)
      : null,
  };
  try {
    fillPolicy(await request("PUT", "compliance-policy/", body));
    say(ui.policyError, "");
    show(ui.policySaved, true);
  } catch (error) {
    say(ui.policyError, format(gettext("Not saved: %(reason)s"), { reason: errorText(error) }));
  }
}

// --- The import ----------------------------------------------------------------------

const OUTCOME = {
  imported: () => gettext("imported"),
  refused: () => gettext("refused"),
  quarantined: () => gettext("quarantined"),
};
const REASON = {
  "invalid number": () => gettext("invalid number"),
  "unknown category": () => gettext("unknown category"),
  "no proof of consent": () => gettext("no proof of consent"),
  "invalid state": () => gettext("invalid state"),
};
const reasonText = (reason) => (REASON[reason] ? REASON[reason]() : reason || "");

function showProgress(job) {
  show(ui.progressBox, true);
  ui.progress.max = Math.max(job.rows, 1);
  ui.progress.value = job.processed;
  ui.progressBox.dataset.status = job.status;
  ui.progressText.textContent = format(gettext("%(processed)s of %(rows)s rows"), {
    processed: job.processed,
    rows: job.rows,
  });
}

function reportRow(line, withOutcome) {
  return h(
    "tr",
    { class: `outcome-${line.outcome}`, dataset: { testid: "import-report-row", row: line.row, outcome: line.outcome } },
    h("td", {}, String(line.row)),
    h("td", {}, line.wa_id || ""),
    h("td", {}, line.category || ""),
    withOutcome ? h("td", {}, OUTCOME[line.outcome] ? OUTCOME[line.outcome]() : line.outcome) : null,
    h("td", {}, reasonText(line.reason)),
  );
}

function showReport(job) {
  show(ui.reportBox, true);
  ui.summary.dataset.imported = job.imported;
  ui.summary.dataset.refused = job.refused;
  ui.summary.dataset.quarantined = job.quarantined;
  ui.summary.textContent =
    job.status === "failed"
      ? format(gettext("The import failed: %(error)s"), { error: job.error })
      : format(gettext("%(imported)s imported, %(refused)s refused, %(quarantined)s quarantined for review."), {
          imported: job.imported,
          refused: job.refused,
          quarantined: job.quarantined,
        });
  const report = job.report || [];
  const quarantined = report.filter((line) => line.outcome === "quarantined");
  ui.quarantine.replaceChildren(...quarantined.map((line) => reportRow(line, false)));
  show(ui.quarantineEmpty, quarantined.length === 0);
  ui.report.replaceChildren(...report.map((line) => reportRow(line, true)));
}

async function follow(job) {
  showProgress(job);
  while (job.status === "queued" || job.status === "running") {
    await new Promise((resolve) => setTimeout(resolve, IMPORT_POLL_MS));
    job = await request("GET", `consent-imports/${job.id}/`);
    showProgress(job);
  }
  showReport(job);
}

async function runImport(event) {
  event.preventDefault();
  const file = ui.importFile.files[0];
  if (!file) {
    say(ui.importError, gettext("Choose a CSV file."));
    return;
  }
  const form = new FormData();
  form.append("file", file, file.name);
  ui.importSubmit.disabled = true;
  show(ui.reportBox, false);
  say(ui.importError, "");
  try {
    await follow(await request("POST", "consent-imports/", form));
  } catch (error) {
    say(ui.importError, format(gettext("Not imported: %(reason)s"), { reason: errorText(error) }));
  } finally {
    ui.importSubmit.disabled = false;
  }
}

// --- The compliance log --------------------------------------------------------------

const PATH = {
  composer: () => gettext("Composer"),
  api: () => gettext("API"),
  campaign: () => gettext("Campaign"),
  automatic: () => gettext("Automatic"),
};

function logQuery() {
  const search = new URLSearchParams();
  if (ui.logReason.value) search.set("reason", ui.logReason.value);
  if (ui.logPath.value) search.set("path", ui.logPath.value);
  if (ui.logSince.value) {
    const since = new Date(ui.logSince.value);
    if (!Number.isNaN(since.getTime())) search.set("since", since.toISOString());
  }
  return search;
}

let logLoads = 0;

async function loadLog() {
  const search = logQuery();
  const csv = new URLSearchParams(search);
  csv.set("format", "csv");
  ui.logExport.href = `${apiRoot}compliance-log/?${csv}`;
  search.set("limit", String(LOG_LIMIT));
  const load = ++logLoads;
  ui.logEntries.dataset.loaded = "false";
  try {
    const entries = rows(await request("GET", `compliance-log/?${search}`));
    if (load !== logLoads) return;
    ui.logEntries.replaceChildren(
      ...entries.map((entry) =>
        h(
          "tr",
          { dataset: { testid: "log-entry", reason: entry.reason, path: entry.path } },
          h("td", {}, when(entry.at)),
          h("td", {}, entry.wa_id ? `+${entry.wa_id}` : ""),
          h("td", {}, PATH[entry.path] ? PATH[entry.path]() : entry.path),
          h("td", { dataset: { testid: "log-reason" } }, entry.reason),
          h("td", {}, entry.template || ""),
          h("td", {}, entry.campaign || ""),
          h("td", {}, entry.detail || ""),
        ),
      ),
    );
    show(ui.logEmpty, entries.length === 0);
    say(ui.logError, "");
  } catch (error) {
    if (load !== logLoads) return;
    say(ui.logError, format(gettext("Could not load the log: %(reason)s"), { reason: errorText(error) }));
  }
  ui.logEntries.dataset.loaded = "true";
}

// --- Start ---------------------------------------------------------------------------

ui.categoryForm?.addEventListener("submit", createCategory);
ui.policyForm.addEventListener("submit", savePolicy);
ui.policyForm.addEventListener("change", () => {
  enableFields();
  show(ui.policySaved, false);
});
ui.importForm?.addEventListener("submit", runImport);
ui.logFilters.addEventListener("change", loadLog);
ui.logFilters.addEventListener("submit", (event) => event.preventDefault());

loadCategories();
loadPolicy();
loadLog();
