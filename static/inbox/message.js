// A message of the open thread: its bubble (the quote it answers, its body, time,
// ticks and WhatsApp's reason when it failed), the reactions under it, and what
// the operator may do with it (reply, react, retry). Everything customer- or
// operator-supplied goes in as text.
import { h } from "./dom.js";
import { errorSentence } from "./errors.js";
import { format, gettext } from "./i18n.js";
import { messageBody, typeLabel } from "./message-body.js";
import { timeElement } from "./render.js";

const STATUS_RANK = {
  received: 0,
  queued: 0,
  sending: 1,
  accepted: 2,
  sent: 3,
  failed: 4,
  deferred: 4,
  delivered: 5,
  read: 6,
};

const TICKS = {
  queued: { mark: "◷", label: () => gettext("Waiting to be sent") },
  sending: { mark: "◷", label: () => gettext("Sending") },
  accepted: { mark: "✓", label: () => gettext("Accepted by WhatsApp") },
  sent: { mark: "✓", label: () => gettext("Sent") },
  delivered: { mark: "✓✓", label: () => gettext("Delivered") },
  read: { mark: "✓✓", label: () => gettext("Read") },
  failed: { mark: "!", label: () => gettext("Not delivered") },
  deferred: { mark: "◷", label: () => gettext("Deferred") },
};

/** Whether `incoming` may replace `current` (statuses only move forward). */
export function isNewer(incoming, current) {
  if (!current) return true;
  // A retried send starts again from "queued": a later attempt is always newer.
  const attempts = (m) => m.send_attempts ?? 0;
  if (attempts(incoming) !== attempts(current)) return attempts(incoming) > attempts(current);
  return (STATUS_RANK[incoming.status] ?? 0) >= (STATUS_RANK[current.status] ?? 0);
}

// What the operator may put under a customer's message.
export const REACTIONS = ["👍", "❤️", "😂", "😮", "😢", "🙏"];

/** One line that stands for a message: its words, or its kind and caption. */
export function messageSummary(message) {
  const words = message.text || "";
  if (["text", "interactive", "button", "template"].includes(message.type) && words) return words;
  return words ? `${typeLabel(message)} ${words}` : typeLabel(message);
}

/** A quote of the message this one replies to: `quoted` when it is in the loaded thread. */
function quote(message, quoted) {
  if (!message.context_wamid) return null;
  if (!quoted) {
    return h("blockquote", { class: "quote is-missing", dataset: { testid: "message-quote" } }, gettext("Reply to an earlier message"));
  }
  const who =
    quoted.direction === "out"
      ? gettext("You")
      : gettext("Customer");
  return h(
    "blockquote",
    {
      class: "quote",
      dataset: { testid: "message-quote", action: "show-quoted", targetId: quoted.id },
      title: gettext("Show the quoted message"),
    },
    h("span", { class: "quote-who" }, who),
    h("span", { class: "quote-text" }, messageSummary(quoted)),
  );
}

function reactionsOf(message) {
  const reactions = message.reactions || {};
  const chips = [];
  if (reactions.customer) {
    chips.push(
      h(
        "span",
        { class: "reaction", title: gettext("The customer reacted"), dataset: { testid: "reaction", who: "customer" } },
        String(reactions.customer),
      ),
    );
  }
  if (reactions.business) {
    chips.push(
      h(
        "span",
        { class: "reaction is-business", title: gettext("Your team reacted"), dataset: { testid: "reaction", who: "business" } },
        String(reactions.business),
      ),
    );
  }
  return chips.length ? h("div", { class: "reactions", dataset: { testid: "reactions" } }, ...chips) : null;
}

function ticks(status) {
  const tick = TICKS[status];
  if (!tick) return null;
  const label = tick.label();
  return h(
    "span",
    { class: `ticks ticks-${status}`, title: label, "aria-label": label, dataset: { testid: "ticks" } },
    tick.mark,
  );
}

