// A conversation's row in the list. Each conversation has one row element for as
// long as it stays listed: an update changes the row's text, attributes and
// children in place, never the row or the parts it is made of, so a click that
// lands while the list updates (many times a second when customers are busy)
// still reaches its row.
import { h } from "./dom.js";
import { format, gettext, ngettext } from "./i18n.js";
import { contactName, labelChip, renderSlaClock, renderWindowState, statusLabel } from "./render.js";
import { slaOf } from "./state.js";
import { shortTime } from "./time.js";

// row element -> the parts of it that updates change
const partsOf = new WeakMap();

function assigneeText(conversation, meId) {
  const assignee = conversation.assignee;
  if (!assignee) return gettext("Unassigned");
  if (assignee.id === meId) return gettext("Me");
  return assignee.name;
}

function setText(el, text) {
  if (el.textContent !== text) el.textContent = text;
}

function setAttribute(el, name, value) {
  if (value === null || value === undefined) el.removeAttribute(name);
  else if (el.getAttribute(name) !== String(value)) el.setAttribute(name, value);
}

function setClass(el, className) {
  if (el.className !== className) el.className = className;
}

/** Puts `child` into `parent` (before `before` when that is there, else last), or takes it out. */
function present(child, wanted, parent, before = null) {
  if (!wanted) {
    child.remove();
  } else if (child.parentNode !== parent) {
    parent.insertBefore(child, before?.parentNode === parent ? before : null);
  }
}

/**
 * A new row for `conversation`; `state` is what the list adds to it:
 * {active, cursor, unread, meId, watchers}.
 */
export function conversationRow(conversation, state) {
  const parts = {
    button: h("button", { type: "button", class: "conversation-button" }),
    name: h("span", { class: "name", dataset: { testid: "conversation-name" } }),
    time: h("time", { class: "time" }),
    preview: h("span", { class: "preview", dataset: { testid: "conversation-preview" } }),
    badge: h("span", { class: "badge", dataset: { testid: "unread-count" } }),
    countdown: h("span", { class: "window-state", dataset: { testid: "window-countdown" } }),
    sla: h("span", { class: "sla-clock", dataset: { testid: "sla-clock" } }),
    status: h("span", { dataset: { testid: "conversation-status" } }),
    assignee: h("span", { dataset: { testid: "conversation-assignee" } }),
    // Shown only when there is something to show:
    team: h("span", { class: "team", dataset: { testid: "conversation-team" } }),
    watchers: h("span", { class: "watchers", dataset: { testid: "conversation-watchers" } }),
    labels: h("span", { class: "row labels", dataset: { testid: "conversation-labels" } }),
    labelsShown: null, // the labels the chips show now, as a string to compare
  };
  parts.meta = h(
    "span",
    { class: "row meta-row" },
    parts.countdown,
    parts.sla,
    parts.status,
    parts.assignee,
  );
  parts.button.append(
    h("span", { class: "row" }, parts.name, parts.time),
    h("span", { class: "row" }, parts.preview, parts.badge),
    parts.meta,
  );
  const li = h(
    "li",
    { class: "conversation", dataset: { testid: "conversation-item", conversationId: conversation.id } },
    parts.button,
  );
  partsOf.set(li, parts);
  updateConversationRow(li, conversation, state);
  return li;
}

/** Shows `conversation` as it is now in its existing row `li`. */
export function updateConversationRow(li, conversation, { active, cursor, unread, meId, watchers }) {
  const parts = partsOf.get(li);
  const classes = ["conversation"];
  if (active) classes.push("is-active");
  if (cursor) classes.push("is-cursor");
  if (unread > 0) classes.push("is-unread");
  setClass(li, classes.join(" "));
  setAttribute(li, "aria-current", active ? "true" : null);
  setAttribute(parts.button, "tabindex", cursor ? "0" : "-1");

  setText(parts.name, contactName(conversation));
  setAttribute(parts.time, "datetime", conversation.last_message_at);
  setText(parts.time, shortTime(conversation.last_message_at));
  setText(parts.preview, conversation.last_message_text || "");
  setText(parts.badge, String(unread));
  parts.badge.hidden = unread === 0;
  setAttribute(
    parts.badge,
    "aria-label",
    format(ngettext("%(count)s unread", "%(count)s unread", unread), { count: unread }),
  );

  renderWindowState(parts.countdown, conversation.window_expires_at);
  renderSlaClock(parts.sla, conversation.status === "resolved" ? null : slaOf(conversation.id));
  const status = conversation.status || "open";
  setClass(parts.status, `status-chip status-${status}`);
  setText(parts.status, statusLabel(status));
  setClass(parts.assignee, conversation.assignee ? "assignee" : "assignee is-unassigned");
  setText(parts.assignee, assigneeText(conversation, meId));
  setText(parts.team, conversation.team?.name ?? "");
  present(parts.team, Boolean(conversation.team), parts.meta, parts.watchers);
  setText(parts.watchers, watchers || "");
  present(parts.watchers, Boolean(watchers), parts.meta);

  const labels = conversation.labels || [];
  const shown = JSON.stringify(labels.map((l) => [l.id, l.name, l.color]));
  if (shown !== parts.labelsShown) {
    parts.labels.replaceChildren(...labels.map(labelChip));
    parts.labelsShown = shown;
  }
  present(parts.labels, labels.length > 0, parts.button);
}
