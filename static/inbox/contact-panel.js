// The contact panel beside the thread: who the customer is (name, number, country
// and their local time), the labels of their chats, their earlier conversations,
// and their consent per category with its history. An operator records an opt-in
// (with the words the customer agreed to) or an opt-out here; a change made
// anywhere else (the customer's STOP, an import, WhatsApp's own stop) arrives as a
// `contact.consent` frame and the panel reads the consents again.
//
// Open beside the thread on a wide screen; on a narrow one it lies over the thread
// (which keeps its width) and only when the operator asks for it. The operator's
// choice is remembered in this browser.
import { h, option, show } from "./dom.js";
import { format, gettext, language } from "./i18n.js";
import { labelChip, statusLabel } from "./render.js";
import { api, byTestId, conversations, redirectIfSignedOut, root, state } from "./state.js";
import { openConversation } from "./thread.js";
import { fullTime } from "./time.js";

const PREFERENCE = "inbox.contactPanel";
const WIDE = window.matchMedia("(min-width: 1200px)");
const LOCAL_TIME_EVERY_MS = 30_000;

const ui = {
  panel: byTestId("contact-panel"),
  toggle: byTestId("contact-panel-button"),
  close: byTestId("contact-panel-close"),
  error: byTestId("contact-panel-error"),
  name: byTestId("contact-name"),
  phone: byTestId("contact-phone"),
  country: byTestId("contact-country"),
  localTime: byTestId("contact-local-time"),
  labels: byTestId("contact-labels"),
  labelsEmpty: byTestId("contact-labels-empty"),
  chats: byTestId("contact-conversations"),
  platformStop: byTestId("contact-platform-stop"),
  consents: byTestId("consent-list"),
  consentsEmpty: byTestId("consent-empty"),
  form: byTestId("consent-opt-in-form"),
  category: byTestId("consent-category"),
  wording: byTestId("consent-wording"),
  formError: byTestId("consent-form-error"),
  submit: byTestId("consent-opt-in-submit"),
  cancel: byTestId("consent-opt-in-cancel"),
  history: byTestId("consent-history"),
  historyEmpty: byTestId("consent-history-empty"),
};

let shownId = null; // the contact the panel is about
let contact = null; // GET contacts/{id}/
let consents = null; // GET contacts/{id}/consents/
let categories = new Map(); // slug -> category
let loads = 0;
let saving = false;

// --- Words --------------------------------------------------------------------------

const STATE = {
  opted_in: () => gettext("Opted in"),
  opted_out: () => gettext("Opted out"),
  unknown: () => gettext("Not asked yet"),
};
const SOURCE = {
  website_form: () => gettext("website form"),
  checkout: () => gettext("checkout"),
  whatsapp_message: () => gettext("WhatsApp message"),
  whatsapp_link: () => gettext("opt-in link"),
  sms: () => gettext("SMS"),
  email: () => gettext("email"),
  import: () => gettext("import"),
  operator: () => gettext("operator"),
  api: () => gettext("API"),
  platform: () => gettext("WhatsApp itself"),
};
const word = (table, value) => (table[value] ? table[value]() : value || "");

function countryName(code) {
  if (!code) return gettext("Unknown");
  try {
    const name = new Intl.DisplayNames([language], { type: "region" }).of(code);
    return name && name !== code ? `${name} (${code})` : code;
  } catch {
    return code;
  }
}

function localTimeText(timeZone) {
  if (!timeZone) return "";
  try {
    const now = new Intl.DateTimeFormat(language, {
      timeZone,
      weekday: "short",
      hour: "numeric",
      minute: "2-digit",
    }).format(new Date());
    return `${now} (${timeZone})`;
  } catch {
    return timeZone;
  }
}

const categoryName = (slug) => categories.get(slug)?.name || slug || "";

// --- Open or closed ---------------------------------------------------------------

function preferred() {
  let saved = null;
  try {
    saved = localStorage.getItem(PREFERENCE);
  } catch {
    saved = null;
  }
  if (saved === "open") return true;
  if (saved === "closed") return false;
  return WIDE.matches;
}

let wanted = preferred();

function remember(open) {
  wanted = open;
  try {
    localStorage.setItem(PREFERENCE, open ? "open" : "closed");
  } catch {
    // A browser that keeps nothing: the choice lasts as long as the page.
  }
}

function openContactId() {
  const c = conversations.get(state.openId);
  return c?.contact?.id ?? null;
}

/** Shows or hides the panel for the open chat and reads a newly shown contact. */
export function syncContactPanel() {
  const id = state.openId === null ? null : openContactId();
  const visible = wanted && id !== null;
  show(ui.toggle, id !== null);
  ui.toggle.setAttribute("aria-expanded", String(visible));
  show(ui.panel, visible);
  root.classList.toggle("with-contact-panel", visible);
  if (id !== shownId) {
    shownId = id;
    contact = null;
    consents = null;
    resetForm();
    render();
    if (id !== null) loadContact();
  } else {
    renderLabels();
  }
}

