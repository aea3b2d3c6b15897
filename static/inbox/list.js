// The conversation list: its filters, its rows (one element per conversation,
// updated in place as live events arrive), its unread total, and the keys that
// move through it.
import { focusComposer } from "./composer.js";
import { option, show } from "./dom.js";
import { format, ngettext } from "./i18n.js";
import { closePopovers } from "./popover.js";
import { renderSlaClock, renderWindowState, slaDue } from "./render.js";
import { conversationRow, updateConversationRow } from "./row.js";
import {
  api,
  byTestId,
  changedLiveSince,
  conversations,
  epoch,
  redirectIfSignedOut,
  root,
  slaOf,
  state,
  upsertConversation,
} from "./state.js";
import { claim, collisions, resolveOpen } from "./thread-head.js";
import { closeReactionPickers, openConversation } from "./thread.js";
import { helpOpen, toggleHelp } from "./topbar.js";

const SEARCH_DELAY_MS = 300;

const ui = {
  list: byTestId("conversation-list"),
  listEmpty: byTestId("conversation-list-empty"),
  listError: byTestId("list-error"),
  listUnread: byTestId("list-unread"),
  filters: byTestId("filters"),
  search: byTestId("filter-search"),
  filterStatus: byTestId("filter-status"),
  filterAssignee: byTestId("filter-assignee"),
  filterTeam: byTestId("filter-team"),
  filterLabel: byTestId("filter-label"),
  filterNumber: byTestId("filter-number"),
  filterSort: byTestId("filter-sort"),
};

let listed = new Set(); // ids shown under the current filters
let listLoads = 0; // lets an answer for filters no longer chosen be dropped
let listReading = 0; // list reads asked for and not yet handled
let synced = false;
const rows = new Map(); // conversation id -> its row element, while it is in the list
// A pointer is pressed on the list: until it is released no row is added, removed
// or moved (their contents still update). The browser drops a click whose row was
// taken out of the page, even to be put back, between the press and the release.
let held = false;

// --- Filters -------------------------------------------------------------------

function currentFilters() {
  return {
    status: ui.filterStatus.value,
    assignee: ui.filterAssignee.value,
    team: ui.filterTeam.value,
    label: ui.filterLabel.value,
    number: ui.filterNumber.value,
    search: ui.search.value.trim(),
    sort: ui.filterSort.value,
  };
}

const filtered = () => {
  const f = currentFilters();
  return Boolean(f.status !== "open" || f.assignee !== "anyone" || f.team || f.label || f.number || f.search || f.sort !== "activity");
};

/**
 * Whether a conversation the server told us about belongs in the current list.
 * Search terms are matched on name and phone only (message text is the server's job).
 */
function matchesFilters(c, inListAlready) {
  const f = currentFilters();
  if (f.status && c.status !== f.status) return false;
  if (f.assignee === "me" && c.assignee?.id !== state.meId) return false;
  if (f.assignee === "unassigned" && c.assignee) return false;
  if (f.team && String(c.team?.id ?? "") !== f.team) return false;
  if (f.label && !(c.labels || []).some((l) => String(l.id) === f.label)) return false;
  if (f.number && String(c.number?.id ?? "") !== f.number) return false;
  if (f.sort === "window" && !(c.waiting_since && epoch(c.window_expires_at) > Date.now())) {
    return false;
  }
  if (f.sort === "sla" && (c.status === "resolved" || slaDue(slaOf(c.id)) === null)) return false;
  if (f.search && !inListAlready) {
    const needle = f.search.toLowerCase();
    const contact = c.contact || {};
    const hay = [contact.name, contact.phone, contact.wa_id, c.last_message_text]
      .filter(Boolean)
      .join(" ")
      .toLowerCase();
    if (!hay.includes(needle)) return false;
  }
  return true;
}

function sortConversations(list) {
  if (ui.filterSort.value === "sla") {
    return list.sort((a, b) => slaDue(slaOf(a.id)) - slaDue(slaOf(b.id)) || a.id - b.id);
  }
  if (ui.filterSort.value === "window") {
    return list.sort(
      (a, b) => epoch(a.window_expires_at) - epoch(b.window_expires_at) || a.id - b.id,
    );
  }
  return list.sort(
    (a, b) => epoch(b.last_message_at) - epoch(a.last_message_at) || b.id - a.id,
  );
}

function fillSelect(select, rows, toOption) {
  const keep = select.value;
  const first = select.querySelector('option[value=""]');
  select.replaceChildren(...(first ? [first] : []), ...rows.map(toOption));
  select.value = [...select.options].some((o) => o.value === keep) ? keep : "";
}

