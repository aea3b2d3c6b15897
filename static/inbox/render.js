// How conversations, messages, notes and activity look. Everything customer- or
// operator-supplied goes in as text.
import { h } from "./dom.js";
import { errorSentence } from "./errors.js";
import { format, gettext, language, ngettext, pgettext } from "./i18n.js";
import { fullTime, shortTime, threadTime } from "./time.js";

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
  queued: { mark: "◷", label: () => gettext("Waiting to be sent") },
  sending: { mark: "◷", label: () => gettext("Sending") },
  accepted: { mark: "✓", label: () => gettext("Accepted by WhatsApp") },
  sent: { mark: "✓", label: () => gettext("Sent") },
  delivered: { mark: "✓✓", label: () => gettext("Delivered") },
  read: { mark: "✓✓", label: () => gettext("Read") },
  failed: { mark: "!", label: () => gettext("Not delivered") },
};

export function statusLabel(status) {
  const labels = {
    open: pgettext("conversation status", "Open"),
    pending: pgettext("conversation status", "Pending"),
    snoozed: pgettext("conversation status", "Snoozed"),
    resolved: pgettext("conversation status", "Resolved"),
  };
  return labels[status] || status;
}

export function presenceLabel(presence) {
  const labels = {
    online: pgettext("presence", "Online"),
    away: pgettext("presence", "Away"),
    offline: pgettext("presence", "Offline"),
  };
  return labels[presence] || presence;
}

/** Whether `incoming` may replace `current` (statuses only move forward). */
export function isNewer(incoming, current) {
  if (!current) return true;
  // A retried send starts again from "queued": a later attempt is always newer.
  const attempts = (m) => m.send_attempts ?? 0;
  if (attempts(incoming) !== attempts(current)) return attempts(incoming) > attempts(current);
  return (STATUS_RANK[incoming.status] ?? 0) >= (STATUS_RANK[current.status] ?? 0);
}

export function contactName(conversation) {
  const c = conversation.contact || {};
  return c.name || c.phone || c.wa_id || c.user_id || gettext("Unknown contact");
}

export function contactSubtitle(conversation) {
  const c = conversation.contact || {};
  const parts = [];
  if (c.name && (c.phone || c.wa_id)) parts.push(c.phone || `+${c.wa_id}`);
  const number = conversation.number;
  if (number) {
    parts.push(format(gettext("to %(number)s"), { number: number.name || number.display_phone_number }));
  }
  if (conversation.team) parts.push(conversation.team.name);
  return parts.join(" · ");
}

/** The customer-service window: {open, label}, e.g. "window closes in 5h 12m". */
export function windowState(expiresIso, now = Date.now()) {
  const remaining = expiresIso ? new Date(expiresIso).getTime() - now : 0;
  if (remaining <= 0) return { open: false, label: gettext("window closed") };
  const minutes = Math.floor(remaining / 60_000);
  const hours = Math.floor(minutes / 60);
  const rest = minutes % 60;
  let left;
  if (hours > 0) left = format(gettext("%(hours)sh %(minutes)sm"), { hours, minutes: rest });
  else if (minutes > 0) left = format(gettext("%(minutes)sm"), { minutes });
  else left = gettext("less than a minute");
  return { open: true, label: format(gettext("window closes in %(left)s"), { left }) };
}

export function renderWindowState(el, expiresIso) {
  const state = windowState(expiresIso);
  el.textContent = state.label;
  el.dataset.open = String(state.open);
  if (expiresIso) el.title = format(gettext("Until %(time)s"), { time: fullTime(expiresIso) });
  else el.removeAttribute("title");
  return state.open;
}

export function labelChip(label) {
  return h(
    "span",
    {
      class: "label-chip",
      style: `--label-color: ${/^#[0-9a-f]{6}$/i.test(label.color) ? label.color : "#64748b"}`,
      dataset: { testid: "label-chip", labelId: label.id },
    },
    label.name,
  );
}

function assigneeText(conversation, meId) {
  const assignee = conversation.assignee;
  if (!assignee) return gettext("Unassigned");
  if (assignee.id === meId) return gettext("Me");
  return assignee.name;
}

