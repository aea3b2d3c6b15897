// How conversations and messages look. Everything customer-supplied goes in as text.
import { h } from "./dom.js";

const STATUS_RANK = {
  received: 0,
  queued: 0,
  sending: 1,
  accepted: 2,
  sent: 3,
  failed: 4,
  delivered: 5,
  read: 6,
};

const TICKS = {
  queued: { mark: "◷", label: "Waiting to be sent" },
  sending: { mark: "◷", label: "Sending" },
  accepted: { mark: "✓", label: "Accepted by WhatsApp" },
  sent: { mark: "✓", label: "Sent" },
  delivered: { mark: "✓✓", label: "Delivered" },
  read: { mark: "✓✓", label: "Read" },
  failed: { mark: "!", label: "Not delivered" },
};

/** Whether `incoming` may replace `current` (statuses only move forward). */
export function isNewer(incoming, current) {
  if (!current) return true;
  return (STATUS_RANK[incoming.status] ?? 0) >= (STATUS_RANK[current.status] ?? 0);
}

export function contactName(conversation) {
  const c = conversation.contact || {};
  return c.name || c.phone || c.wa_id || c.user_id || "Unknown contact";
}

export function contactSubtitle(conversation) {
  const c = conversation.contact || {};
  const parts = [];
  if (c.name && (c.phone || c.wa_id)) parts.push(c.phone || `+${c.wa_id}`);
  const number = conversation.number;
  if (number) parts.push(`to ${number.name || number.display_phone_number}`);
  return parts.join(" · ");
}

const timeOnly = new Intl.DateTimeFormat(undefined, { hour: "numeric", minute: "2-digit" });
const weekday = new Intl.DateTimeFormat(undefined, { weekday: "short" });
const shortDate = new Intl.DateTimeFormat(undefined, { day: "numeric", month: "short" });
const fullDate = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });

/** A list-sized time: 14:05 today, "Mon" this week, "3 Mar" before. */
export function shortTime(iso, now = new Date()) {
  if (!iso) return "";
  const date = new Date(iso);
  if (date.toDateString() === now.toDateString()) return timeOnly.format(date);
  if (now - date < 6 * 24 * 3600 * 1000) return weekday.format(date);
  return shortDate.format(date);
}

function messageTime(iso, now = new Date()) {
  const date = new Date(iso);
  if (date.toDateString() === now.toDateString()) return timeOnly.format(date);
  return fullDate.format(date);
}

/** The customer-service window: {open, label}, e.g. "window closes in 5h 12m". */
export function windowState(expiresIso, now = Date.now()) {
  const remaining = expiresIso ? new Date(expiresIso).getTime() - now : 0;
  if (remaining <= 0) return { open: false, label: "window closed" };
  const minutes = Math.floor(remaining / 60_000);
  const hours = Math.floor(minutes / 60);
  const rest = minutes % 60;
  let left;
  if (hours > 0) left = `${hours}h ${rest}m`;
  else if (minutes > 0) left = `${minutes}m`;
  else left = "less than a minute";
  return { open: true, label: `window closes in ${left}` };
}

export function renderWindowState(el, expiresIso) {
  const state = windowState(expiresIso);
  el.textContent = state.label;
  el.dataset.open = String(state.open);
  if (expiresIso) el.title = `Until ${fullDate.format(new Date(expiresIso))}`;
  else el.removeAttribute("title");
  return state.open;
}

export function conversationItem(conversation, { active, unread }) {
  const countdown = h("span", { class: "window-state", dataset: { testid: "window-countdown" } });
  renderWindowState(countdown, conversation.window_expires_at);
  const badge = h(
    "span",
    { class: "badge", dataset: { testid: "unread-count" }, hidden: unread === 0 },
    String(unread),
  );
  badge.setAttribute("aria-label", `${unread} unread`);
  const button = h(
    "button",
    { type: "button", class: "conversation-button" },
    h(
      "span",
      { class: "row" },
      h(
        "span",
        { class: "name", dataset: { testid: "conversation-name" } },
        contactName(conversation),
      ),
      h(
        "time",
        { class: "time", datetime: conversation.last_message_at },
        shortTime(conversation.last_message_at),
      ),
    ),
    h(
      "span",
      { class: "row" },
      h(
        "span",
        { class: "preview", dataset: { testid: "conversation-preview" } },
        conversation.last_message_text || "",
      ),
      badge,
    ),
    h("span", { class: "row" }, countdown),
  );
  return h(
    "li",
    {
      class: active ? "conversation is-active" : "conversation",
      "aria-current": active ? "true" : null,
      dataset: { testid: "conversation-item", conversationId: conversation.id },
    },
    button,
  );
}

function messageBody(message) {
  const media = message.media || {};
  const words = message.text || media.caption || media.filename || "";
  if (message.type === "text") return h("p", { class: "body" }, words);
  return h(
    "p",
    { class: "body" },
    h("span", { class: "type-label", dataset: { testid: "message-type" } }, `[${message.type}]`),
    words ? ` ${words}` : "",
  );
}

function ticks(status) {
  const tick = TICKS[status];
  if (!tick) return null;
  return h(
    "span",
    {
      class: `ticks ticks-${status}`,
      title: tick.label,
      "aria-label": tick.label,
      dataset: { testid: "ticks" },
    },
    tick.mark,
  );
}

function errorText(message) {
  const error = message.error;
  if (!error) return null;
  const details = error.details && error.details !== error.title ? error.details : "";
  return h(
    "p",
    { class: "message-error", dataset: { testid: "message-error" } },
    h("span", { class: "error-title" }, error.title),
    details ? ` ${details}` : null,
    error.code ? h("span", { class: "error-code" }, ` (error ${error.code})`) : null,
  );
}

export function messageItem(message) {
  const outbound = message.direction === "out";
  const failed = message.status === "failed";
  const author = outbound && message.sent_by ? message.sent_by.name : null;
  return h(
    "li",
    {
      class: `message message-${outbound ? "out" : "in"}${failed ? " is-failed" : ""}`,
      dataset: {
        testid: "message",
        messageId: message.id,
        status: message.status,
        direction: message.direction,
      },
    },
    h(
      "div",
      { class: "bubble" },
      messageBody(message),
      h(
        "span",
        { class: "meta" },
        author ? h("span", { class: "author" }, author) : null,
        h(
          "time",
          { datetime: message.timestamp, title: fullDate.format(new Date(message.timestamp)) },
          messageTime(message.timestamp),
        ),
        outbound ? ticks(message.status) : null,
      ),
      errorText(message),
    ),
  );
}
