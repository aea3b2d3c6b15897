// The message templates page (supervisors read, admins write): the list with
// status, quality and usage, kept live over the page's socket; the editor, whose
// every change is checked as the admin types, each finding shown beside the
// field it concerns; and the template drawn as the customer's WhatsApp shows it.
import { ApiError } from "./api.js";
import { h, option, show } from "./dom.js";
import { format, gettext, pgettext } from "./i18n.js";
import { LiveSocket } from "./socket.js";
import {
  buttonsOf,
  component,
  exampleValues,
  templateBubble,
  variablesOf,
} from "./template-preview.js";

const CHECK_AFTER_MS = 400;
const LANGUAGES = ["en_US", "en_GB", "en", "ru", "it", "da", "es", "pt_BR", "de", "fr"];

const root = document.getElementById("templates-page");
const canEdit = root.dataset.canEdit === "true";
const apiRoot = root.dataset.apiRoot;
const byTestId = (id, scope = document) => scope.querySelector(`[data-testid="${id}"]`);

const ui = {
  connection: byTestId("connection-state"),
  list: byTestId("template-list"),
  listEmpty: byTestId("template-list-empty"),
  listError: byTestId("template-list-error"),
  filters: byTestId("template-filters"),
  filterLanguage: byTestId("template-filter-language"),
  newButton: byTestId("template-new"),
  pane: byTestId("template-editor-pane"),
  form: byTestId("template-editor"),
  title: byTestId("template-editor-title"),
  status: byTestId("template-editor-status"),
  rejection: byTestId("template-rejection"),
  general: byTestId("findings-general"),
  waba: byTestId("template-waba"),
  name: byTestId("template-name"),
  language: byTestId("template-language"),
  category: byTestId("template-category"),
  parameterFormat: byTestId("template-parameter-format"),
  headerFormat: byTestId("template-header-format"),
  headerText: byTestId("template-header-text"),
  headerMedia: byTestId("template-header-media"),
  body: byTestId("template-body"),
  footer: byTestId("template-footer"),
  buttons: byTestId("template-buttons"),
  buttonKind: byTestId("template-button-kind"),
  buttonAdd: byTestId("template-button-add"),
  teams: byTestId("template-teams"),
  error: byTestId("template-error"),
  saved: byTestId("template-saved"),
  save: byTestId("template-save"),
  submit: byTestId("template-submit"),
  remove: byTestId("template-delete"),
  historyBox: byTestId("template-history-box"),
  history: byTestId("template-history"),
  versions: byTestId("template-versions"),
  usage: byTestId("template-usage"),
  preview: byTestId("template-preview"),
};

// --- The API ------------------------------------------------------------------------

function csrfToken() {
  return document.querySelector('meta[name="csrf-token"]')?.content || "";
}

async function request(method, path, body) {
  const headers = { Accept: "application/json" };
  const init = { method, headers, credentials: "same-origin" };
  if (method !== "GET") headers["X-CSRFToken"] = csrfToken(); // a DELETE has no body
  if (body !== undefined) {
    headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(apiRoot + path, init);
  } catch {
    throw new ApiError(0, { code: "network", detail: gettext("The server could not be reached.") });
  }
  const data = response.status === 204 ? null : await response.json().catch(() => null);
  if (response.status === 401) location.assign(root.dataset.loginUrl);
  if (!response.ok) throw new ApiError(response.status, data);
  return data;
}

const rows = (data) => (Array.isArray(data) ? data : (data?.results ?? []));

/** A 400's field errors as one sentence. */
function errorText(error) {
  const body = error.body;
  if (body && !body.detail && typeof body === "object") {
    const parts = Object.entries(body.errors || body).map(
      ([field, problems]) => `${field}: ${[].concat(problems).join(" ")}`,
    );
    if (parts.length) return parts.join("; ");
  }
  return error.message;
}

// --- Words --------------------------------------------------------------------------