export function conversationItem(conversation, { active, cursor, unread, meId, watchers }) {
  const countdown = h("span", { class: "window-state", dataset: { testid: "window-countdown" } });
  renderWindowState(countdown, conversation.window_expires_at);
  const badge = h(
    "span",
    { class: "badge", dataset: { testid: "unread-count" }, hidden: unread === 0 },
    String(unread),
  );
  badge.setAttribute("aria-label", format(ngettext("%(count)s unread", "%(count)s unread", unread), { count: unread }));
  const status = conversation.status || "open";
  const button = h(
    "button",
    { type: "button", class: "conversation-button", tabindex: cursor ? "0" : "-1" },
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
    h(
      "span",
      { class: "row meta-row" },
      countdown,
      h(
        "span",
        { class: `status-chip status-${status}`, dataset: { testid: "conversation-status" } },
        statusLabel(status),
      ),
      h(
        "span",
        {
          class: conversation.assignee ? "assignee" : "assignee is-unassigned",
          dataset: { testid: "conversation-assignee" },
        },
        assigneeText(conversation, meId),
      ),
      conversation.team
        ? h("span", { class: "team", dataset: { testid: "conversation-team" } }, conversation.team.name)
        : null,
      watchers
        ? h("span", { class: "watchers", dataset: { testid: "conversation-watchers" } }, watchers)
        : null,
    ),
    conversation.labels && conversation.labels.length
      ? h("span", { class: "row labels", dataset: { testid: "conversation-labels" } }, ...conversation.labels.map(labelChip))
      : null,
  );
  const classes = ["conversation"];
  if (active) classes.push("is-active");
  if (cursor) classes.push("is-cursor");
  if (unread > 0) classes.push("is-unread");
  return h(
    "li",
    {
      class: classes.join(" "),
      "aria-current": active ? "true" : null,
      dataset: { testid: "conversation-item", conversationId: conversation.id },
    },
    button,
  );
}

// --- Messages of every kind -------------------------------------------------------

const MEDIA_TYPES = new Set(["image", "sticker", "video", "audio", "document"]);
// What the operator may put under a customer's message.
export const REACTIONS = ["👍", "❤️", "😂", "😮", "😢", "🙏"];

/** A short label for a message's kind, e.g. "[photo]", for quotes and notifications. */
export function typeLabel(message) {
  const content = message.content || {};
  switch (message.type) {
    case "image":
      return gettext("[photo]");
    case "sticker":
      return gettext("[sticker]");
    case "video":
      return gettext("[video]");
    case "audio":
      return content.voice ? gettext("[voice message]") : gettext("[audio]");
    case "document":
      return gettext("[document]");
    case "location":
      return gettext("[location]");
    case "contacts":
      return gettext("[contact]");
    case "order":
      return gettext("[order]");
    case "reaction":
      return gettext("[reaction]");
    case "system":
      return gettext("[system message]");
    case "unsupported":
      return gettext("[unsupported message]");
    case "template":
      return gettext("[template]");
    default:
      return `[${message.type}]`;
  }
}

/** One line that stands for a message: its words, or its kind and caption. */
export function messageSummary(message) {
  const words = message.text || "";
  if (["text", "interactive", "button", "template"].includes(message.type) && words) return words;
  return words ? `${typeLabel(message)} ${words}` : typeLabel(message);
}

/** A file size people read: "812 bytes", "14.2 KB", "3.1 MB". */
export function humanSize(bytes) {
  if (bytes === null || bytes === undefined || !Number.isFinite(Number(bytes))) return "";
  const n = Number(bytes);
  if (n < 1024) return format(ngettext("%(count)s byte", "%(count)s bytes", n), { count: n });
  const number = (value) =>
    value.toLocaleString(language, { maximumFractionDigits: value < 10 ? 1 : 0 });
  if (n < 1024 ** 2) return format(gettext("%(size)s KB"), { size: number(n / 1024) });
  if (n < 1024 ** 3) return format(gettext("%(size)s MB"), { size: number(n / 1024 ** 2) });
  return format(gettext("%(size)s GB"), { size: number(n / 1024 ** 3) });
}

