// The composer's template picker: the approved templates the operator may send in
// this chat (the customer's language first), the variables to fill (the contact's
// name and phone proposed), the bubble as the customer will see it, and Send. It
// works whether the window is open or closed: outside it a template is the only
// message WhatsApp lets the business send. A template the server says may not be
// sent now ("sendable": false, with a "refusal") is shown greyed out with why.
import { h, show } from "./dom.js";
import { format, gettext, language } from "./i18n.js";
import { api, byTestId, conversations, redirectIfSignedOut, state } from "./state.js";
import { buttonsOf, component, exampleValues, templateBubble, variablesOf } from "./template-preview.js";
import { putMessage, scrollToBottom } from "./thread.js";

const ui = {
  panel: byTestId("template-picker"),
  close: byTestId("template-picker-close"),
  choices: byTestId("template-choices"),
  empty: byTestId("template-choices-empty"),
  fill: byTestId("template-fill"),
  values: byTestId("template-values"),
  preview: byTestId("template-picker-preview"),
  send: byTestId("template-send"),
  error: byTestId("template-send-error"),
  toggle: byTestId("composer-template-button"),
};

let forConversation = null; // the chat the picker was opened for
let offered = []; // the templates offered, as the API answered
let chosen = null; // the template being filled
let values = { header: {}, body: {}, buttons: [] };
let sending = false;
let loads = 0;

export const pickerOpen = () => !ui.panel.hidden;

function showError(text) {
  ui.error.textContent = text || "";
  show(ui.error, Boolean(text));
}

/** A refusal's sentence: its detail, and when it may be sent again if the server says. */
function refusalText(refusal) {
  if (!refusal || typeof refusal !== "object") return gettext("It cannot be sent in this chat now.");
  const detail = refusal.detail || refusal.code || gettext("It cannot be sent in this chat now.");
  const at = refusal.retry_at ? new Date(refusal.retry_at) : null;
  if (at && !Number.isNaN(at.getTime())) {
    return format(gettext("%(detail)s (possible again %(when)s)"), {
      detail,
      when: at.toLocaleString(language),
    });
  }
  return detail;
}

const sendable = (template) => template.sendable !== false;

function renderChoices() {
  ui.choices.replaceChildren(
    ...offered.map((template) => {
      const refused = !sendable(template);
      const button = h(
        "button",
        {
          type: "button",
          class: "template-choice",
          "aria-pressed": String(chosen?.id === template.id),
          disabled: refused,
          dataset: { testid: "template-choice", name: template.name, sendable: String(!refused) },
        },
        h("span", { class: "template-choice-name" }, template.name),
        h("span", { class: "template-choice-meta" }, `${template.language} · ${template.category}`),
        refused
          ? h("span", { class: "template-refusal", dataset: { testid: "template-refusal" } }, refusalText(template.refusal))
          : null,
      );
      if (!refused) button.addEventListener("click", () => choose(template));
      return h("li", {}, button);
    }),
  );
  show(ui.empty, offered.length === 0);
}

function contactProposals() {
  const contact = conversations.get(forConversation)?.contact || {};
  const name = contact.name || "";
  const phone = contact.phone || (contact.wa_id ? `+${contact.wa_id}` : "");
  return { name, first: name.split(/\s+/)[0] || "", phone };
}

/** What the contact's fields propose for a variable named like one of them. */
function proposedFor(key, proposals) {
  if (/phone/i.test(key)) return proposals.phone;
  if (/first/i.test(key)) return proposals.first;
  if (/name/i.test(key)) return proposals.name;
  return "";
}

function valueInput(part, key, label, example, proposals) {
  const listId = `template-proposals-${part}-${key}`.replace(/[^\w-]/g, "_");
  const input = h("input", {
    value: values[part][key] ?? "",
    list: listId,
    placeholder: example ? format(gettext("e.g. %(example)s"), { example }) : "",
    dataset: { testid: `template-value-${part}-${key}`, part, key },
    autocomplete: "off",
  });
  input.addEventListener("input", () => {
    values[part][key] = input.value;
    renderPreview();
  });
  const suggestions = [...new Set([proposals.name, proposals.first, proposals.phone].filter(Boolean))];
  return h(
    "label",
    {},
    label,
    input,
    h("datalist", { id: listId }, ...suggestions.map((value) => h("option", { value }))),
  );
}

function renderValues() {
  const parts = chosen.components || [];
  const examples = exampleValues(parts, chosen.parameter_format);
  const proposals = contactProposals();
  const fields = [];
  const header = component(parts, "HEADER");
  const headerFormat = header ? String(header.format || "TEXT").toUpperCase() : "";
  if (headerFormat === "TEXT") {
    for (const key of variablesOf(header.text)) {
      fields.push(valueInput("header", key, format(gettext("Header {{%(key)s}}"), { key }), examples.header[key], proposals));
    }
  } else if (headerFormat && headerFormat !== "LOCATION") {
    fields.push(valueInput("header", "link", gettext("Link to the header's file"), "https://…", proposals));
  }
  for (const key of variablesOf(component(parts, "BODY")?.text)) {
    fields.push(valueInput("body", key, format(gettext("Body {{%(key)s}}"), { key }), examples.body[key], proposals));
  }
  buttonsOf(parts).forEach((button, index) => {
    const type = String(button.type).toUpperCase();
    if ((type === "URL" && variablesOf(button.url).length) || type === "COPY_CODE") {
      const label =
        type === "URL"
          ? format(gettext("Link button “%(text)s”: the address's variable"), { text: button.text || "" })
          : gettext("The code to copy");
      const example = [].concat(button.example ?? "")[0] || "";
      fields.push(valueInput("buttons", String(index), label, example, proposals));
    }
  });
  if (!fields.length) fields.push(h("p", { class: "muted" }, gettext("This template has no variables.")));
  ui.values.replaceChildren(...fields);
}