/** The filters' choices of labels, teams and numbers (each when given). */
export function fillFilterChoices({ labels, teams, numbers }) {
  if (labels) fillSelect(ui.filterLabel, labels, (l) => option(l.id, l.name));
  if (teams) fillSelect(ui.filterTeam, teams, (t) => option(t.id, t.name));
  if (numbers) {
    fillSelect(ui.filterNumber, numbers, (n) => option(n.id, n.name || n.display_phone_number));
  }
}

// --- Rows ------------------------------------------------------------------------

function unreadOf(conversation) {
  return conversation.id === state.openId ? 0 : conversation.unread_count || 0;
}

/** After a live change: in or out of the current list, as the filters say. */
export function relist(conversation) {
  if (matchesFilters(conversation, listed.has(conversation.id))) listed.add(conversation.id);
  else listed.delete(conversation.id);
}

function watchersOf(id) {
  if (id === state.openId) return "";
  return collisions
    .viewers(id)
    .map((v) => v.user.name || v.user.username)
    .join(", ");
}

function rowState(c) {
  return {
    active: c.id === state.openId,
    cursor: c.id === state.cursorId,
    unread: unreadOf(c),
    meId: state.meId,
    watchers: watchersOf(c.id),
  };
}

/** The indices of a longest run in `positions` that increases (-1: not placed yet, never in it). */
function longestIncreasingRun(positions) {
  const tails = []; // tails[k]: the index ending the run of length k + 1 with the smallest position
  const previous = [];
  positions.forEach((position, i) => {
    if (position < 0) return;
    let low = 0;
    let high = tails.length;
    while (low < high) {
      const middle = (low + high) >> 1;
      if (positions[tails[middle]] < position) low = middle + 1;
      else high = middle;
    }
    previous[i] = low > 0 ? tails[low - 1] : -1;
    tails[low] = i;
  });
  const run = new Set();
  for (let i = tails.length ? tails[tails.length - 1] : -1; i >= 0; i = previous[i]) run.add(i);
  return run;
}

/**
 * Puts `wanted` (every row the list shows, new ones included) into the list in that
 * order, moving as few rows as possible: the longest run of rows already in the
 * right order among themselves stays where it is.
 */
function placeInOrder(wanted) {
  const was = new Map([...ui.list.children].map((li, i) => [li, i]));
  const stay = longestIncreasingRun(wanted.map((li) => was.get(li) ?? -1));
  let next = null;
  for (let i = wanted.length - 1; i >= 0; i -= 1) {
    if (!stay.has(i)) ui.list.insertBefore(wanted[i], next);
    next = wanted[i];
  }
}

export function renderList() {
  const sorted = sortConversations(
    [...listed].map((id) => conversations.get(id)).filter(Boolean),
  );
  if (state.cursorId === null || !sorted.some((c) => c.id === state.cursorId)) {
    state.cursorId = sorted.some((c) => c.id === state.openId) ? state.openId : (sorted[0]?.id ?? null);
  }
  const focused = document.activeElement;
  const wanted = [];
  for (const conversation of sorted) {
    let li = rows.get(conversation.id);
    if (li) {
      updateConversationRow(li, conversation, rowState(conversation));
    } else if (!held) {
      li = conversationRow(conversation, rowState(conversation));
      rows.set(conversation.id, li);
    }
    if (li) wanted.push(li);
  }
  if (!held) {
    const keep = new Set(wanted);
    for (const [id, li] of rows) {
      if (keep.has(li)) continue;
      li.remove();
      rows.delete(id);
    }
    placeInOrder(wanted);
    // A row that moved lost the focus it had.
    if (focused !== document.activeElement && ui.list.contains(focused)) focused.focus();
  }
  const empty = synced && sorted.length === 0;
  show(ui.listEmpty, empty);
  if (empty && filtered()) ui.listEmpty.textContent = ui.listEmpty.dataset.filtered;
  else if (empty) ui.listEmpty.textContent = ui.listEmpty.dataset.defaultText;
  renderUnreadTotal(sorted);
}

function renderUnreadTotal(sorted) {
  const total = sorted.reduce((sum, c) => sum + unreadOf(c), 0);
  ui.listUnread.textContent = String(total);
  ui.listUnread.setAttribute(
    "aria-label",
    format(ngettext("%(count)s unread message", "%(count)s unread messages", total), {
      count: total,
    }),
  );
  show(ui.listUnread, total > 0);
  const title = root.dataset.title;
  document.title = total > 0 ? `(${total}) ${title}` : title;
}

/** Brings every row's countdowns (the customer-service window, the SLA clock) up to date. */
export function refreshCountdowns() {
  for (const item of ui.list.children) {
    const conversation = conversations.get(Number(item.dataset.conversationId));
    if (!conversation) continue;
    const countdown = item.querySelector('[data-testid="window-countdown"]');
    if (countdown) renderWindowState(countdown, conversation.window_expires_at);
    const clock = item.querySelector('[data-testid="sla-clock"]');
    if (clock) renderSlaClock(clock, conversation.status === "resolved" ? null : slaOf(conversation.id));
  }
}