const STATUS = {
  DRAFT: () => pgettext("template status", "Draft"),
  SUBMITTING: () => pgettext("template status", "Submitting"),
  PENDING: () => pgettext("template status", "In review"),
  APPROVED: () => pgettext("template status", "Approved"),
  REJECTED: () => pgettext("template status", "Rejected"),
  PAUSED: () => pgettext("template status", "Paused"),
  DISABLED: () => pgettext("template status", "Disabled"),
  FLAGGED: () => pgettext("template status", "Flagged"),
  IN_APPEAL: () => pgettext("template status", "In appeal"),
  PENDING_DELETION: () => pgettext("template status", "Being deleted"),
  DELETED: () => pgettext("template status", "Deleted"),
  ARCHIVED: () => pgettext("template status", "Archived"),
  LIMIT_EXCEEDED: () => pgettext("template status", "Limit exceeded"),
};
const CATEGORY = {
  MARKETING: () => gettext("Marketing"),
  UTILITY: () => gettext("Utility"),
  AUTHENTICATION: () => gettext("Authentication"),
};
const QUALITY = {
  GREEN: () => pgettext("template quality", "High"),
  YELLOW: () => pgettext("template quality", "Medium"),
  RED: () => pgettext("template quality", "Low"),
  UNKNOWN: () => pgettext("template quality", "Not rated yet"),
};
const KIND = {
  status: () => gettext("Status"),
  quality: () => gettext("Quality"),
  category: () => gettext("Category"),
  components: () => gettext("Content"),
};
const word = (table, value) => (table[value] ? table[value]() : value || "");

function statusChip(template) {
  const chip = h(
    "span",
    { class: `tpl-status tpl-status-${String(template.status).toLowerCase()}`, dataset: { testid: "template-status", status: template.status } },
    word(STATUS, template.status),
  );
  return chip;
}

function usageText(usage) {
  if (!usage) return "";
  return format(
    gettext("%(sent)s sent · %(delivered)s delivered · %(read)s read · %(answered)s answered · %(failed)s failed"),
    usage,
  );
}

const when = (iso) => (iso ? new Date(iso).toLocaleString(document.documentElement.lang || undefined) : "");

// --- The list -----------------------------------------------------------------------

const templates = new Map(); // id -> template as the API shapes it
const gone = new Set(); // drafts deleted from this page (gone at once, with no frame)
let openId = null; // the template in the editor (null: a new one, or none)

function filters() {
  const data = new FormData(ui.filters);
  return { status: data.get("status"), language: data.get("language"), category: data.get("category") };
}

function matches(template) {
  const f = filters();
  return (
    (!f.status || template.status === f.status) &&
    (!f.language || template.language === f.language) &&
    (!f.category || template.category === f.category)
  );
}

/** Why the template is where it is: WhatsApp's rejection reason, or the reason
 * its latest change to this status gave (a pause's title, a disable's date). */
function statusReason(template) {
  if (template.status === "REJECTED" && template.rejected_reason) return template.rejected_reason;
  if (!["REJECTED", "PAUSED", "DISABLED", "FLAGGED"].includes(template.status)) return "";
  const change = (template.history || [])
    .filter((c) => c.kind === "status" && c.new === template.status)
    .at(-1);
  return change?.reason || "";
}

function renderRow(template) {
  const reason = statusReason(template);
  const row = h(
    "tr",
    { class: "tpl-row", dataset: { testid: "template-row", id: template.id, name: template.name } },
    h(
      "td",
      {},
      h("button", { type: "button", class: "tpl-name link-like", dataset: { testid: "template-open" } }, template.name),
    ),
    h("td", { dataset: { testid: "template-language-cell" } }, template.language),
    h("td", { dataset: { testid: "template-category-cell" } }, word(CATEGORY, template.category)),
    h(
      "td",
      {},
      statusChip(template),
      reason ? h("span", { class: "tpl-reason", dataset: { testid: "template-reason" } }, reason) : null,
    ),
    h(
      "td",
      { dataset: { testid: "template-quality", quality: template.quality } },
      h("span", { class: `quality-dot quality-${String(template.quality).toLowerCase()}`, "aria-hidden": "true" }),
      word(QUALITY, template.quality),
    ),
    h("td", { class: "tpl-usage", dataset: { testid: "template-usage-cell" } }, usageText(template.usage)),
  );
  if (template.id === openId) row.setAttribute("aria-current", "true");
  return row;
}