// Only our own relative URLs are used as links to stored media.
const ownUrl = (url) => (typeof url === "string" && /^\/[^/\\]/.test(url) ? url : null);
const webUrl = (url) => (typeof url === "string" && /^https?:\/\//i.test(url) ? url : null);

function plainBody(message, words = message.text || "") {
  return h("p", { class: "body" }, words);
}

function labelledBody(message, words = message.text || "") {
  return h(
    "p",
    { class: "body" },
    h("span", { class: "type-label", dataset: { testid: "message-type" } }, typeLabel(message)),
    words ? ` ${words}` : "",
  );
}

function caption(text) {
  return text ? h("p", { class: "body caption", dataset: { testid: "media-caption" } }, text) : null;
}

function documentName(media) {
  return media.filename || gettext("Document");
}

/** A stored file as people expect it: a picture, a player or a download link. */
function mediaView(message, media, url) {
  const content = message.content || {};
  const alt = media.caption || media.filename || typeLabel(message);
  switch (message.type) {
    case "image":
    case "sticker":
      return h(
        "a",
        {
          class: `media-link media-${message.type}`,
          href: url,
          target: "_blank",
          rel: "noopener",
          title: gettext("Open full size"),
        },
        h("img", { src: url, alt, loading: "lazy", dataset: { testid: "message-image" } }),
      );
    case "video":
      return h("video", {
        class: "media-video",
        src: url,
        controls: true,
        preload: "metadata",
        dataset: { testid: "message-video" },
      });
    case "audio":
      return h(
        "div",
        { class: "media-audio" },
        content.voice
          ? h("span", { class: "voice-label", dataset: { testid: "voice-label" } }, gettext("Voice message"))
          : null,
        h("audio", { src: url, controls: true, preload: "metadata", dataset: { testid: "message-audio" } }),
      );
    default:
      return h(
        "a",
        {
          class: "media-document",
          href: url,
          download: media.filename || "",
          dataset: { testid: "message-document" },
        },
        h("span", { class: "document-icon", "aria-hidden": "true" }, "📄"),
        h("span", { class: "document-name", dataset: { testid: "document-name" } }, documentName(media)),
        media.size !== null && media.size !== undefined
          ? h("span", { class: "document-size", dataset: { testid: "document-size" } }, humanSize(media.size))
          : null,
      );
  }
}

function mediaBody(message) {
  const media = message.media || {};
  const url = ownUrl(media.url);
  const parts = [];
  if (url && media.state !== "failed") {
    parts.push(mediaView(message, media, url));
  } else {
    const name = message.type === "document" ? documentName(media) : "";
    parts.push(
      h(
        "p",
        { class: "media-placeholder" },
        h("span", { class: "type-label", dataset: { testid: "message-type" } }, typeLabel(message)),
        name ? ` ${name}` : "",
        media.size ? ` · ${humanSize(media.size)}` : "",
      ),
    );
    if (media.state === "pending") {
      parts.push(
        h("p", { class: "media-state", dataset: { testid: "media-pending" } }, gettext("Downloading…")),
      );
    } else if (media.state === "failed") {
      parts.push(
        h(
          "p",
          { class: "media-state media-failed", dataset: { testid: "media-failed" } },
          media.error
            ? format(gettext("The download failed: %(reason)s"), { reason: media.error })
            : gettext("The download failed."),
          " ",
          h(
            "button",
            { type: "button", class: "text-button", dataset: { action: "retry-media", testid: "media-retry" } },
            gettext("Retry download"),
          ),
        ),
      );
    }
  }
  parts.push(caption(media.caption));
  return h("div", { class: "media" }, ...parts);
}

function mapLink(latitude, longitude) {
  const lat = Number(latitude);
  const lon = Number(longitude);
  if (latitude === null || latitude === "" || longitude === null || longitude === "") return null;
  if (!Number.isFinite(lat) || !Number.isFinite(lon) || Math.abs(lat) > 90 || Math.abs(lon) > 180) {
    return null;
  }
  return `https://www.openstreetmap.org/?mlat=${lat}&mlon=${lon}#map=16/${lat}/${lon}`;
}

function locationBody(message) {
  const c = message.content || {};
  const link = mapLink(c.latitude, c.longitude);
  const site = webUrl(c.url);
  return h(
    "div",
    { class: "location", dataset: { testid: "message-location" } },
    h("span", { class: "location-icon", "aria-hidden": "true" }, "📍"),
    c.name ? h("p", { class: "location-name" }, String(c.name)) : null,
    c.address ? h("p", { class: "location-address" }, String(c.address)) : null,
    h(
      "p",
      { class: "location-coordinates", dataset: { testid: "location-coordinates" } },
      `${c.latitude ?? "?"}, ${c.longitude ?? "?"}`,
    ),
    link
      ? h(
          "a",
          { href: link, target: "_blank", rel: "noopener noreferrer", dataset: { testid: "location-map" } },
          gettext("Open in OpenStreetMap"),
        )
      : null,
    site ? h("a", { href: site, target: "_blank", rel: "noopener noreferrer nofollow", class: "location-site" }, site) : null,
  );
}

const list = (value) => (Array.isArray(value) ? value : []);

function contactCard(card) {
  const name = card && typeof card.name === "object" && card.name ? card.name : {};
  const fullName =
    name.formatted_name || [name.first_name, name.last_name].filter(Boolean).join(" ") || gettext("Unnamed contact");
  const company = card?.org?.company;
  return h(
    "li",
    { class: "contact-card", dataset: { testid: "contact-card" } },
    h("span", { class: "contact-card-name" }, String(fullName)),
    company ? h("span", { class: "contact-card-org" }, String(company)) : null,
    ...list(card?.phones).map((phone) =>
      h("span", { class: "contact-card-phone", dataset: { testid: "contact-card-phone" } }, String(phone?.phone || phone?.wa_id || "")),
    ),
    ...list(card?.emails).map((email) =>
      h("span", { class: "contact-card-email", dataset: { testid: "contact-card-email" } }, String(email?.email || "")),
    ),
  );
}

function contactsBody(message) {
  const cards = list((message.content || {}).contacts);
  if (!cards.length) return labelledBody(message);
  return h("ul", { class: "contact-cards" }, ...cards.map(contactCard));
}

function choiceBody(message) {
  const c = message.content || {};
  let title = message.text || "";
  let description = "";
  if (message.type === "interactive") {
    const reply = c[c.type] || {};
    title = reply.title || title;
    description = reply.description || "";
  } else if (message.type === "button") {
    title = c.text || c.payload || title;
  }
  return h(
    "p",
    { class: "body choice", dataset: { testid: "message-choice" } },
    h("span", { class: "choice-label" }, gettext("Chose:")),
    " ",
    h("strong", { class: "choice-title" }, String(title)),
    description ? h("span", { class: "choice-description" }, ` — ${description}`) : null,
  );
}

function orderBody(message) {
  const c = message.content || {};
  const items = list(c.product_items);
  const count = items.reduce((sum, item) => sum + (Number(item?.quantity) || 0), 0);
  const totals = new Map();
  for (const item of items) {
    const currency = String(item?.currency || "");
    totals.set(currency, (totals.get(currency) || 0) + (Number(item?.item_price) || 0) * (Number(item?.quantity) || 0));
  }
  const money = [...totals]
    .map(([currency, total]) => {
      try {
        return total.toLocaleString(language, { style: "currency", currency });
      } catch {
        return `${total} ${currency}`.trim();
      }
    })
    .join(" + ");
  const summary = format(ngettext("Order: %(count)s item", "Order: %(count)s items", count), { count });
  return h(
    "div",
    { class: "order", dataset: { testid: "message-order" } },
    h("p", { class: "body" }, money ? `${summary}, ${money}` : summary),
    c.text ? h("p", { class: "body caption" }, String(c.text)) : null,
  );
}

function noteBodyOf(message) {
  const c = message.content || {};
  if (message.type === "system") {
    return h("p", { class: "body system-note", dataset: { testid: "message-note" } }, String(c.body || message.text || gettext("A system message from WhatsApp.")));
  }
  return h(
    "p",
    { class: "body system-note", dataset: { testid: "message-note" } },
    gettext("The customer sent a kind of message WhatsApp does not pass on (e.g. an edit or a poll); ask them to send it another way."),
  );
}

function messageBody(message) {
  if (MEDIA_TYPES.has(message.type)) return mediaBody(message);
  switch (message.type) {
    case "text":
    case "template":
      return plainBody(message);
    case "location":
      return locationBody(message);
    case "contacts":
      return contactsBody(message);
    case "interactive":
    case "button":
      return choiceBody(message);
    case "order":
      return orderBody(message);
    case "system":
    case "unsupported":
      return noteBodyOf(message);
    default:
      return labelledBody(message);
  }
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

function timeElement(iso) {
  return h("time", { datetime: iso, title: fullTime(iso) }, threadTime(iso));
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
      ),
      messageActions(message),
    ),
    reactionsOf(message),
  );
}

