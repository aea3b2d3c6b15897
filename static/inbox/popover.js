// The page's small menus (transfer, labels, snooze, notifications, settings): a
// button with aria-haspopup opens the panel right after it; one is open at a time,
// and a click elsewhere closes it.
import { show } from "./dom.js";

const whenOpened = new Map(); // button -> what to do each time its panel opens

/** Runs `run` each time the panel of `button` opens. */
export function onPopoverOpen(button, run) {
  whenOpened.set(button, run);
}

export function closePopovers(except = null) {
  for (const button of document.querySelectorAll(".menu > [aria-haspopup]")) {
    const panel = button.nextElementSibling;
    if (panel === except) continue;
    button.setAttribute("aria-expanded", "false");
    show(panel, false);
  }
}

function togglePopover(button) {
  const panel = button.nextElementSibling;
  const opening = panel.hidden;
  closePopovers(panel);
  show(panel, opening);
  button.setAttribute("aria-expanded", String(opening));
  if (opening) panel.querySelector("input, select, button")?.focus();
  return opening;
}

document.addEventListener("click", (event) => {
  const button = event.target.closest(".menu > [aria-haspopup]");
  if (button) {
    if (togglePopover(button)) whenOpened.get(button)?.();
    return;
  }
  if (!event.target.closest(".popover")) closePopovers();
});
