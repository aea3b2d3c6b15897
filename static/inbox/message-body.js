// The body of a message, by its kind: text, photos and other files, locations,
// shared contacts, chosen buttons and list rows, orders, WhatsApp's system notes.
// Everything the customer sent goes in as text; links only to our own stored
// files, OpenStreetMap and http(s) sites the customer shared.
import { h } from "./dom.js";
import { format, gettext, language, ngettext } from "./i18n.js";

const MEDIA_TYPES = new Set(["image", "sticker", "video", "audio", "document"]);

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

/** What the bubble holds for this kind of message. */
export function messageBody(message) {
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
