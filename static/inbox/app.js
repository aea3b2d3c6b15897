// The operator's workspace: filtered conversation list, open thread with notes
// and activity, assignment and status actions, collision, presence, notifications,
// canned replies and keyboard use, kept live over one WebSocket. Every
// (re)connect re-reads the list and the open thread from the API, so nothing
// published while the socket was away is lost.
import { createApi } from "./api.js";
import { Collisions } from "./collision.js";
import { h, show } from "./dom.js";
import { format, gettext, ngettext } from "./i18n.js";
import { alertOperator, askDesktopPermission, setPreferences } from "./notify.js";
import {
  contactName,
  contactSubtitle,
  conversationItem,
  eventItem,
  humanSize,
  isNewer,
  labelChip,
  messageItem,
  messageSummary,
  noteItem,
  notificationSentence,
  presenceLabel,
  renderWindowState,
  statusLabel,
} from "./render.js";
import { LiveSocket } from "./socket.js";
import { Suggestions } from "./suggest.js";
import { fromLocalInput, fullTime, setTimeZone, shortTime, toLocalInput } from "./time.js";

const COUNTDOWN_EVERY_MS = 30_000;
const VIEWING_EVERY_MS = 10_000;
const TYPING_EVERY_MS = 2_500;
// WhatsApp shows the customer "typing…" for up to 25 s per indicator.
const CUSTOMER_TYPING_EVERY_MS = 20_000;
const SEARCH_DELAY_MS = 300;

const root = document.getElementById("inbox");
const tools = document.getElementById("tools");
const api = createApi(root.dataset.conversationsUrl);
const byTestId = (id, scope = document) => scope.querySelector(`[data-testid="${id}"]`);
const ui = {
  connection: byTestId("connection-state"),
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
  placeholder: byTestId("thread-placeholder"),
  view: byTestId("thread-view"),
  title: byTestId("thread-title"),
  subtitle: byTestId("thread-subtitle"),
  countdown: root.querySelector('.thread-head [data-testid="window-countdown"]'),
  threadStatus: byTestId("thread-status"),
  threadAssignee: byTestId("thread-assignee"),
  threadLabels: byTestId("thread-labels"),
  claim: byTestId("claim-button"),
  transferButton: byTestId("transfer-button"),
  transferForm: byTestId("transfer-form"),
  transferTarget: byTestId("transfer-target"),
  unassign: byTestId("unassign-button"),
  labelsButton: byTestId("labels-button"),
  labelOptions: byTestId("label-options"),
  labelsEmpty: byTestId("labels-empty"),
  pending: byTestId("pending-button"),
  snoozeButton: byTestId("snooze-button"),
  snoozeForm: byTestId("snooze-form"),
  snoozeUntil: byTestId("snooze-until"),
  resolve: byTestId("resolve-button"),
  reopen: byTestId("reopen-button"),
  actionError: byTestId("action-error"),
  collision: byTestId("collision"),
  thread: byTestId("thread"),
  banner: byTestId("window-banner"),
  composerError: byTestId("composer-error"),
  composer: byTestId("composer"),
  input: byTestId("composer-input"),
  send: byTestId("composer-send"),
  replyBanner: byTestId("reply-banner"),
  replyBannerText: byTestId("reply-banner-text"),
  replyCancel: byTestId("reply-cancel"),
  attach: byTestId("composer-attach"),
  fileInput: byTestId("composer-file"),
  attachment: byTestId("composer-attachment"),
  attachmentName: byTestId("composer-attachment-name"),
  attachmentRemove: byTestId("composer-attachment-remove"),
  cannedList: byTestId("canned-list"),
  mentionList: byTestId("mention-list"),
  presencePanel: byTestId("presence-panel"),
  agentList: byTestId("agent-list"),
  myPresence: byTestId("my-presence", tools),
  presenceSwitch: byTestId("presence-switch", tools),
  notificationsButton: byTestId("notifications-button", tools),
  notificationsCount: byTestId("notifications-count", tools),
  notificationsPanel: byTestId("notifications-panel", tools),
  notificationList: byTestId("notification-list", tools),
  notificationsEmpty: byTestId("notifications-empty", tools),
  notificationsReadAll: byTestId("notifications-read-all", tools),
  notifyDesktop: byTestId("notify-desktop", tools),
  notifySound: byTestId("notify-sound", tools),
  languageSelect: byTestId("language-select", tools),
  timeZoneSelect: byTestId("time-zone-select", tools),
  helpButton: byTestId("help-button", tools),
  help: byTestId("help-overlay"),
  helpClose: byTestId("help-close"),
};

// --- State -------------------------------------------------------------------

let me = null; // GET me/ (null until it answers)
let meId = null; // from me/ or the socket's hello
const conversations = new Map(); // id -> conversation as the API shapes it
const liveAt = new Map(); // id -> when a live event last told of it (performance.now())
let listed = new Set(); // ids shown under the current filters
let openId = null;
let cursorId = null; // the list item the keyboard is on
let items = new Map(); // "m:<id>" | "n:<id>" | "e:<id>" -> data, for the open thread
let byWamid = new Map(); // WhatsApp message id -> message of the open thread (for quotes)
let replyTo = null; // the message the next reply quotes
let attachedFile = null; // the file the next reply sends
let threadLoads = 0; // lets a slow answer for a thread no longer shown be dropped
let listLoads = 0;
let sending = false;
let synced = false;
let mode = "reply"; // the composer: reply to the customer or a private note
let labels = [];
let teams = [];
let agents = new Map(); // id -> agent
let labelsSaving = 0; // label changes of this operator still on their way
let notifications = new Map(); // id -> notification
const pageLoadedAt = Date.now();
// A 409 from the server while the page still thought the window open; it holds
// until the customer writes again.
let refusal = null; // {conversationId, lastInboundAt, detail}

const isSupervisor = () =>
  Boolean(me && (me.roles || []).some((role) => role === "supervisor" || role === "admin"));

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

const epoch = (iso) => (iso ? Date.parse(iso) : 0);