/** Reads the shown contact again (after a reconnect: changes may have been missed). */
export function reloadContactPanel() {
  if (shownId !== null) loadContact();
}

/** A `contact.consent` frame: the consents of that customer changed somewhere. */
export function consentChanged(contactId) {
  if (contactId === shownId) loadContact({ consentsOnly: true });
}

// --- Loading -------------------------------------------------------------------------

function showError(text) {
  ui.error.textContent = text || "";
  show(ui.error, Boolean(text));
}

async function loadContact({ consentsOnly = false } = {}) {
  const id = shownId;
  const load = ++loads;
  ui.panel.dataset.loaded = "false";
  try {
    const [person, summary, kinds] = await Promise.all([
      consentsOnly && contact ? contact : api.contact(id),
      api.consents(id),
      consentsOnly && categories.size ? null : api.consentCategories(),
    ]);
    if (load !== loads || id !== shownId) return;
    contact = person;
    consents = summary;
    if (kinds) categories = new Map((kinds || []).map((k) => [k.slug, k]));
    showError("");
    render();
  } catch (error) {
    if (load !== loads || redirectIfSignedOut(error)) return;
    showError(format(gettext("Could not load the contact: %(reason)s"), { reason: error.message }));
  }
  if (load === loads) ui.panel.dataset.loaded = "true";
}

// --- Drawing -------------------------------------------------------------------------

function render() {
  ui.panel.dataset.contactId = shownId ?? "";
  const c = contact;
  const conversation = conversations.get(state.openId);
  const fallback = conversation?.contact || {};
  ui.name.textContent = c?.name || fallback.name || c?.phone || fallback.phone || "";
  ui.phone.textContent = c?.phone || fallback.phone || (fallback.wa_id ? `+${fallback.wa_id}` : "");
  ui.country.textContent = c ? countryName(c.country) : "";
  ui.localTime.dataset.timeZone = c?.time_zone || "";
  ui.localTime.textContent = localTimeText(c?.time_zone);
  renderLabels();
  renderChats();
  renderConsents();
  renderHistory();
}

function renderLabels() {
  const seen = new Map();
  const open = conversations.get(state.openId);
  for (const label of open?.labels || []) seen.set(label.name, label);
  for (const chat of contact?.conversations || []) {
    for (const name of chat.labels || []) if (!seen.has(name)) seen.set(name, { name, color: "" });
  }
  ui.labels.replaceChildren(...[...seen.values()].map(labelChip));
  show(ui.labelsEmpty, seen.size === 0);
}

function renderChats() {
  const chats = contact?.conversations || [];
  ui.chats.replaceChildren(
    ...chats.map((chat) => {
      const current = chat.id === state.openId;
      const when = chat.last_message_at || chat.created_at;
      const text = [statusLabel(chat.status), when ? fullTime(when) : "", (chat.labels || []).join(", ")]
        .filter(Boolean)
        .join(" · ");
      const button = h(
        "button",
        {
          type: "button",
          class: "contact-chat",
          disabled: current,
          "aria-current": current ? "true" : null,
          dataset: { testid: "contact-conversation", id: chat.id, current: String(current) },
        },
        current ? format(gettext("%(what)s (this chat)"), { what: text }) : text,
      );
      if (!current) button.addEventListener("click", () => openConversation(chat.id));
      return h("li", {}, button);
    }),
  );
  if (!chats.length && contact) ui.chats.replaceChildren(h("li", { class: "muted" }, gettext("No other conversations.")));
}

function stateChip(value) {
  return h(
    "span",
    { class: `consent-state consent-${value}`, dataset: { testid: "consent-state", state: value } },
    word(STATE, value),
  );
}