function filledValues() {
  const shown = { header: {}, body: {}, buttons: [] };
  for (const [key, value] of Object.entries(values.header)) shown.header[key] = value;
  for (const [key, value] of Object.entries(values.body)) shown.body[key] = value;
  return shown;
}

function renderPreview() {
  if (!chosen) return;
  ui.preview.replaceChildren(templateBubble(chosen.components, filledValues()));
}

function choose(template) {
  chosen = template;
  const proposals = contactProposals();
  values = { header: {}, body: {}, buttons: {} };
  // Variables named after a contact's field start with its value.
  for (const part of ["HEADER", "BODY"]) {
    const text = component(template.components, part)?.text;
    for (const key of variablesOf(text)) {
      const proposed = proposedFor(key, proposals);
      if (proposed) values[part.toLowerCase()][key] = proposed;
    }
  }
  showError("");
  renderChoices();
  renderValues();
  renderPreview();
  show(ui.fill, true);
  ui.values.querySelector("input")?.focus();
}

/** The parameters of the send, in the API's shape. */
function parameters() {
  const parts = chosen.components || [];
  const header = component(parts, "HEADER");
  const headerFormat = header ? String(header.format || "TEXT").toUpperCase() : "";
  const result = {};
  if (headerFormat === "TEXT" && variablesOf(header.text).length) result.header = { ...values.header };
  else if (headerFormat && headerFormat !== "TEXT" && values.header.link) {
    result.header = { link: values.header.link.trim() };
  }
  if (variablesOf(component(parts, "BODY")?.text).length) result.body = { ...values.body };
  const buttons = buttonsOf(parts).map((_, index) => values.buttons[String(index)] || null);
  if (buttons.some((value) => value !== null)) result.buttons = buttons;
  return result;
}

async function send() {
  const id = forConversation;
  if (!chosen || sending || id === null) return;
  sending = true;
  ui.send.disabled = true;
  showError("");
  try {
    const message = await api.sendTemplate(id, chosen.id, parameters());
    if (id === state.openId) {
      putMessage(message);
      scrollToBottom();
    }
    closeTemplatePicker();
  } catch (error) {
    if (!redirectIfSignedOut(error)) {
      const field = error.body?.field ? ` (${error.body.field})` : "";
      showError(format(gettext("Not sent: %(reason)s"), { reason: `${error.message}${field}` }));
    }
  } finally {
    sending = false;
    ui.send.disabled = false;
  }
}

export async function openTemplatePicker() {
  const id = state.openId;
  if (id === null) return;
  forConversation = id;
  chosen = null;
  offered = [];
  show(ui.panel, true);
  show(ui.fill, false);
  show(ui.empty, false);
  ui.toggle.setAttribute("aria-expanded", "true");
  ui.choices.replaceChildren(h("li", { class: "muted" }, gettext("Loading…")));
  ui.panel.dataset.loaded = "false";
  showError("");
  const load = ++loads;
  try {
    const answer = await api.conversationTemplates(id);
    if (load !== loads || forConversation !== id) return;
    offered = Array.isArray(answer) ? answer : (answer?.results ?? []);
    renderChoices();
  } catch (error) {
    if (load !== loads || redirectIfSignedOut(error)) return;
    ui.choices.replaceChildren();
    showError(format(gettext("Could not load the templates: %(reason)s"), { reason: error.message }));
  }
  ui.panel.dataset.loaded = "true";
}

export function closeTemplatePicker() {
  loads += 1;
  forConversation = null;
  chosen = null;
  show(ui.panel, false);
  ui.toggle.setAttribute("aria-expanded", "false");
}

/**
 * The customer's consents changed (a `contact.consent` frame): the open picker reads
 * its templates again, so one refused now is greyed with why; the template being
 * filled stays while it may still be sent.
 */
export async function refreshTemplatePicker() {
  const id = forConversation;
  if (id === null || !pickerOpen()) return;
  const load = ++loads;
  try {
    const answer = await api.conversationTemplates(id);
    if (load !== loads || forConversation !== id) return;
    offered = Array.isArray(answer) ? answer : (answer?.results ?? []);
    if (chosen && !offered.some((template) => template.id === chosen.id && sendable(template))) {
      chosen = null;
      show(ui.fill, false);
    }
    renderChoices();
  } catch (error) {
    if (load === loads) redirectIfSignedOut(error);
  }
}

ui.close.addEventListener("click", closeTemplatePicker);
ui.send.addEventListener("click", send);
ui.panel.addEventListener("keydown", (event) => {
  if (event.key === "Escape") {
    event.stopPropagation();
    closeTemplatePicker();
    ui.toggle.focus();
  }
});
ui.toggle.addEventListener("click", () => {
  if (pickerOpen()) closeTemplatePicker();
  else openTemplatePicker();
});