function renderList() {
  const shown = [...templates.values()]
    .filter(matches)
    .sort((a, b) => a.name.localeCompare(b.name) || a.language.localeCompare(b.language));
  ui.list.replaceChildren(...shown.map(renderRow));
  show(ui.listEmpty, shown.length === 0);
  ui.listEmpty.textContent = ui.listEmpty.dataset[templates.size ? "filtered" : "none"];
  const languages = new Set([...templates.values()].map((t) => t.language));
  const chosen = ui.filterLanguage.value;
  ui.filterLanguage.replaceChildren(
    ui.filterLanguage.options[0],
    ...[...languages].sort().map((code) => option(code, code)),
  );
  ui.filterLanguage.value = chosen;
}

// When a live frame last told of each template (performance.now()): a list asked
// for before that frame may have been read before its change, and loses to it.
const liveAt = new Map();
const changedSince = (id, askedAt) => (liveAt.get(id) ?? -1) > askedAt;

async function loadList() {
  try {
    const askedAt = performance.now();
    const list = rows(await request("GET", "templates/"));
    const fresh = new Map();
    for (const template of list) {
      const live = changedSince(template.id, askedAt) && templates.get(template.id);
      fresh.set(template.id, live ? { ...live, usage: template.usage } : template);
    }
    for (const [id, template] of templates) {
      if (!fresh.has(id) && changedSince(id, askedAt)) fresh.set(id, template);
    }
    templates.clear();
    for (const [id, template] of fresh) templates.set(id, template);
    show(ui.listError, false);
    renderList();
    if (openId !== null && templates.has(openId) && !dirty) fillEditor(templates.get(openId));
  } catch (error) {
    ui.listError.textContent = format(gettext("Could not load the templates: %(reason)s"), { reason: error.message });
    show(ui.listError, true);
  }
}

ui.filters.addEventListener("change", renderList);
ui.list.addEventListener("click", (event) => {
  const row = event.target.closest("[data-testid=template-row]");
  if (row) openTemplate(Number(row.dataset.id));
});

/** A template changed (live): its row and, if it is open, the editor's status. */
function templateChanged(template) {
  if (gone.has(template.id)) return; // a frame sent before its deletion, arriving late
  liveAt.set(template.id, performance.now());
  const known = templates.get(template.id);
  templates.set(template.id, { usage: known?.usage, ...template });
  renderList();
  if (template.id === openId) {
    const current = templates.get(template.id);
    if (dirty) renderStatus(current);
    else fillEditor(current);
  }
}

// --- The editor: reading and writing the form ----------------------------------------

let dirty = false; // the admin changed something not saved yet
const examples = { header: {}, body: {} }; // variable -> example value, as typed
let buttons = []; // [{type, text, url, phone_number, example}]

function setOptions(select, values, labels = {}) {
  const chosen = select.value;
  select.replaceChildren(...values.map((v) => option(v, labels[v] || v)));
  if (values.includes(chosen)) select.value = chosen;
}

function ensureOption(select, value) {
  if (value && ![...select.options].some((o) => o.value === value)) select.append(option(value, value));
  select.value = value;
}

function named() {
  return ui.parameterFormat.value === "NAMED";
}

function textExample(part, text) {
  const keys = variablesOf(text);
  if (!keys.length) return null;
  if (named()) {
    return {
      [`${part}_text_named_params`]: keys.map((key) => ({ param_name: key, example: examples[part][key] || "" })),
    };
  }
  const values = keys.map((key) => examples[part][key] || "");
  return part === "header" ? { header_text: values } : { body_text: [values] };
}