/**
 * Whether a conversation the server told us about belongs in the current list.
 * Search terms are matched on name and phone only (message text is the server's job).
 */
function matchesFilters(c, inListAlready) {
  const f = currentFilters();
  if (f.status && c.status !== f.status) return false;
  if (f.assignee === "me" && c.assignee?.id !== meId) return false;
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

function option(value, text) {
  return h("option", { value }, text);
}

function fillSelect(select, rows, toOption) {
  const keep = select.value;
  const first = select.querySelector('option[value=""]');
  select.replaceChildren(...(first ? [first] : []), ...rows.map(toOption));
  select.value = [...select.options].some((o) => o.value === keep) ? keep : "";
}

// --- Conversations -----------------------------------------------------------

function unreadOf(conversation) {
  return conversation.id === openId ? 0 : conversation.unread_count || 0;
}

/** The open thread is being read: the server zeroes its count for the whole team. */
function markRead(id) {
  const conversation = conversations.get(id);
  if (!conversation || !conversation.unread_count) return;
  const asked = performance.now();
  api.markRead(id).then(
    (answer) => upsertConversation(answer, asked),
    (error) => redirectIfSignedOut(error),
  );
}

/**
 * Keeps the newer of what we have and `incoming`. An API answer (`askedAt`: when it
 * was asked for) loses to a live event that arrived after it was asked for: the
 * answer may have been read before that change.
 */
function upsertConversation(incoming, askedAt = null) {
  const current = conversations.get(incoming.id);
  if (current && epoch(incoming.last_message_at) < epoch(current.last_message_at)) return false;
  if (askedAt === null) liveAt.set(incoming.id, performance.now());
  else if ((liveAt.get(incoming.id) ?? -1) > askedAt) return false;
  conversations.set(incoming.id, incoming);
  return true;
}

/** After a live change: in or out of the current list, as the filters say. */
function relist(conversation) {
  if (matchesFilters(conversation, listed.has(conversation.id))) listed.add(conversation.id);
  else listed.delete(conversation.id);
}

function watchersOf(id) {
  if (id === openId) return "";
  return collisions
    .viewers(id)
    .map((v) => v.user.name || v.user.username)
    .join(", ");
}

function renderList() {
  const focused = document.activeElement?.closest?.("[data-conversation-id]");
  const focusedId = focused ? Number(focused.dataset.conversationId) : null;
  const sorted = sortConversations(
    [...listed].map((id) => conversations.get(id)).filter(Boolean),
  );
  if (cursorId === null || !sorted.some((c) => c.id === cursorId)) {
    cursorId = sorted.some((c) => c.id === openId) ? openId : (sorted[0]?.id ?? null);
  }
  ui.list.replaceChildren(
    ...sorted.map((c) =>
      conversationItem(c, {
        active: c.id === openId,
        cursor: c.id === cursorId,
        unread: unreadOf(c),
        meId,
        watchers: watchersOf(c.id),
      }),
    ),
  );
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

function showListError(error) {
  ui.listError.textContent = error ? `${ui.listError.dataset.prefix} ${error.message}` : "";
  show(ui.listError, Boolean(error));
}

async function loadList() {
  const load = ++listLoads;
  try {
    const asked = performance.now();
    const rows = await api.listConversations(currentFilters());
    if (load !== listLoads) return;
    // A chat that changed live after the list was asked for may be missing from
    // an answer read before that change: it stays listed if it matches.
    const newer = [...conversations.values()].filter(
      (c) => (liveAt.get(c.id) ?? -1) > asked && matchesFilters(c, listed.has(c.id)),
    );
    listed = new Set([...rows.map((c) => c.id), ...newer.map((c) => c.id)]);
    for (const conversation of rows) {
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

// --- The open thread -----------------------------------------------------------

function isNearBottom() {
  return ui.thread.scrollHeight - ui.thread.scrollTop - ui.thread.clientHeight < 80;
}

function scrollToBottom() {
  ui.thread.scrollTop = ui.thread.scrollHeight;
}

/** Puts a message, note or event into the thread, in time order. */
function putItem(key, data, element) {
  items.set(key, data);
  element.dataset.key = key;
  const existing = ui.thread.querySelector(`:scope > [data-key="${CSS.escape(key)}"]`);
  if (existing) {
    existing.replaceWith(element);
    return;
  }
  const at = Date.parse(element.dataset.at);
  const next = [...ui.thread.children].find((li) => Date.parse(li.dataset.at) > at);
  ui.thread.insertBefore(element, next ?? null);
}

/**
 * Adds or updates a message of the open thread; statuses never go back unless
 * `force` (the server's answer to a retry). Reactions are not bubbles of their
 * own: they show under the message they react to.
 */
function putMessage(message, { force = false } = {}) {
  if (message.type === "reaction") return;
  const key = `m:${message.id}`;
  if (!force && !isNewer(message, items.get(key))) return;
  if (message.wamid) byWamid.set(message.wamid, message);
  const quoted = message.context_wamid ? byWamid.get(message.context_wamid) : null;
  putItem(key, message, messageItem(message, { quoted }));
  if (replyTo && replyTo.id === message.id) {
    replyTo = message;
    updateComposer();
  }
  if (!message.wamid) return;
  // Replies already shown that quote this message show its newest version.
  const selector = `:scope > [data-context-wamid="${CSS.escape(message.wamid)}"]`;
  for (const li of ui.thread.querySelectorAll(selector)) {
    const quoting = items.get(li.dataset.key);
    if (quoting) putItem(li.dataset.key, quoting, messageItem(quoting, { quoted: message }));
  }
}

function putNote(note) {
  putItem(`n:${note.id}`, note, noteItem(note));
}

function putEvent(event) {
  putItem(`e:${event.id}`, event, eventItem(event));
}

function assigneeSentence(c) {
  if (!c.assignee) {
    return c.queued ? gettext("Unassigned, waiting in the team queue") : gettext("Unassigned");
  }
  if (c.assignee.id === meId) return gettext("Assigned to you");
  return format(gettext("Assigned to %(name)s"), { name: c.assignee.name });
}

function renderHeader() {
  const c = conversations.get(openId);
  show(ui.placeholder, openId === null);
  show(ui.view, openId !== null);
  ui.title.textContent = c ? contactName(c) : "";
  ui.subtitle.textContent = c ? contactSubtitle(c) : "";
  if (c) {
    let status = statusLabel(c.status);
    if (c.status === "snoozed" && c.snoozed_until) {
      status = format(gettext("Snoozed until %(time)s"), { time: fullTime(c.snoozed_until) });
    }
    if (c.escalated_at) status += ` · ${gettext("Escalated")}`;
    ui.threadStatus.textContent = status;
    ui.threadStatus.className = `status-chip status-${c.status}`;
    ui.threadAssignee.textContent = assigneeSentence(c);
    const mine = c.assignee?.id === meId;
    const mayReassign = !c.assignee || mine || isSupervisor();
    show(ui.claim, !c.assignee);
    show(ui.unassign, Boolean(c.assignee) && mayReassign);
    show(ui.transferButton, mayReassign);
    show(ui.resolve, c.status !== "resolved");
    show(ui.reopen, c.status !== "open");
    show(ui.pending, c.status === "open");
    show(ui.snoozeButton, c.status !== "resolved");
    ui.threadLabels.replaceChildren(...(c.labels || []).map(labelChip));
    // While the operator's own change is on its way, the boxes show their choice,
    // not an older state some other update carries.
    if (!labelsSaving) {
      for (const box of ui.labelOptions.querySelectorAll("input")) {
        box.checked = (c.labels || []).some((l) => String(l.id) === box.value);
      }
    }
  }
  renderCollision();
  updateComposer();
}

function updateComposer() {
  const conversation = conversations.get(openId);
  const windowOpen = conversation
    ? renderWindowState(ui.countdown, conversation.window_expires_at)
    : false;
  const refused =
    refusal &&
    conversation &&
    refusal.conversationId === conversation.id &&
    refusal.lastInboundAt === conversation.last_inbound_at;
  let notice = "";
  if (refused) notice = refusal.detail;
  else if (conversation && !windowOpen) notice = ui.banner.dataset.defaultText;
  ui.banner.textContent = notice;
  // Notes are for the team: a closed window never stops them.
  show(ui.banner, Boolean(notice) && mode === "reply");
  ui.input.disabled = !conversation || (mode === "reply" && Boolean(notice));
  ui.send.disabled = ui.input.disabled || sending;
  const replying = mode === "reply";
  show(ui.attach, replying);
  ui.fileInput.disabled = ui.input.disabled;
  show(ui.replyBanner, replying && Boolean(replyTo));
  ui.replyBannerText.textContent = replyTo ? messageSummary(replyTo) : "";
  show(ui.attachment, replying && Boolean(attachedFile));
  ui.attachmentName.textContent = attachedFile
    ? `${attachedFile.name} · ${humanSize(attachedFile.size)}`
    : "";
  if (replying) {
    ui.input.placeholder = ui.input.dataset[attachedFile ? "placeholderCaption" : "placeholderReply"];
  }
}

function showComposerError(text) {
  ui.composerError.textContent = text || "";
  show(ui.composerError, Boolean(text));
}

function showActionError(text) {
  ui.actionError.textContent = text || "";
  show(ui.actionError, Boolean(text));
}

async function loadThread(id) {
  const load = ++threadLoads;
  const optional = (promise) => promise.catch(() => []);
  const asked = performance.now();
  try {
    const [conversation, thread, notes, events] = await Promise.all([
      api.getConversation(id),
      api.listMessages(id),
      optional(api.listNotes(id)),
      optional(api.listEvents(id)),
    ]);
    if (load !== threadLoads || id !== openId) return;
    upsertConversation(conversation, asked);
    relist(conversations.get(id));
    markRead(id);
    const follow = items.size === 0 || isNearBottom();
    for (const message of thread) putMessage(message);
    for (const note of notes) putNote(note);
    for (const event of events) putEvent(event);
    if (follow) scrollToBottom();
    renderList();
    renderHeader();
  } catch (error) {
    if (redirectIfSignedOut(error) || id !== openId) return;
    if (error.status === 404) showActionError(gettext("This conversation is not yours to see any more."));
    else showComposerError(error.message);
  }
}

function openConversation(id) {
  if (id === openId) return;
  if (openId !== null) socket.send({ type: "left", conversation_id: openId });
  openId = id;
  cursorId = id;
  items = new Map();
  byWamid = new Map();
  replyTo = null;
  attachedFile = null;
  ui.thread.replaceChildren();
  showComposerError("");
  showActionError("");
  closeSuggestions();
  closePopovers();
  markRead(id);
  if (location.hash !== `#c${id}`) location.hash = `c${id}`;
  announceViewing();
  renderList();
  renderHeader();
  loadThread(id);
  ui.input.focus();
}

function idFromHash() {
  const match = /^#c(\d+)$/.exec(location.hash);
  return match ? Number(match[1]) : null;
}

// --- Actions -------------------------------------------------------------------

/** Runs an action on the open conversation and shows its answer (or why it failed). */
async function act(run) {
  const id = openId;
  if (id === null) return null;
  showActionError("");
  const asked = performance.now();
  try {
    const conversation = await run(id);
    if (conversation && conversation.id !== undefined) {
      upsertConversation(conversation, asked);
      relist(conversations.get(id));
      renderList();
      if (id === openId) renderHeader();
    }
    return conversation;
  } catch (error) {
    if (redirectIfSignedOut(error)) return null;
    if (error.status === 404) {
      showActionError(gettext("This conversation is not yours to see any more."));
    } else {
      showActionError(error.message);
    }
    return null;
  }
}

async function claim() {
  const id = openId;
  if (id === null) return;
  showActionError("");
  const asked = performance.now();
  try {
    const conversation = await api.claim(id);
    upsertConversation(conversation, asked);
    relist(conversations.get(id));
  } catch (error) {
    if (redirectIfSignedOut(error)) return;
    if (error.status === 409) {
      // Somebody was faster: say who, from the conversation as it is now.
      let name = "";
      try {
        const askedAgain = performance.now();
        const now = await api.getConversation(id);
        upsertConversation(now, askedAgain);
        relist(conversations.get(id));
        name = now.assignee?.name || "";
      } catch {
        // The server's own sentence below says it too.
      }
      if (id === openId) {
        showActionError(
          name ? format(gettext("Already taken by %(name)s."), { name }) : error.message,
        );
      }
    } else if (id === openId) {
      showActionError(error.message);
    }
  }
  renderList();
  if (id === openId) renderHeader();
}

function setStatus(status, snoozedUntil = null) {
  return act((id) => api.setStatus(id, status, snoozedUntil));
}

async function resolveOpen() {
  const c = conversations.get(openId);
  if (!c || c.status === "resolved") return;
  await setStatus("resolved");
}

function renderTransferTargets() {
  const [agentGroup, teamGroup] = ui.transferTarget.querySelectorAll("optgroup");
  agentGroup.replaceChildren(
    ...[...agents.values()]
      .filter((a) => a.id !== meId)
      .map((a) =>
        option(
          `user:${a.id}`,
          `${a.name || a.username} · ${presenceLabel(a.presence)}${
            a.capacity ? ` · ${a.active_chats ?? 0}/${a.capacity}` : ""
          }`,
        ),
      ),
  );
  teamGroup.replaceChildren(...teams.map((t) => option(`team:${t.id}`, t.name)));
}

function renderLabelOptions() {
  ui.labelOptions.replaceChildren(
    ...labels.map((label) =>
      h(
        "label",
        { class: "check" },
        h("input", { type: "checkbox", value: label.id, dataset: { testid: "label-option" } }),
        labelChip(label),
      ),
    ),
  );
  show(ui.labelsEmpty, labels.length === 0);
  renderHeader();
}

// --- Popovers --------------------------------------------------------------------

function closePopovers(except = null) {
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
    const opening = togglePopover(button);
    if (opening && button === ui.notificationsButton) loadNotifications();
    if (opening && button === ui.snoozeButton) {
      ui.snoozeUntil.value = toLocalInput(new Date(Date.now() + 3600_000));
    }
    return;
  }
  if (!event.target.closest(".popover")) closePopovers();
  if (!event.target.closest(".react-menu")) closeReactionPickers();
});

// --- Collision -------------------------------------------------------------------

const collisions = new Collisions((id) => {
  if (id === openId) renderCollision();
  else renderList();
});

function renderCollision() {
  const text = openId === null ? "" : collisions.describe(openId);
  ui.collision.textContent = text;
  show(ui.collision, Boolean(text));
}

let lastTypingSent = 0;

function announceViewing() {
  if (openId !== null) socket.send({ type: "viewing", conversation_id: openId });
}

function announceTyping() {
  const now = Date.now();
  if (openId === null || now - lastTypingSent < TYPING_EVERY_MS) return;
  lastTypingSent = now;
  socket.send({ type: "typing", conversation_id: openId });
}

setInterval(() => {
  if (document.visibilityState === "visible") announceViewing();
}, VIEWING_EVERY_MS);

window.addEventListener("pagehide", () => {
  if (openId !== null) socket.send({ type: "left", conversation_id: openId });
});

// --- Presence --------------------------------------------------------------------

function renderMyPresence() {
  const presence = me?.presence || "offline";
  ui.myPresence.dataset.presence = presence;
  ui.myPresence.title = presenceLabel(presence);
  if (me) ui.presenceSwitch.value = me.presence_choice || me.presence || "online";
}

function renderAgents() {
  if (!isSupervisor()) {
    show(ui.presencePanel, false);
    root.classList.remove("with-team-panel");
    return;
  }
  root.classList.add("with-team-panel");
  show(ui.presencePanel, true);
  const order = { online: 0, away: 1, offline: 2 };
  const sorted = [...agents.values()].sort(
    (a, b) =>
      (order[a.presence] ?? 3) - (order[b.presence] ?? 3) ||
      (a.name || a.username).localeCompare(b.name || b.username),
  );
  ui.agentList.replaceChildren(
    ...sorted.map((agent) =>
      h(
        "li",
        { class: "agent", dataset: { testid: "agent", agentId: agent.id, presence: agent.presence } },
        h("span", { class: "presence-dot", dataset: { presence: agent.presence } }),
        h("span", { class: "agent-name" }, agent.name || agent.username),
        h("span", { class: "agent-presence", dataset: { testid: "agent-presence" } }, presenceLabel(agent.presence)),
        agent.capacity !== undefined
          ? h(
              "span",
              { class: "agent-load", title: gettext("Active chats / capacity") },
              `${agent.active_chats ?? 0}/${agent.capacity}`,
            )
          : null,
      ),
    ),
  );
}

async function loadAgents() {
  try {
    agents = new Map((await api.agents()).map((agent) => [agent.id, agent]));
  } catch {
    return;
  }
  renderAgents();
  renderTransferTargets();
}

// --- Notifications ---------------------------------------------------------------

const notificationText = notificationSentence;

function renderNotifications() {
  const sorted = [...notifications.values()].sort((a, b) => epoch(b.created_at) - epoch(a.created_at));
  const unread = sorted.filter((n) => !n.read_at).length;
  ui.notificationsCount.textContent = String(unread);
  show(ui.notificationsCount, unread > 0);
  ui.notificationsButton.setAttribute(
    "aria-label",
    format(ngettext("%(count)s unread notification", "%(count)s unread notifications", unread), {
      count: unread,
    }),
  );
  ui.notificationList.replaceChildren(
    ...sorted.map((n) => {
      const conversation = conversations.get(n.conversation_id);
      return h(
        "li",
        {
          class: n.read_at ? "notification" : "notification is-unread",
          dataset: { testid: "notification", notificationId: n.id, kind: n.kind },
        },
        h(
          "button",
          { type: "button", class: "notification-button" },
          h("span", { class: "notification-text" }, notificationText(n)),
          h(
            "span",
            { class: "notification-meta" },
            conversation ? `${contactName(conversation)} · ` : "",
            h("time", { datetime: n.created_at, title: fullTime(n.created_at) }, shortTime(n.created_at)),
          ),
        ),
      );
    }),
  );
  show(ui.notificationsEmpty, sorted.length === 0);
}

async function loadNotifications() {
  try {
    for (const n of await api.notifications(false)) notifications.set(n.id, n);
  } catch {
    return;
  }
  renderNotifications();
}

async function readNotification(id) {
  const n = notifications.get(id);
  if (!n || n.read_at) return;
  n.read_at = new Date().toISOString();
  renderNotifications();
  try {
    const answer = await api.readNotification(id);
    if (answer && answer.id !== undefined) notifications.set(answer.id, answer);
  } catch {
    // Shown as read here; the next load tells the truth.
  }
  renderNotifications();
}

ui.notificationList.addEventListener("click", (event) => {
  const li = event.target.closest("[data-notification-id]");
  if (!li) return;
  const n = notifications.get(Number(li.dataset.notificationId));
  if (!n) return;
  closePopovers();
  readNotification(n.id);
  openConversation(n.conversation_id);
});

ui.notificationsReadAll.addEventListener("click", () => {
  for (const n of notifications.values()) if (!n.read_at) readNotification(n.id);
});

// --- Settings ----------------------------------------------------------------------

function applyMe(profile) {
  me = profile;
  meId = profile.id;
  if (setTimeZone(profile.time_zone || undefined)) {
    renderList();
    if (openId !== null) loadThread(openId);
  }
  setPreferences({ desktop: profile.notify_desktop, sound: profile.notify_sound });
  ui.notifyDesktop.checked = Boolean(profile.notify_desktop);
  ui.notifySound.checked = Boolean(profile.notify_sound);
  ui.languageSelect.value = profile.language || "";
  ui.timeZoneSelect.value = profile.time_zone || "";
  renderMyPresence();
  renderAgents();
}

async function loadMe() {
  try {
    applyMe(await api.me());
  } catch (error) {
    redirectIfSignedOut(error);
  }
}

async function updateMe(change) {
  try {
    applyMe(await api.updateMe(change));
    return true;
  } catch (error) {
    if (!redirectIfSignedOut(error)) showActionError(error.message);
    return false;
  }
}

ui.presenceSwitch.addEventListener("change", () => updateMe({ presence: ui.presenceSwitch.value }));

ui.notifyDesktop.addEventListener("change", async () => {
  const wanted = ui.notifyDesktop.checked;
  if (wanted) await askDesktopPermission();
  updateMe({ notify_desktop: wanted });
});

ui.notifySound.addEventListener("change", () => updateMe({ notify_sound: ui.notifySound.checked }));

ui.languageSelect.addEventListener("change", async () => {
  if (await updateMe({ language: ui.languageSelect.value })) location.reload();
});

ui.timeZoneSelect.addEventListener("change", () => updateMe({ time_zone: ui.timeZoneSelect.value }));

function fillTimeZones() {
  const zones = typeof Intl.supportedValuesOf === "function" ? Intl.supportedValuesOf("timeZone") : [];
  const server = ui.timeZoneSelect.dataset.serverZone;
  if (server && !zones.includes(server)) zones.unshift(server);
  ui.timeZoneSelect.append(...zones.map((zone) => option(zone, zone.replaceAll("_", " "))));
}

// --- Sync and live events -------------------------------------------------------

function redirectIfSignedOut(error) {
  if (error.status === 401) {
    location.assign(root.dataset.loginUrl);
    return true;
  }
  return false;
}

async function loadCatalogs() {
  const [labelRows, teamRows, numberRows] = await Promise.all([
    api.labels().catch(() => null),
    api.teams().catch(() => null),
    api.numbers().catch(() => null),
  ]);
  if (labelRows) {
    labels = labelRows;
    fillSelect(ui.filterLabel, labels, (l) => option(l.id, l.name));
    renderLabelOptions();
  }
  if (teamRows) {
    teams = teamRows;
    fillSelect(ui.filterTeam, teams, (t) => option(t.id, t.name));
    renderTransferTargets();
  }
  if (numberRows) {
    fillSelect(ui.filterNumber, numberRows, (n) => option(n.id, n.name || n.display_phone_number));
  }
}

async function resync() {
  const thread = openId === null ? null : loadThread(openId);
  await Promise.all([loadList(), loadMe(), loadAgents(), loadNotifications(), loadCatalogs()]);
  renderHeader();
  await thread;
}

/** A conversation first seen now, created after the page opened: a new chat. */
function isNewChat(conversation) {
  return !conversations.has(conversation.id) && epoch(conversation.created_at) > pageLoadedAt - 5_000;
}

function threadFocused(id) {
  return id === openId && document.visibilityState === "visible" && document.hasFocus();
}

function tellOfNewChat(conversation) {
  if (conversation.assignee && conversation.assignee.id !== meId) return;
  alertOperator({
    title: format(gettext("New chat: %(name)s"), { name: contactName(conversation) }),
    body: conversation.last_message_text || "",
    tag: `chat-${conversation.id}`,
    onClick: () => openConversation(conversation.id),
  });
}

function tellOfMessage(conversation, message) {
  if (message.direction !== "in" || conversation.assignee?.id !== meId) return;
  if (threadFocused(conversation.id)) return;
  alertOperator({
    title: format(gettext("%(name)s wrote"), { name: contactName(conversation) }),
    body: messageSummary(message),
    tag: `chat-${conversation.id}`,
    onClick: () => openConversation(conversation.id),
  });
}

function tellOfNotification(n) {
  alertOperator({
    title: n.kind === "mention" ? gettext("You were mentioned") : gettext("Needs attention"),
    body: notificationText(n),
    tag: `notification-${n.id}`,
    onClick: () => openConversation(n.conversation_id),
  });
}

function onConversation(conversation) {
  const fresh = isNewChat(conversation);
  if (!upsertConversation(conversation)) return;
  relist(conversation);
  if (fresh) tellOfNewChat(conversation);
}

function onEvent(event) {
  switch (event.type) {
    case "hello":
      meId = meId ?? event.user_id;
      break;
    case "message.created": {
      if (event.conversation) {
        onConversation(event.conversation);
        if (event.message) tellOfMessage(event.conversation, event.message);
      }
      if (event.conversation_id === openId) {
        const follow = isNearBottom();
        putMessage(event.message);
        if (follow) scrollToBottom();
        markRead(openId);
      }
      renderList();
      if (event.conversation_id === openId) renderHeader();
      break;
    }
    case "conversation.updated": {
      const conversation = event.conversation;
      if (conversation) onConversation(conversation);
      renderList();
      if ((conversation?.id ?? event.conversation_id) === openId) renderHeader();
      break;
    }
    case "message.updated":
      if (event.conversation_id === openId) putMessage(event.message);
      break;
    case "conversation.event":
      if (event.conversation_id === openId && event.event) putEvent(event.event);
      break;
    case "note.created":
      if (event.conversation_id === openId && event.note) {
        const follow = isNearBottom();
        putNote(event.note);
        if (follow) scrollToBottom();
      }
      break;
    case "notification.created": {
      const n = event.notification;
      if (!n || notifications.has(n.id)) break; // the same event may come twice
      notifications.set(n.id, n);
      renderNotifications();
      tellOfNotification(n);
      break;
    }
    case "presence.updated": {
      const agent = agents.get(event.user_id);
      if (agent) {
        agent.presence = event.presence;
        renderAgents();
        renderTransferTargets();
      }
      if (me && event.user_id === meId) {
        me.presence = event.presence;
        renderMyPresence();
      }
      break;
    }
    case "collision":
      if (event.user && event.user.id !== meId) collisions.apply(event);
      break;
    default:
      break;
  }
}

function onOpen() {
  collisions.clear();
  announceViewing();
  resync();
}

function setConnection(state) {
  const key = `label${state[0].toUpperCase()}${state.slice(1)}`;
  ui.connection.dataset.state = state;
  ui.connection.textContent = ui.connection.dataset[key] || state;
  // While the socket cannot connect, the page still follows the API at the
  // reconnect pace (and finds out when the session has ended).
  if (state === "reconnecting") resync();
}

const socket = new LiveSocket(
  `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}${root.dataset.socketPath}`,
  { onOpen, onEvent, onState: setConnection },
  { pingEveryMs: Number(root.dataset.pingEveryMs) || undefined },
);

// --- Composer: replies, notes, canned replies, mentions ---------------------------

function setMode(next) {
  mode = next;
  ui.composer.dataset.mode = mode;
  for (const tab of ui.composer.querySelectorAll(".mode")) {
    tab.setAttribute("aria-selected", String(tab.dataset.mode === mode));
  }
  ui.input.placeholder = ui.input.dataset[mode === "note" ? "placeholderNote" : "placeholderReply"];
  ui.send.textContent = ui.send.dataset[mode === "note" ? "labelNote" : "labelReply"];
  closeSuggestions();
  updateComposer();
}

ui.composer.querySelector(".composer-modes").addEventListener("click", (event) => {
  const tab = event.target.closest(".mode");
  if (!tab) return;
  setMode(tab.dataset.mode);
  ui.input.focus();
});

/** The token being typed right before the caret, when it starts with `sigil`. */
function tokenBeforeCaret(sigil) {
  const before = ui.input.value.slice(0, ui.input.selectionStart);
  const pattern = sigil === "/" ? /(?:^|\s)\/([\w-]*)$/ : /(?:^|\s)@([\w.+-]*)$/;
  const match = pattern.exec(before);
  if (!match) return null;
  return { query: match[1], start: before.length - match[1].length - 1, end: before.length };
}

function replaceToken(token, text) {
  const value = ui.input.value;
  ui.input.value = value.slice(0, token.start) + text + value.slice(token.end);
  const caret = token.start + text.length;
  ui.input.setSelectionRange(caret, caret);
  ui.input.focus();
}

const canned = new Suggestions(ui.cannedList, {
  itemTestId: "canned-item",
  render: (reply) => [
    h("span", { class: "suggestion-key" }, `/${reply.shortcut}`),
    h("span", { class: "suggestion-title" }, reply.title),
    h("span", { class: "suggestion-preview" }, reply.rendered || reply.text),
  ],
  pick: (reply) => {
    const token = tokenBeforeCaret("/");
    if (token) replaceToken(token, reply.rendered || reply.text);
  },
});

const mentions = new Suggestions(ui.mentionList, {
  itemTestId: "mention-item",
  render: (agent) => [
    h("span", { class: "suggestion-key" }, `@${agent.username}`),
    h("span", { class: "suggestion-title" }, agent.name || ""),
  ],
  pick: (agent) => {
    const token = tokenBeforeCaret("@");
    if (token) replaceToken(token, `@${agent.username} `);
  },
});

function closeSuggestions() {
  canned.close();
  mentions.close();
}

let cannedQuery = null;
let cannedLoads = 0;

async function suggestCanned(query) {
  if (query === cannedQuery && canned.open) return;
  cannedQuery = query;
  const load = ++cannedLoads;
  try {
    const replies = await api.cannedReplies(query, openId);
    if (load !== cannedLoads || tokenBeforeCaret("/") === null) return;
    canned.showItems(replies, ui.cannedList.dataset.empty);
  } catch {
    canned.close();
  }
}

function suggestMentions(query) {
  const needle = query.toLowerCase();
  const matches = [...agents.values()]
    .filter((a) => a.id !== meId)
    .filter(
      (a) =>
        a.username.toLowerCase().startsWith(needle) ||
        (a.name || "").toLowerCase().split(/\s+/).some((word) => word.startsWith(needle)),
    )
    .slice(0, 8);
  mentions.showItems(matches);
}

ui.input.addEventListener("input", () => {
  announceTyping();
  if (mode === "reply") showCustomerTyping();
  const token = tokenBeforeCaret(mode === "note" ? "@" : "/");
  if (token === null) {
    cannedQuery = null;
    closeSuggestions();
  } else if (mode === "note") {
    suggestMentions(token.query);
  } else {
    suggestCanned(token.query);
  }
});

ui.input.addEventListener("blur", () => {
  // Let a click on a suggestion land first.
  setTimeout(() => {
    if (document.activeElement !== ui.input) closeSuggestions();
  }, 150);
});

ui.input.addEventListener("keydown", (event) => {
  if (event.isComposing) return;
  const suggestions = canned.open ? canned : mentions;
  if (suggestions.handleKey(event)) {
    event.preventDefault();
    event.stopPropagation();
    return;
  }
  if (event.key === "Escape") {
    event.preventDefault();
    event.stopPropagation();
    ui.input.blur();
    ui.list.querySelector(".is-cursor button")?.focus();
    return;
  }
  if (event.key === "Enter" && !event.shiftKey) {
    event.preventDefault();
    ui.composer.requestSubmit();
  }
});

async function sendReply(id, text, file = null) {
  const quoting = replyTo;
  try {
    const message = file
      ? await api.sendFile(id, file, text, quoting?.id)
      : await api.sendText(id, text, quoting?.id);
    if (id === openId) {
      ui.input.value = "";
      if (replyTo === quoting) replyTo = null;
      if (file && attachedFile === file) attachedFile = null;
      putMessage(message);
      scrollToBottom();
    }
  } catch (error) {
    const conversation = conversations.get(id);
    if (error.code === "window_closed" && conversation) {
      refusal = {
        conversationId: id,
        lastInboundAt: conversation.last_inbound_at,
        detail: error.message,
      };
    } else if (!redirectIfSignedOut(error)) {
      showComposerError(error.message);
    }
  }
}

async function addNote(id, text) {
  try {
    const note = await api.addNote(id, text);
    if (id === openId) {
      ui.input.value = "";
      putNote(note);
      scrollToBottom();
    }
  } catch (error) {
    if (!redirectIfSignedOut(error)) showComposerError(error.message);
  }
}

ui.composer.addEventListener("submit", async (event) => {
  event.preventDefault();
  const text = ui.input.value.trim();
  const id = openId;
  const file = mode === "reply" ? attachedFile : null;
  if ((!text && !file) || id === null || sending) return;
  sending = true;
  showComposerError("");
  closeSuggestions();
  updateComposer();
  try {
    if (mode === "note") await addNote(id, text);
    else await sendReply(id, text, file);
  } finally {
    sending = false;
    updateComposer();
    if (!ui.input.disabled) ui.input.focus();
  }
});

// --- Composer: files, replies to a message, the customer's typing indicator ---------

function attach(file) {
  if (!file) return;
  attachedFile = file;
  showComposerError("");
  setMode("reply");
  ui.input.focus();
}

ui.fileInput.addEventListener("change", () => {
  attach(ui.fileInput.files[0] || null);
  // The same file may be picked again after it was removed.
  ui.fileInput.value = "";
});

ui.input.addEventListener("paste", (event) => {
  const file = event.clipboardData?.files?.[0];
  if (!file || mode !== "reply") return;
  event.preventDefault();
  attach(file);
});

ui.attachmentRemove.addEventListener("click", () => {
  attachedFile = null;
  updateComposer();
  ui.input.focus();
});

ui.replyCancel.addEventListener("click", () => {
  replyTo = null;
  updateComposer();
  ui.input.focus();
});

function startReply(message) {
  replyTo = message;
  setMode("reply");
  ui.input.focus();
}

let customerTypingAt = 0;
let customerTypingFor = null;

/** While the operator types a reply, the customer sees "typing…" (at most every 20 s). */
function showCustomerTyping() {
  const id = openId;
  if (id === null || ui.input.disabled || !ui.input.value.trim()) return;
  const now = Date.now();
  if (customerTypingFor === id && now - customerTypingAt < CUSTOMER_TYPING_EVERY_MS) return;
  customerTypingFor = id;
  customerTypingAt = now;
  api.typing(id).catch((error) => {
    if (redirectIfSignedOut(error) || id !== openId) return;
    showComposerError(
      format(gettext("The customer could not be shown that you are typing: %(reason)s"), {
        reason: error.message,
      }),
    );
  });
}

// --- Actions on a message: reply, react, retry ----------------------------------

function messageOf(element) {
  const li = element.closest("[data-key]");
  return li ? items.get(li.dataset.key) : null;
}

function closeReactionPickers(except = null) {
  for (const picker of ui.thread.querySelectorAll(".reaction-picker:not([hidden])")) {
    if (picker === except) continue;
    show(picker, false);
    picker.previousElementSibling?.setAttribute("aria-expanded", "false");
  }
}

function toggleReactionPicker(button) {
  const picker = button.nextElementSibling;
  const opening = picker.hidden;
  closeReactionPickers(picker);
  show(picker, opening);
  button.setAttribute("aria-expanded", String(opening));
  if (opening) picker.querySelector("button")?.focus();
}

/** Runs a call about one message; its failure is shown above the thread. */
async function onMessage(run) {
  showActionError("");
  try {
    return await run();
  } catch (error) {
    if (!redirectIfSignedOut(error)) showActionError(error.message);
    return null;
  }
}

async function react(message, emoji) {
  closeReactionPickers();
  const answer = await onMessage(() => api.react(message.id, emoji));
  if (!answer) return;
  // The live update says the same; this shows it at once.
  const current = items.get(`m:${message.id}`);
  if (!current) return;
  const reactions = { ...(current.reactions || {}) };
  if (emoji) reactions.business = emoji;
  else delete reactions.business;
  putMessage({ ...current, reactions }, { force: true });
}

async function retrySend(message) {
  const answer = await onMessage(() => api.retrySend(message.id));
  if (!answer) return;
  const current = items.get(`m:${message.id}`);
  // The retry starts again from "queued": replace the failed bubble, not a newer one.
  putMessage(answer, { force: !current || current.status === "failed" });
}

async function retryMedia(message) {
  const answer = await onMessage(() => api.retryMedia(message.id));
  if (answer) putMessage(answer, { force: true });
}

function showQuoted(messageId) {
  const li = ui.thread.querySelector(`:scope > [data-message-id="${CSS.escape(messageId)}"]`);
  if (!li) return;
  li.scrollIntoView({ block: "center", behavior: "smooth" });
  li.classList.add("is-highlighted");
  setTimeout(() => li.classList.remove("is-highlighted"), 1_500);
}

ui.thread.addEventListener("click", (event) => {
  const target = event.target.closest("[data-action]");
  if (!target || !ui.thread.contains(target)) return;
  const message = messageOf(target);
  if (!message) return;
  switch (target.dataset.action) {
    case "reply":
      startReply(message);
      break;
    case "toggle-reactions":
      toggleReactionPicker(target);
      break;
    case "react":
      react(message, target.dataset.emoji || "");
      break;
    case "retry-send":
      target.disabled = true;
      retrySend(message).finally(() => {
        target.disabled = false;
      });
      break;
    case "retry-media":
      target.disabled = true;
      retryMedia(message).finally(() => {
        target.disabled = false;
      });
      break;
    case "show-quoted":
      showQuoted(target.dataset.targetId);
      break;
    default:
      break;
  }
});

// --- Wiring: list, filters, actions -------------------------------------------------

ui.list.addEventListener("click", (event) => {
  const item = event.target.closest("[data-conversation-id]");
  if (item) openConversation(Number(item.dataset.conversationId));
});

window.addEventListener("hashchange", () => {
  const id = idFromHash();
  if (id !== null) openConversation(id);
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

ui.claim.addEventListener("click", claim);
ui.unassign.addEventListener("click", () => act((id) => api.assign(id, { assignee: null })));
ui.resolve.addEventListener("click", resolveOpen);
ui.reopen.addEventListener("click", () => setStatus("open"));
ui.pending.addEventListener("click", () => setStatus("pending"));

ui.transferForm.addEventListener("submit", async (event) => {
  event.preventDefault();
  const [kind, value] = ui.transferTarget.value.split(":");
  if (!value) return;
  closePopovers();
  const change = kind === "team" ? { team: Number(value) } : { assignee: Number(value) };
  await act((id) => api.assign(id, change));
});

ui.labelOptions.addEventListener("change", async () => {
  const ids = [...ui.labelOptions.querySelectorAll("input:checked")].map((box) => Number(box.value));
  labelsSaving += 1;
  try {
    await act((id) => api.setLabels(id, ids));
  } finally {
    labelsSaving -= 1;
    renderHeader();
  }
});

ui.snoozeForm.addEventListener("click", (event) => {
  const preset = event.target.closest("[data-snooze-hours], [data-snooze-tomorrow]");
  if (!preset) return;
  let until;
  if (preset.dataset.snoozeHours) {
    until = new Date(Date.now() + Number(preset.dataset.snoozeHours) * 3600_000);
  } else {
    const tomorrow = toLocalInput(new Date(Date.now() + 24 * 3600_000)).slice(0, 10);
    const hour = String(preset.dataset.snoozeTomorrow).padStart(2, "0");
    until = fromLocalInput(`${tomorrow}T${hour}:00`);
  }
  ui.snoozeUntil.value = toLocalInput(until);
});

ui.snoozeForm.addEventListener("submit", async (event) => {
  event.preventDefault();
  const until = fromLocalInput(ui.snoozeUntil.value);
  if (!until || until <= new Date()) {
    showActionError(gettext("Pick a time in the future to snooze until."));
    return;
  }
  closePopovers();
  await setStatus("snoozed", until.toISOString());
});

// --- Keyboard ----------------------------------------------------------------------

function toggleHelp(visible = ui.help.hidden) {
  show(ui.help, visible);
  if (visible) ui.helpClose.focus();
}

ui.helpButton.addEventListener("click", () => toggleHelp(true));
ui.helpClose.addEventListener("click", () => toggleHelp(false));
ui.help.addEventListener("click", (event) => {
  if (event.target === ui.help) toggleHelp(false);
});

function moveCursor(step) {
  const rows = [...ui.list.children];
  if (!rows.length) return;
  const at = rows.findIndex((li) => Number(li.dataset.conversationId) === cursorId);
  const next = rows[Math.min(rows.length - 1, Math.max(0, at + step))];
  cursorId = Number(next.dataset.conversationId);
  for (const li of rows) {
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
  if (!ui.help.hidden) {
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
    Enter: () => cursorId !== null && openConversation(cursorId),
    r: () => {
      if (openId === null) return;
      setMode("reply");
      ui.input.focus();
    },
    n: () => {
      if (openId === null) return;
      setMode("note");
      ui.input.focus();
    },
    e: resolveOpen,
    c: () => {
      const c = conversations.get(openId);
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

// --- Start -------------------------------------------------------------------------

setInterval(() => {
  for (const item of ui.list.children) {
    const conversation = conversations.get(Number(item.dataset.conversationId));
    const countdown = item.querySelector('[data-testid="window-countdown"]');
    if (conversation && countdown) renderWindowState(countdown, conversation.window_expires_at);
  }
  updateComposer();
}, COUNTDOWN_EVERY_MS);

ui.listEmpty.dataset.defaultText = ui.listEmpty.textContent.trim();
fillTimeZones();
// A reload keeps the open conversation; its thread is read once the socket is open.
openId = idFromHash();
cursorId = openId;
renderHeader();
renderNotifications();
socket.start();

// The one deliberate global: lets tests and support staff drop or pause the live connection.
window.__inbox = Object.freeze({ socket });