function renderConsents() {
  const rows = consents?.categories || [];
  show(ui.platformStop, Boolean(consents?.marketing_stopped_on_platform));
  ui.consents.replaceChildren(
    ...rows.map((row) => {
      const facts = [];
      if (row.source) facts.push(word(SOURCE, row.source));
      if (row.changed_at) facts.push(fullTime(row.changed_at));
      const optIn = h(
        "button",
        { type: "button", class: "secondary small", dataset: { testid: "consent-opt-in" } },
        gettext("Record opt-in"),
      );
      optIn.addEventListener("click", () => startOptIn(row.category));
      const optOut = h(
        "button",
        { type: "button", class: "danger-button small", dataset: { testid: "consent-opt-out" } },
        gettext("Opt out"),
      );
      optOut.addEventListener("click", () => confirmOptOut(optOut, row.category));
      return h(
        "li",
        { class: "consent-row", dataset: { testid: "consent-row", category: row.category, state: row.state } },
        h(
          "div",
          { class: "consent-row-head" },
          h("span", { class: "consent-name", dataset: { testid: "consent-category-name" } }, categoryName(row.category)),
          stateChip(row.state),
        ),
        facts.length ? h("p", { class: "hint", dataset: { testid: "consent-source" } }, facts.join(" · ")) : null,
        row.wording ? h("q", { class: "consent-wording", dataset: { testid: "consent-wording-shown" } }, row.wording) : null,
        h(
          "div",
          { class: "consent-actions" },
          row.state === "opted_in" ? null : optIn,
          row.state === "opted_out" ? null : optOut,
        ),
      );
    }),
  );
  show(ui.consentsEmpty, Boolean(consents) && rows.length === 0);
  const current = ui.category.value;
  ui.category.replaceChildren(...rows.map((row) => option(row.category, categoryName(row.category))));
  if (rows.some((row) => row.category === current)) ui.category.value = current;
}

function renderHistory() {
  const changes = [...(consents?.history || [])].reverse(); // newest first
  ui.history.replaceChildren(
    ...changes.map((change) => {
      const what = change.category
        ? format(gettext("%(category)s: %(state)s"), {
            category: categoryName(change.category),
            state: word(STATE, change.state),
          })
        : change.state === "opted_out"
          ? gettext("Marketing stopped on WhatsApp")
          : gettext("Marketing resumed on WhatsApp");
      const by = change.recorded_by
        ? format(gettext("by %(name)s"), { name: change.recorded_by.username })
        : "";
      return h(
        "li",
        {
          class: "consent-change",
          dataset: {
            testid: "consent-change",
            category: change.category ?? "",
            state: change.state,
            source: change.source,
          },
        },
        h("span", { class: "consent-change-what" }, what),
        h("span", { class: "hint" }, [fullTime(change.at), word(SOURCE, change.source), by].filter(Boolean).join(" · ")),
        change.wording ? h("q", { class: "consent-wording" }, change.wording) : null,
      );
    }),
  );
  show(ui.historyEmpty, changes.length === 0);
}

// --- Recording -----------------------------------------------------------------------

function resetForm() {
  show(ui.form, false);
  ui.wording.value = "";
  ui.formError.textContent = "";
  show(ui.formError, false);
}

function startOptIn(slug) {
  ui.category.value = slug;
  show(ui.form, true);
  ui.wording.focus();
}

function formError(text) {
  ui.formError.textContent = text || "";
  show(ui.formError, Boolean(text));
}

async function record(change) {
  const id = shownId;
  if (id === null || saving) return false;
  saving = true;
  ui.submit.disabled = true;
  try {
    const summary = await api.recordConsent(id, change);
    if (id === shownId) {
      consents = summary;
      renderConsents();
      renderHistory();
    }
    return true;
  } catch (error) {
    if (!redirectIfSignedOut(error)) {
      const field = error.body?.fields ? Object.values(error.body.fields).flat().join(" ") : "";
      const text = format(gettext("Not recorded: %(reason)s"), { reason: field || error.message });
      if (change.state === "opted_in") formError(text);
      else showError(text);
    }
    return false;
  } finally {
    saving = false;
    ui.submit.disabled = false;
  }
}

function confirmOptOut(button, slug) {
  if (button.dataset.confirming !== "true") {
    button.dataset.confirming = "true";
    button.textContent = gettext("Click again to opt out");
    return;
  }
  record({ category: slug, state: "opted_out", wording: "" });
}

ui.form.addEventListener("submit", async (event) => {
  event.preventDefault();
  const wording = ui.wording.value.trim();
  if (!wording) {
    formError(gettext("Write the words the customer agreed to."));
    ui.wording.focus();
    return;
  }
  formError("");
  if (await record({ category: ui.category.value, state: "opted_in", wording })) resetForm();
});
ui.cancel.addEventListener("click", resetForm);

ui.toggle.addEventListener("click", () => {
  remember(!wanted);
  syncContactPanel();
  if (wanted) ui.close.focus();
});
ui.close.addEventListener("click", () => {
  remember(false);
  syncContactPanel();
  ui.toggle.focus();
});
ui.panel.addEventListener("keydown", (event) => {
  if (event.key === "Escape" && !WIDE.matches) {
    event.stopPropagation();
    remember(false);
    syncContactPanel();
    ui.toggle.focus();
  }
});

setInterval(() => {
  if (!ui.panel.hidden && contact) ui.localTime.textContent = localTimeText(contact.time_zone);
}, LOCAL_TIME_EVERY_MS);