function components() {
  const parts = [];
  const headerFormat = ui.headerFormat.value;
  if (headerFormat === "TEXT") {
    const header = { type: "HEADER", format: "TEXT", text: ui.headerText.value };
    const example = textExample("header", ui.headerText.value);
    if (example) header.example = example;
    parts.push(header);
  } else if (headerFormat) {
    const header = { type: "HEADER", format: headerFormat };
    if (headerFormat !== "LOCATION" && ui.headerMedia.value.trim()) {
      header.example = { header_handle: [ui.headerMedia.value.trim()] };
    }
    parts.push(header);
  }
  const body = { type: "BODY", text: ui.body.value };
  const example = textExample("body", ui.body.value);
  if (example) body.example = example;
  parts.push(body);
  if (ui.footer.value.trim()) parts.push({ type: "FOOTER", text: ui.footer.value });
  if (buttons.length) {
    parts.push({
      type: "BUTTONS",
      buttons: buttons.map((b) => {
        const button = { type: b.type };
        if (b.type !== "COPY_CODE") button.text = b.text || "";
        if (b.type === "URL") {
          button.url = b.url || "";
          if (variablesOf(b.url).length) button.example = [b.example || ""];
        }
        if (b.type === "PHONE_NUMBER") button.phone_number = b.phone_number || "";
        if (b.type === "COPY_CODE") button.example = b.example || "";
        return button;
      }),
    });
  }
  return parts;
}

function teamIds() {
  return [...ui.teams.querySelectorAll("input:checked")].map((box) => Number(box.value));
}

function formValues() {
  return {
    waba_id: ui.waba.value,
    name: ui.name.value.trim(),
    language: ui.language.value,
    category: ui.category.value,
    parameter_format: ui.parameterFormat.value,
    components: components(),
    allowed_teams: teamIds(),
  };
}

function renderExamples(part, text) {
  const box = ui.form.querySelector(`[data-examples="${part}"]`);
  const keys = variablesOf(text);
  const current = [...box.querySelectorAll("input")].map((input) => input.dataset.key);
  if (current.join("\u0000") === keys.join("\u0000")) return; // keep the focus where it is
  box.replaceChildren(
    ...keys.map((key) =>
      h(
        "label",
        { class: "example" },
        h("span", { class: "example-key" }, `{{${key}}}`),
        h("input", {
          value: examples[part][key] || "",
          dataset: { key, testid: `example-${part}-${key}` },
          "aria-label": format(gettext("Example value of {{%(key)s}}"), { key }),
          placeholder: gettext("Example value"),
          disabled: !canEdit,
        }),
      ),
    ),
  );
  for (const input of box.querySelectorAll("input")) {
    input.addEventListener("input", () => {
      examples[part][input.dataset.key] = input.value;
      changed();
    });
  }
}

const BUTTON_KINDS = {
  QUICK_REPLY: () => gettext("Quick reply"),
  URL: () => gettext("Link"),
  PHONE_NUMBER: () => gettext("Call a phone number"),
  COPY_CODE: () => gettext("Copy code"),
};

function buttonField(b, key, label, attrs = {}) {
  const input = h("input", {
    value: b[key] || "",
    "aria-label": label,
    placeholder: label,
    disabled: !canEdit,
    dataset: { testid: `button-${key.replace("_", "-")}` },
    ...attrs,
  });
  input.addEventListener("input", () => {
    b[key] = input.value;
    if (key === "url") renderButtons(); // the example appears with a variable
    changed();
  });
  return input;
}