function showListError(error) {
  ui.listError.textContent = error ? `${ui.listError.dataset.prefix} ${error.message}` : "";
  show(ui.listError, Boolean(error));
}

export async function loadList() {
  const load = ++listLoads;
  // aria-busy while any read is on its way: assistive technology waits for the
  // list to settle (and the browser tests know when an answer has been handled).
  listReading += 1;
  ui.list.setAttribute("aria-busy", "true");
  try {
    const asked = performance.now();
    const answer = await api.listConversations(currentFilters());
    if (load !== listLoads) return;
    // A chat that changed live after the list was asked for may be missing from
    // an answer read before that change: it stays listed if it matches.
    const newer = [...conversations.values()].filter(
      (c) => changedLiveSince(c.id, asked) && matchesFilters(c, listed.has(c.id)),
    );
    listed = new Set([...answer.map((c) => c.id), ...newer.map((c) => c.id)]);
    for (const conversation of answer) {
      if (!upsertConversation(conversation, asked)) relist(conversations.get(conversation.id));
    }
    synced = true;
    showListError(null);
    renderList();
  } catch (error) {
    if (load !== listLoads) return;
    if (!redirectIfSignedOut(error)) showListError(error);
    renderList();
  } finally {
    listReading -= 1;
    if (listReading === 0) ui.list.setAttribute("aria-busy", "false");
  }
}

// --- Wiring ------------------------------------------------------------------------

// One listener for every row, present and future: the row comes from where the
// click landed, never from an element an update may have replaced.
ui.list.addEventListener("click", (event) => {
  const item = event.target.closest("[data-conversation-id]");
  if (item) openConversation(Number(item.dataset.conversationId));
});

ui.list.addEventListener("pointerdown", (event) => {
  if (event.button === 0) held = true;
});

function release() {
  if (!held) return;
  held = false;
  renderList();
}

// After the release's click (dispatched in the same task as the release).
for (const type of ["pointerup", "pointercancel"]) {
  window.addEventListener(type, () => setTimeout(release), true);
}
window.addEventListener("blur", release);

ui.filters.addEventListener("submit", (event) => {
  event.preventDefault();
  loadList();
});
ui.filters.addEventListener("change", (event) => {
  if (event.target !== ui.search) loadList();
});
let searchTimer = null;
ui.search.addEventListener("input", () => {
  clearTimeout(searchTimer);
  searchTimer = setTimeout(loadList, SEARCH_DELAY_MS);
});

ui.listEmpty.dataset.defaultText = ui.listEmpty.textContent.trim();

// --- Keyboard ----------------------------------------------------------------------

/** Puts the focus on the list item the keyboard is on. */
export function focusCursorRow() {
  ui.list.querySelector(".is-cursor button")?.focus();
}

function moveCursor(step) {
  const items = [...ui.list.children];
  if (!items.length) return;
  const at = items.findIndex((li) => Number(li.dataset.conversationId) === state.cursorId);
  const next = items[Math.min(items.length - 1, Math.max(0, at + step))];
  state.cursorId = Number(next.dataset.conversationId);
  for (const li of items) {
    const here = li === next;
    li.classList.toggle("is-cursor", here);
    li.querySelector("button").tabIndex = here ? 0 : -1;
  }
  next.querySelector("button").focus();
  next.scrollIntoView({ block: "nearest" });
}

function typingInField(target) {
  return (
    target instanceof HTMLElement &&
    (target.isContentEditable || ["INPUT", "TEXTAREA", "SELECT"].includes(target.tagName))
  );
}

document.addEventListener("keydown", (event) => {
  if (event.ctrlKey || event.metaKey || event.altKey || event.isComposing) return;
  if (helpOpen()) {
    if (event.key === "Escape" || event.key === "?") {
      event.preventDefault();
      toggleHelp(false);
    }
    return;
  }
  if (event.key === "Escape") {
    closePopovers();
    closeReactionPickers();
    if (typingInField(event.target)) event.target.blur();
    return;
  }
  if (typingInField(event.target)) return;
  const keys = {
    "?": () => toggleHelp(true),
    j: () => moveCursor(1),
    ArrowDown: () => moveCursor(1),
    k: () => moveCursor(-1),
    ArrowUp: () => moveCursor(-1),
    Enter: () => state.cursorId !== null && openConversation(state.cursorId),
    r: () => focusComposer("reply"),
    n: () => focusComposer("note"),
    e: resolveOpen,
    c: () => {
      const c = conversations.get(state.openId);
      if (c && !c.assignee) claim();
    },
  };
  const run = keys[event.key];
  if (!run) return;
  // Enter on a focused button other than a list item keeps its own meaning.
  if (event.key === "Enter" && event.target.closest?.("button") && !event.target.closest(".conversation")) {
    return;
  }
  event.preventDefault();
  run();
});
