// Builds elements without ever parsing HTML: every string becomes a text node,
// so whatever a customer writes is shown exactly as written.

/**
 * h("li", {class: "x", dataset: {testid: "item"}}, "text", childNode)
 * Attributes set to null/undefined/false are left out; `true` sets an empty attribute.
 */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (name === "dataset") {
      for (const [key, v] of Object.entries(value)) {
        if (v !== null && v !== undefined) el.dataset[key] = String(v);
      }
    } else if (name === "style") {
      // Through the CSSOM: the Content-Security-Policy refuses style attributes.
      el.style.cssText = String(value);
    } else {
      el.setAttribute(name, value === true ? "" : String(value));
    }
  }
  el.append(...children.filter((c) => c !== null && c !== undefined && c !== false));
  return el;
}

export function show(el, visible) {
  el.hidden = !visible;
}

export function option(value, text) {
  return h("option", { value }, text);
}