function renderButtons() {
  const focused = document.activeElement;
  const focusAt = ui.buttons.contains(focused)
    ? [focused.closest("li")?.dataset.index, focused.dataset.testid]
    : null;
  ui.buttons.replaceChildren(
    ...buttons.map((b, index) => {
      const fields = [h("span", { class: "button-kind" }, word(BUTTON_KINDS, b.type))];
      if (b.type !== "COPY_CODE") fields.push(buttonField(b, "text", gettext("Button text"), { maxlength: 25 }));
      if (b.type === "URL") {
        fields.push(buttonField(b, "url", gettext("https://example.com/orders/{{1}}")));
        if (variablesOf(b.url).length) fields.push(buttonField(b, "example", gettext("Example of the address's variable")));
      }
      if (b.type === "PHONE_NUMBER") fields.push(buttonField(b, "phone_number", gettext("Phone number, +country code")));
      if (b.type === "COPY_CODE") fields.push(buttonField(b, "example", gettext("Example code"), { maxlength: 15 }));
      const remove = h("button", { type: "button", class: "text-button", disabled: !canEdit }, gettext("Remove"));
      remove.addEventListener("click", () => {
        buttons.splice(index, 1);
        renderButtons();
        changed();
      });
      return h(
        "li",
        { class: "tpl-button", dataset: { index, testid: "template-button" } },
        ...fields,
        remove,
        h("ul", { class: "findings", dataset: { findings: `buttons[${index}]` } }),
      );
    }),
  );
  if (focusAt) {
    ui.buttons
      .querySelector(`li[data-index="${focusAt[0]}"] [data-testid="${focusAt[1]}"]`)
      ?.focus();
  }
}

function renderHeaderInputs() {
  const f = ui.headerFormat.value;
  show(ui.headerText, f === "TEXT");
  show(ui.headerMedia, Boolean(f) && f !== "TEXT" && f !== "LOCATION");
  renderExamples("header", f === "TEXT" ? ui.headerText.value : "");
}

function renderPreview() {
  const parts = components();
  const values = exampleValues(parts, ui.parameterFormat.value);
  ui.preview.replaceChildren(templateBubble(parts, values));
}

const ON_THE_PLATFORM = ["APPROVED", "PAUSED", "REJECTED"];
const BUSY = ["SUBMITTING", "PENDING"];
const FINAL = ["DELETED", "PENDING_DELETION"];

/** What the admin may do with the template as it stands: a draft is saved and
 * submitted; an edit of one WhatsApp knows is submitted as it is saved; nothing
 * changes while WhatsApp reviews it or once it is deleted. */
function updateActions(template) {
  if (!canEdit) return;
  const status = template?.status || "DRAFT";
  const editSubmits = Boolean(template?.platform_id) && ON_THE_PLATFORM.includes(status);
  const frozen = BUSY.includes(status) || FINAL.includes(status);
  ui.save.textContent = ui.save.dataset[editSubmits ? "labelEdit" : "labelDraft"];
  show(ui.submit, !editSubmits);
  ui.save.dataset.frozen = String(frozen);
  ui.submit.dataset.frozen = String(frozen);
  ui.save.disabled = frozen;
  ui.submit.disabled = frozen;
  show(ui.remove, Boolean(template) && !FINAL.includes(status));
}

function renderStatus(template) {
  updateActions(template);
  if (!template) {
    ui.status.replaceChildren();
    show(ui.rejection, false);
    return;
  }
  ui.status.replaceChildren(statusChip(template));
  let notice = "";
  if (template.status === "REJECTED") {
    notice = format(gettext("WhatsApp rejected it: %(reason)s"), { reason: template.rejected_reason || "—" });
  } else if (template.error) {
    notice = format(gettext("WhatsApp refused it: %(reason)s"), {
      reason: [template.error.title, template.error.details].filter(Boolean).join(" — "),
    });
  }
  ui.rejection.textContent = notice;
  show(ui.rejection, Boolean(notice));
  ui.usage.textContent = usageText(template.usage);
  ui.history.replaceChildren(
    ...(template.history || []).map((change) =>
      h(
        "li",
        { dataset: { testid: "history-item" } },
        h("time", {}, when(change.at)),
        " ",
        `${word(KIND, change.kind)}: ${change.old || "—"} → ${change.new}`,
        change.reason ? ` (${change.reason})` : "",
        change.actor ? ` · ${change.actor.name || change.actor.username || ""}` : "",
      ),
    ),
  );
  ui.versions.replaceChildren(
    ...(template.versions || []).map((version) =>
      h(
        "li",
        { dataset: { testid: "version-item" } },
        h("p", {}, format(gettext("Version %(number)s, submitted %(when)s"), {
          number: version.number,
          when: when(version.submitted_at),
        })),
        templateBubble(version.components, exampleValues(version.components, version.parameter_format)),
      ),
    ),
  );
  show(ui.historyBox, true);
}

