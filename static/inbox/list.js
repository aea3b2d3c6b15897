// The conversation list: its filters, its rows, its unread total, and the keys
// that move through it.
import { focusComposer } from "./composer.js";
import { option, show } from "./dom.js";
import { format, ngettext } from "./i18n.js";
import { closePopovers } from "./popover.js";
import { renderWindowState } from "./render.js";
import { conversationItem } from "./row.js";
import {
  api,
  byTestId,
  changedLiveSince,
  conversations,
  epoch,
  redirectIfSignedOut,
  root,
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
let synced = false;

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

export function renderList() {
  const focused = document.activeElement?.closest?.("[data-conversation-id]");
  const focusedId = focused ? Number(focused.dataset.conversationId) : null;
  const sorted = sortConversations(
    [...listed].map((id) => conversations.get(id)).filter(Boolean),
  );
  if (state.cursorId === null || !sorted.some((c) => c.id === state.cursorId)) {
    state.cursorId = sorted.some((c) => c.id === state.openId) ? state.openId : (sorted[0]?.id ?? null);
  }
  ui.list.replaceChildren(...sorted.map((c) => conversationItem(c, rowState(c))));
  const empty = synced && sorted.length === 0;
  show(ui.listEmpty, empty);
  if (empty && filtered()) ui.listEmpty.textContent = ui.listEmpty.dataset.filtered;
  else if (empty) ui.listEmpty.textContent = ui.listEmpty.dataset.defaultText;
  if (focusedId !== null) {
    ui.list.querySelector(`[data-conversation-id="${focusedId}"] button`)?.focus();
  }
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

/** Brings every row's countdown to the end of the customer-service window up to date. */
export function refreshCountdowns() {
  for (const item of ui.list.children) {
    const conversation = conversations.get(Number(item.dataset.conversationId));
    const countdown = item.querySelector('[data-testid="window-countdown"]');
    if (conversation && countdown) renderWindowState(countdown, conversation.window_expires_at);
  }
}

function showListError(error) {
  ui.listError.textContent = error ? `${ui.listError.dataset.prefix} ${error.message}` : "";
  show(ui.listError, Boolean(error));
}

export async function loadList() {
  const load = ++listLoads;
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
  } catch (error) {
    if (load !== listLoads) return;
    if (!redirectIfSignedOut(error)) showListError(error);
  }
  renderList();
}

// --- Wiring ------------------------------------------------------------------------

ui.list.addEventListener("click", (event) => {
  const item = event.target.closest("[data-conversation-id]");
  if (item) openConversation(Number(item.dataset.conversationId));
});

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
