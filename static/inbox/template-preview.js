// A message template drawn as the customer's WhatsApp shows it: a bubble with its
// header, body and footer, the values filled in, and its buttons under it. The
// templates page previews with the example values, the composer with the
// operator's. Everything becomes text nodes: a template is never parsed as HTML.
import { h } from "./dom.js";
import { gettext } from "./i18n.js";

const VARIABLE = /\{\{\s*([^{}]*?)\s*\}\}/g;

/** The variables of a text, each once, in the order they first appear. */
export function variablesOf(text) {
  const seen = [];
  for (const match of String(text || "").matchAll(VARIABLE)) {
    if (!seen.includes(match[1])) seen.push(match[1]);
  }
  return seen;
}

/** The text with each {{variable}} replaced by its value; one without a value stays. */
export function fillText(text, values = {}) {
  return String(text || "").replace(VARIABLE, (whole, key) => {
    const value = values[key];
    return value === undefined || value === null || value === "" ? whole : String(value);
  });
}

/** The component of a kind (HEADER, BODY, FOOTER, BUTTONS) or null. */
export function component(components, type) {
  return (components || []).find((c) => String(c.type || "").toUpperCase() === type) || null;
}

export function buttonsOf(components) {
  return component(components, "BUTTONS")?.buttons || [];
}

const MEDIA_LABELS = {
  IMAGE: () => gettext("Image"),
  VIDEO: () => gettext("Video"),
  DOCUMENT: () => gettext("Document"),
  LOCATION: () => gettext("Location"),
};

const BUTTON_ICONS = { URL: "↗", PHONE_NUMBER: "✆", COPY_CODE: "⧉", QUICK_REPLY: "↩" };

/**
 * The bubble. values: {header: {key: value}, body: {key: value}, buttons: [value…]}
 * (a variable without a value shows as {{key}}).
 */
export function templateBubble(components, values = {}) {
  const header = component(components, "HEADER");
  const body = component(components, "BODY");
  const footer = component(components, "FOOTER");
  const buttons = buttonsOf(components);
  const parts = [];
  if (header) {
    const format = String(header.format || "TEXT").toUpperCase();
    if (format === "TEXT") {
      parts.push(
        h("p", { class: "wa-header", dataset: { testid: "preview-header" } },
          fillText(header.text, values.header || {})),
      );
    } else {
      const label = (MEDIA_LABELS[format] || (() => format))();
      parts.push(h("div", { class: `wa-media wa-media-${format.toLowerCase()}` }, label));
    }
  }
  parts.push(
    h("p", { class: "wa-body", dataset: { testid: "preview-body" } },
      fillText(body?.text ?? "", values.body || {})),
  );
  if (footer && footer.text) {
    parts.push(h("p", { class: "wa-footer", dataset: { testid: "preview-footer" } }, footer.text));
  }
  const bubble = h("div", { class: "wa-bubble", dataset: { testid: "preview-bubble" } }, ...parts);
  const wrap = h("div", { class: "wa-message" }, bubble);
  if (buttons.length) {
    wrap.append(
      h(
        "ul",
        { class: "wa-buttons" },
        ...buttons.map((button) =>
          h(
            "li",
            { class: "wa-button", dataset: { testid: "preview-button" } },
            h("span", { "aria-hidden": "true" }, BUTTON_ICONS[String(button.type).toUpperCase()] || ""),
            " ",
            button.text || "",
          ),
        ),
      ),
    );
  }
  return wrap;
}

/** The example values a template carries, in the preview's shape. */
export function exampleValues(components, parameterFormat) {
  const named = String(parameterFormat || "").toUpperCase() === "NAMED";
  const values = { header: {}, body: {}, buttons: [] };
  for (const part of ["HEADER", "BODY"]) {
    const c = component(components, part);
    if (!c || !c.text) continue;
    const key = part.toLowerCase();
    const example = c.example || {};
    if (named) {
      for (const pair of example[`${key}_text_named_params`] || []) {
        values[key][pair.param_name] = pair.example;
      }
    } else {
      const list = part === "HEADER" ? example.header_text || [] : (example.body_text || [])[0] || [];
      list.forEach((value, i) => {
        values[key][String(i + 1)] = value;
      });
    }
  }
  return values;
}