function fillEditor(template) {
  const parts = template?.components || [];
  const header = component(parts, "HEADER");
  const body = component(parts, "BODY");
  const footer = component(parts, "FOOTER");
  ensureOption(ui.waba, template?.waba_id || ui.waba.options[0]?.value || "");
  ui.name.value = template?.name || "";
  ensureOption(ui.language, template?.language || "en_US");
  ui.category.value = template?.category || "UTILITY";
  ui.parameterFormat.value = template?.parameter_format || "POSITIONAL";
  ui.headerFormat.value = header ? String(header.format || "TEXT").toUpperCase() : "";
  ui.headerText.value = header?.text || "";
  ui.headerMedia.value = header?.example?.header_handle?.[0] || "";
  ui.body.value = body?.text || "";
  ui.footer.value = footer?.text || "";
  const values = exampleValues(parts, template?.parameter_format);
  examples.header = { ...values.header };
  examples.body = { ...values.body };
  buttons = buttonsOf(parts).map((b) => ({
    type: String(b.type).toUpperCase(),
    text: b.text || "",
    url: b.url || "",
    phone_number: b.phone_number || "",
    example: [].concat(b.example ?? "")[0] || "",
  }));
  for (const box of ui.teams.querySelectorAll("input")) {
    box.checked = (template?.allowed_teams || []).includes(Number(box.value));
  }
  // Name, language and account are the template's identity once it exists.
  const existing = Boolean(template);
  ui.name.disabled = existing || !canEdit;
  ui.language.disabled = existing || !canEdit;
  ui.waba.disabled = existing || !canEdit;
  ui.title.textContent = template ? template.name : ui.title.dataset.new;
  // A live refresh of the same template keeps a delete the admin is confirming.
  if (ui.remove && ui.form.dataset.filled !== String(template?.id ?? "new")) resetDelete();
  ui.form.dataset.filled = String(template?.id ?? "new");
  renderHeaderInputs();
  renderExamples("body", ui.body.value);
  renderButtons();
  renderStatus(template);
  if (!template) show(ui.historyBox, false);
  renderPreview();
  dirty = false;
}

function openTemplate(id) {
  openId = id;
  show(ui.pane, true);
  showError("");
  showSaved("");
  fillEditor(id === null ? null : templates.get(id));
  renderList();
  if (canEdit) scheduleCheck(0);
  else renderFindings([]);
  history.replaceState(null, "", id === null ? "#new" : `#t${id}`);
}

ui.newButton?.addEventListener("click", () => {
  openTemplate(null);
  ui.name.focus();
});

// --- Checking as the admin types ------------------------------------------------------

let checkTimer = null;
let checks = 0;

function findingItem(finding) {
  return h(
    "li",
    {
      class: `finding finding-${finding.severity}`,
      dataset: { testid: "finding", code: finding.code, severity: finding.severity, field: finding.field },
    },
    h("span", { class: "finding-severity" }, finding.severity === "error" ? gettext("Error") : gettext("Warning")),
    " ",
    h("code", { class: "finding-code" }, finding.code),
    " ",
    h("span", { class: "finding-message" }, finding.message),
  );
}