/** Splits a note into text and highlighted @mentions (as text nodes, never markup). */
function noteBody(note) {
  const known = new Set((note.mentions || []).map((user) => user.username.toLowerCase()));
  const parts = [];
  let last = 0;
  for (const match of note.text.matchAll(/@([\w.+-]+)/g)) {
    const name = match[1].replace(/[.]+$/, "");
    if (!known.has(name.toLowerCase())) continue;
    parts.push(note.text.slice(last, match.index));
    parts.push(h("span", { class: "mention", dataset: { testid: "mention" } }, `@${name}`));
    last = match.index + 1 + name.length;
  }
  parts.push(note.text.slice(last));
  return h("p", { class: "body" }, ...parts);
}

export function noteItem(note) {
  return h(
    "li",
    {
      class: "note",
      dataset: { testid: "note", noteId: note.id, at: note.created_at },
    },
    h(
      "div",
      { class: "note-card" },
      h(
        "span",
        { class: "note-head" },
        h("span", { class: "note-tag" }, gettext("Private note")),
        h("span", { class: "author" }, note.author ? note.author.name : gettext("Someone")),
        timeElement(note.created_at),
      ),
      noteBody(note),
    ),
  );
}

const personName = (user) => (user && (user.name || user.username)) || "";

/** One sentence for an activity event: who changed what. */
export function eventText(event) {
  const data = event.data || {};
  const actor = event.actor ? personName(event.actor) : null;
  const who = actor || gettext("The inbox");
  switch (event.kind) {
    case "status": {
      const to = data.to || data.status || "";
      if (data.reason === "reopened") return gettext("The customer wrote: the chat was reopened");
      if (data.reason === "woke") return gettext("The customer wrote: the chat woke from snooze");
      if (data.reason === "customer_replied") return gettext("The customer replied: the chat is open again");
      if (data.reason === "snooze_ended") return gettext("The snooze ended: the chat is open again");
      if (to === "snoozed" && data.snoozed_until) {
        return format(gettext("%(who)s snoozed the chat until %(time)s"), {
          who,
          time: fullTime(data.snoozed_until),
        });
      }
      return format(gettext("%(who)s set the status to %(status)s"), { who, status: statusLabel(to) });
    }
    case "assigned": {
      const name = personName(data.assignee || data.to) || gettext("someone");
      if (data.reason === "claim") return format(gettext("%(who)s took the chat"), { who });
      if (!event.actor) return format(gettext("Assigned automatically to %(name)s"), { name });
      return format(gettext("%(who)s assigned the chat to %(name)s"), { who, name });
    }
    case "unassigned":
      return format(gettext("%(who)s unassigned the chat"), { who });
    case "team": {
      const team = data.to || data.team;
      return team
        ? format(gettext("%(who)s moved the chat to the team %(team)s"), { who, team: team.name || "" })
        : format(gettext("%(who)s removed the chat from its team"), { who });
    }
    case "escalated": {
      const minutes = data.waited_minutes ?? "";
      if (data.action === "reassigned") {
        return format(
          gettext("The customer waited %(minutes)s min: reassigned to %(name)s"),
          { minutes, name: personName(data.to) || gettext("someone") },
        );
      }
      return format(gettext("The customer waited %(minutes)s min: escalated to the supervisors"), {
        minutes,
      });
    }
    case "labels": {
      const added = data.added || [];
      const removed = data.removed || [];
      const parts = [];
      if (added.length) parts.push(format(gettext("added %(labels)s"), { labels: added.join(", ") }));
      if (removed.length) {
        parts.push(format(gettext("removed %(labels)s"), { labels: removed.join(", ") }));
      }
      return format(gettext("%(who)s changed the labels: %(change)s"), {
        who,
        change: parts.join("; "),
      });
    }
    default:
      return format(gettext("%(who)s changed the chat (%(kind)s)"), { who, kind: event.kind });
  }
}

/**
 * A notification's sentence in the operator's language, made from its data; the
 * server's English sentence only for a kind this page does not know.
 */
export function notificationSentence(notification) {
  const data = notification.data || {};
  if (notification.kind === "mention" && data.author) {
    return format(gettext("%(name)s mentioned you: %(text)s"), { name: data.author, text: data.note || "" });
  }
  if (notification.kind === "escalation" && data.customer) {
    return format(gettext("%(name)s has waited %(minutes)s min for a reply (%(team)s)."), {
      name: data.customer,
      minutes: data.waited_minutes,
      team: data.team,
    });
  }
  if (notification.text) return notification.text;
  if (notification.kind === "mention") return gettext("You were mentioned in a note");
  if (notification.kind === "escalation") return gettext("A customer waited too long: escalated");
  return notification.kind;
}

export function eventItem(event) {
  return h(
    "li",
    { class: `event event-${event.kind}`, dataset: { testid: "event", eventId: event.id, at: event.created_at, kind: event.kind } },
    h("span", { class: "event-text" }, eventText(event)),
    " ",
    timeElement(event.created_at),
  );
}