function errorText(message) {
  const error = message.error;
  if (!error) return null;
  const translated = errorSentence(error.code);
  const title = translated || error.title;
  const details = error.details && error.details !== error.title && error.details !== title ? error.details : "";
  return h(
    "p",
    { class: "message-error", dataset: { testid: "message-error" } },
    h("span", { class: "error-title" }, title),
    details ? h("span", { class: "error-details" }, ` ${details}`) : null,
    error.code
      ? h("span", { class: "error-code" }, ` ${format(gettext("(error %(code)s)"), { code: error.code })}`)
      : null,
  );
}

// WhatsApp held a marketing message back (131049, its limit per customer): it goes
// again once, when the message says.
function deferredText(message) {
  if (message.status !== "deferred") return null;
  return h(
    "p",
    { class: "message-deferred", dataset: { testid: "message-deferred" } },
    gettext("WhatsApp limits the marketing messages this customer receives: it goes again"),
    " ",
    message.retry_at ? timeElement(message.retry_at) : null,
  );
}

function actionButton(action, label, testid) {
  return h("button", { type: "button", class: "message-action", dataset: { action, testid } }, label);
}

function messageActions(message) {
  const outbound = message.direction === "out";
  const buttons = [];
  if (outbound && message.status === "failed" && message.retryable) {
    buttons.push(
      h(
        "button",
        { type: "button", class: "secondary small", dataset: { action: "retry-send", testid: "retry-send" } },
        gettext("Retry"),
      ),
    );
  }
  if (message.wamid) {
    buttons.push(actionButton("reply", gettext("Reply"), "reply-action"));
  }
  if (!outbound && message.wamid) {
    const mine = (message.reactions || {}).business;
    const picker = h(
      "span",
      { class: "reaction-picker", dataset: { testid: "reaction-picker" }, hidden: true, role: "group", "aria-label": gettext("React") },
      ...REACTIONS.map((emoji) =>
        h(
          "button",
          {
            type: "button",
            class: emoji === mine ? "emoji is-chosen" : "emoji",
            "aria-pressed": String(emoji === mine),
            dataset: { action: "react", emoji, testid: "reaction-choice" },
          },
          emoji,
        ),
      ),
      mine
        ? h(
            "button",
            { type: "button", class: "emoji remove", dataset: { action: "react", emoji: "", testid: "reaction-remove" } },
            gettext("Remove"),
          )
        : null,
    );
    buttons.push(
      h(
        "span",
        { class: "react-menu" },
        h(
          "button",
          { type: "button", class: "message-action", "aria-expanded": "false", dataset: { action: "toggle-reactions", testid: "react-action" } },
          gettext("React"),
        ),
        picker,
      ),
    );
  }
  return buttons.length ? h("div", { class: "message-actions" }, ...buttons) : null;
}

/**
 * A message of the thread. `quoted` is the message it replies to when that one is
 * in the loaded thread.
 */
export function messageItem(message, { quoted = null } = {}) {
  const outbound = message.direction === "out";
  const failed = message.status === "failed";
  const author = outbound && message.sent_by ? message.sent_by.name : null;
  return h(
    "li",
    {
      class: `message message-${outbound ? "out" : "in"} type-${message.type}${failed ? " is-failed" : ""}`,
      dataset: {
        testid: "message",
        messageId: message.id,
        wamid: message.wamid || null,
        contextWamid: message.context_wamid || null,
        status: message.status,
        direction: message.direction,
        type: message.type,
        at: message.timestamp,
      },
    },
    h(
      "div",
      { class: "message-row" },
      h(
      "div",
      { class: "bubble" },
      message.automatic
        ? h("span", { class: "automatic-tag", dataset: { testid: "automatic-reply" } }, gettext("Automatic reply"))
        : null,
      quote(message, quoted),
      messageBody(message),
      h(
        "span",
        { class: "meta" },
        author ? h("span", { class: "author" }, author) : null,
        timeElement(message.timestamp),
        outbound ? ticks(message.status) : null,
      ),
      errorText(message),
      deferredText(message),
      ),
      messageActions(message),
    ),
    reactionsOf(message),
  );
}