/** Where a finding shows: the list beside its field (a button's own, or the part's). */
function findingsListFor(field) {
  const button = /^buttons\[(\d+)\]/.exec(field);
  if (button) {
    const own = ui.buttons.querySelector(`[data-findings="buttons[${button[1]}]"]`);
    if (own) return own;
  }
  const head = field.split(/[.[]/, 1)[0];
  return ui.form.querySelector(`[data-findings="${head}"]`) || ui.general;
}

function renderFindings(findings) {
  for (const list of ui.form.querySelectorAll(".findings")) list.replaceChildren();
  for (const field of ui.form.querySelectorAll("[data-field]")) field.classList.remove("has-error", "has-warning");
  for (const finding of findings) {
    const list = findingsListFor(finding.field);
    list.append(findingItem(finding));
    list.closest("[data-field]")?.classList.add(finding.severity === "error" ? "has-error" : "has-warning");
  }
  ui.form.dataset.checked = String(checks);
  if (ui.submit) ui.submit.title = findings.some((f) => f.severity === "error")
    ? gettext("Fix the errors first: WhatsApp would reject it.")
    : "";
}

async function runCheck() {
  const asked = ++checks;
  ui.form.dataset.checking = "true";
  try {
    const answer = await request("POST", "templates/check/", formValues());
    if (asked === checks) renderFindings(answer.findings || []);
  } catch (error) {
    // An incomplete form (no name yet) says nothing; the save says what is missing.
    if (asked === checks && error.status !== 400) showError(error.message);
  } finally {
    if (asked === checks) delete ui.form.dataset.checking;
  }
}

function scheduleCheck(delay = CHECK_AFTER_MS) {
  clearTimeout(checkTimer);
  checkTimer = setTimeout(runCheck, delay);
}

function changed() {
  dirty = true;
  showSaved("");
  renderPreview();
  if (canEdit) scheduleCheck();
}

ui.form.addEventListener("input", (event) => {
  if (event.target === ui.body) renderExamples("body", ui.body.value);
  if (event.target === ui.headerText) renderExamples("header", ui.headerText.value);
  if (event.target.closest(".examples, .tpl-buttons")) return; // they tell changed() themselves
  changed();
});
ui.form.addEventListener("change", (event) => {
  if (event.target === ui.headerFormat) renderHeaderInputs();
  if (event.target === ui.parameterFormat) {
    renderExamples("body", ui.body.value);
    renderHeaderInputs();
  }
  if (event.target.matches("select, input[type=checkbox]")) changed();
});

ui.buttonAdd?.addEventListener("click", () => {
  buttons.push({ type: ui.buttonKind.value, text: "", url: "", phone_number: "", example: "" });
  renderButtons();
  ui.buttons.lastElementChild?.querySelector("input")?.focus();
  changed();
});

// --- Saving, submitting, deleting -------------------------------------------------------

function showError(text) {
  ui.error.textContent = text || "";
  show(ui.error, Boolean(text));
}

function showSaved(text) {
  ui.saved.textContent = text || "";
  show(ui.saved, Boolean(text));
}

function busy(on) {
  for (const button of [ui.save, ui.submit, ui.remove]) {
    if (button) button.disabled = on || button.dataset.frozen === "true";
  }
}

async function save() {
  const values = formValues();
  let template;
  if (openId === null) {
    template = await request("POST", "templates/", values);
  } else {
    const { waba_id, name, language, ...change } = values;
    template = await request("PATCH", `templates/${openId}/`, change);
  }
  const known = templates.get(template.id);
  templates.set(template.id, { usage: known?.usage, ...template });
  openId = template.id;
  history.replaceState(null, "", `#t${openId}`);
  fillEditor(templates.get(openId));
  renderList();
  return template;
}

async function act(work) {
  showError("");
  showSaved("");
  busy(true);
  try {
    await work();
  } catch (error) {
    if (error.status === 422 && error.body?.findings) {
      renderFindings(error.body.findings);
      showError(gettext("WhatsApp would reject it: fix the errors shown beside the fields."));
    } else {
      showError(errorText(error));
    }
  } finally {
    busy(false);
  }
}

ui.form.addEventListener("submit", (event) => {
  event.preventDefault();
  if (!canEdit) return;
  act(async () => {
    const saved = await save();
    showSaved(
      BUSY.includes(saved.status)
        ? gettext("Saved and submitted: WhatsApp reviews the edit.")
        : gettext("Draft saved."),
    );
  });
});

ui.submit?.addEventListener("click", () =>
  act(async () => {
    if (dirty || openId === null) {
      const saved = await save();
      if (!["DRAFT", "REJECTED"].includes(saved.status)) {
        // An edit of a template WhatsApp knows went to review as it was saved.
        showSaved(gettext("Submitted: WhatsApp reviews it, the status changes here when it decides."));
        return;
      }
    }
    const template = await request("POST", `templates/${openId}/submit/`, {});
    templateChanged(template);
    showSaved(gettext("Submitted: WhatsApp reviews it, the status changes here when it decides."));
  }),
);

let deleteArmed = false;

function resetDelete() {
  deleteArmed = false;
  ui.remove.textContent = gettext("Delete");
  ui.remove.classList.remove("armed");
}

// Two clicks, no dialog: the second confirms.
ui.remove?.addEventListener("click", () => {
  if (!deleteArmed) {
    deleteArmed = true;
    ui.remove.textContent = ui.remove.dataset.confirm;
    ui.remove.classList.add("armed");
    return;
  }
  act(async () => {
    const id = openId;
    const left = await request("DELETE", `templates/${id}/`);
    resetDelete();
    if (left) templateChanged(left);
    else {
      // A draft WhatsApp never saw goes at once.
      templates.delete(id);
      gone.add(id);
      openId = null;
      show(ui.pane, false);
      renderList();
    }
  });
});

// --- Start ------------------------------------------------------------------------------

async function loadChoices() {
  const [numbers, teams] = await Promise.all([
    request("GET", "numbers/?limit=500").then(rows).catch(() => []),
    request("GET", "teams/?limit=500").then(rows).catch(() => []),
  ]);
  const accounts = new Map();
  for (const number of numbers) {
    if (!accounts.has(number.waba_id)) accounts.set(number.waba_id, `${number.name} · ${number.waba_id}`);
  }
  setOptions(ui.waba, [...accounts.keys()], Object.fromEntries(accounts));
  setOptions(ui.language, LANGUAGES);
  ui.teams.replaceChildren(
    ...teams.map((team) =>
      h(
        "label",
        { class: "check" },
        h("input", { type: "checkbox", value: team.id, disabled: !canEdit, dataset: { testid: "template-team" } }),
        ` ${team.name}`,
      ),
    ),
  );
}

function setConnection(connection) {
  const key = `label${connection[0].toUpperCase()}${connection.slice(1)}`;
  ui.connection.dataset.state = connection;
  ui.connection.textContent = ui.connection.dataset[key] || connection;
}

const socket = new LiveSocket(
  `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}${root.dataset.socketPath}`,
  {
    // Every (re)connect re-reads the list: nothing published meanwhile is lost.
    onOpen: () => loadList(),
    onEvent: (event) => {
      if (event.type === "template.updated" && event.template) templateChanged(event.template);
    },
    onState: setConnection,
  },
  { pingEveryMs: Number(root.dataset.pingEveryMs) || undefined },
);

if (!canEdit) {
  for (const field of ui.form.querySelectorAll("input, select, textarea")) field.disabled = true;
}

await loadChoices();
await loadList();
const fromHash = /^#t(\d+)$/.exec(location.hash);
if (fromHash && templates.has(Number(fromHash[1]))) openTemplate(Number(fromHash[1]));
else if (location.hash === "#new" && canEdit) openTemplate(null);
socket.start();
