// Translations come from Django's JavaScriptCatalog (/jsi18n/, loaded before the
// modules): these wrappers fall back to English when it did not load.
const catalog = globalThis;

export function gettext(text) {
  return typeof catalog.gettext === "function" ? catalog.gettext(text) : text;
}

export function ngettext(singular, plural, count) {
  if (typeof catalog.ngettext === "function") return catalog.ngettext(singular, plural, count);
  return count === 1 ? singular : plural;
}

export function pgettext(context, text) {
  return typeof catalog.pgettext === "function" ? catalog.pgettext(context, text) : text;
}

/** Fills "%(name)s" placeholders; the values are inserted as they are (the caller shows text). */
export function format(template, values) {
  return template.replace(/%\((\w+)\)s/g, (match, key) =>
    key in values ? String(values[key]) : match,
  );
}

export const language = document.documentElement.lang || "en";
