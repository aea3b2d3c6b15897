// The operator's inbox: conversation list, open thread and composer, kept live
// over a WebSocket. Every (re)connect re-reads the list and the open thread
// from the API, so nothing published while the socket was away is lost.
import { createApi } from "./api.js";
import { show } from "./dom.js";
import { LiveSocket } from "./socket.js";
import {
  contactName,
  contactSubtitle,
  conversationItem,
  isNewer,
  messageItem,
  renderWindowState,
} from "./render.js";

const COUNTDOWN_EVERY_MS = 30_000;

const root = document.getElementById("inbox");
const api = createApi(root.dataset.conversationsUrl);
const byTestId = (id) => root.querySelector(`[data-testid="${id}"]`);
const ui = {
  connection: byTestId("connection-state"),
  list: byTestId("conversation-list"),
  listEmpty: byTestId("conversation-list-empty"),
  listError: byTestId("list-error"),
  placeholder: byTestId("thread-placeholder"),
  view: byTestId("thread-view"),
  title: byTestId("thread-title"),
  subtitle: byTestId("thread-subtitle"),
  countdown: root.querySelector('.thread-head [data-testid="window-countdown"]'),
  thread: byTestId("thread"),
  banner: byTestId("window-banner"),
  composerError: byTestId("composer-error"),
  composer: byTestId("composer"),
  input: byTestId("composer-input"),
  send: byTestId("composer-send"),
};

const conversations = new Map(); // id -> conversation as the API shapes it
let openId = null;
let messages = new Map(); // message id -> message, for the open thread only
let threadLoads = 0; // lets a slow answer for a thread no longer shown be dropped
let sending = false;
let synced = false;
// A 409 from the server while the page still thought the window open; it holds
// until the customer writes again.
let refusal = null; // {conversationId, lastInboundAt, detail}

// --- Conversations ---------------------------------------------------------

const epoch = (iso) => (iso ? Date.parse(iso) : 0);

function byActivity(a, b) {
  return epoch(b.last_message_at) - epoch(a.last_message_at) || b.id - a.id;
}

function unreadOf(conversation) {
  return conversation.id === openId ? 0 : conversation.unread_count;
}

/** The open thread is being read: the server zeroes its count for the whole team. */
function markRead(id) {
  const conversation = conversations.get(id);
  if (!conversation || conversation.unread_count === 0) return;
  api.markRead(id).then(upsertConversation, (error) => redirectIfSignedOut(error));
}

/** Keeps the newer of what we have and `incoming` (an API answer may be older than an event). */
function upsertConversation(incoming) {
  const current = conversations.get(incoming.id);
  if (current && epoch(incoming.last_message_at) < epoch(current.last_message_at)) return;
  conversations.set(incoming.id, incoming);
}

function renderList() {
  const focused = document.activeElement?.closest?.("[data-conversation-id]");
  const focusedId = focused?.dataset.conversationId;
  const sorted = [...conversations.values()].sort(byActivity);
  ui.list.replaceChildren(
    ...sorted.map((c) => conversationItem(c, { active: c.id === openId, unread: unreadOf(c) })),
  );
  show(ui.listEmpty, synced && sorted.length === 0);
  if (focusedId) ui.list.querySelector(`[data-conversation-id="${focusedId}"] button`)?.focus();
}

function showListError(error) {
  ui.listError.textContent = error ? `Could not load the conversations: ${error.message}` : "";
  show(ui.listError, Boolean(error));
}

// --- The open thread --------------------------------------------------------

function isNearBottom() {
  return ui.thread.scrollHeight - ui.thread.scrollTop - ui.thread.clientHeight < 80;
}

function scrollToBottom() {
  ui.thread.scrollTop = ui.thread.scrollHeight;
}

/** Adds or updates a message of the open thread, in time order; statuses never go back. */
function putMessage(message) {
  if (!isNewer(message, messages.get(message.id))) return;
  messages.set(message.id, message);
  const element = messageItem(message);
  const existing = [...ui.thread.children].find((li) => li.dataset.messageId === message.id);
  if (existing) {
    existing.replaceWith(element);
    return;
  }
  const at = Date.parse(message.timestamp);
  const next = [...ui.thread.children].find(
    (li) => Date.parse(messages.get(li.dataset.messageId).timestamp) > at,
  );
  ui.thread.insertBefore(element, next ?? null);
}

function renderHeader() {
  const conversation = conversations.get(openId);
  show(ui.placeholder, openId === null);
  show(ui.view, openId !== null);
  ui.title.textContent = conversation ? contactName(conversation) : "";
  ui.subtitle.textContent = conversation ? contactSubtitle(conversation) : "";
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
  show(ui.banner, Boolean(notice));
  ui.input.disabled = !conversation || Boolean(notice);
  ui.send.disabled = ui.input.disabled || sending;
}

function showComposerError(text) {
  ui.composerError.textContent = text || "";
  show(ui.composerError, Boolean(text));
}

async function loadThread(id) {
  const load = ++threadLoads;
  try {
    const [conversation, thread] = await Promise.all([
      api.getConversation(id),
      api.listMessages(id),
    ]);
    if (load !== threadLoads || id !== openId) return;
    upsertConversation(conversation);
    markRead(id);
    const follow = messages.size === 0 || isNearBottom();
    for (const message of thread) putMessage(message);
    if (follow) scrollToBottom();
    renderList();
    renderHeader();
  } catch (error) {
    if (!redirectIfSignedOut(error) && id === openId) showComposerError(error.message);
  }
}

function openConversation(id) {
  if (id === openId) return;
  openId = id;
  messages = new Map();
  ui.thread.replaceChildren();
  showComposerError("");
  markRead(id);
  if (location.hash !== `#c${id}`) location.hash = `c${id}`;
  renderList();
  renderHeader();
  loadThread(id);
  ui.input.focus();
}

function idFromHash() {
  const match = /^#c(\d+)$/.exec(location.hash);
  return match ? Number(match[1]) : null;
}

// --- Sync and live events ---------------------------------------------------

function redirectIfSignedOut(error) {
  if (error.status === 401) {
    location.assign(root.dataset.loginUrl);
    return true;
  }
  return false;
}

async function resync() {
  const thread = openId === null ? null : loadThread(openId);
  try {
    for (const conversation of await api.listConversations()) upsertConversation(conversation);
    synced = true;
    showListError(null);
  } catch (error) {
    if (!redirectIfSignedOut(error)) showListError(error);
  }
  renderList();
  renderHeader();
  await thread;
}

function onEvent(event) {
  if (event.type === "message.created") {
    if (event.conversation) upsertConversation(event.conversation);
    if (event.conversation_id === openId) {
      const follow = isNearBottom();
      putMessage(event.message);
      if (follow) scrollToBottom();
      markRead(openId);
    }
    renderList();
    if (event.conversation_id === openId) renderHeader();
  } else if (event.type === "conversation.updated") {
    upsertConversation(event.conversation);
    renderList();
    if (event.conversation_id === openId) renderHeader();
  } else if (event.type === "message.updated" && event.conversation_id === openId) {
    putMessage(event.message);
  }
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
  { onOpen: resync, onEvent, onState: setConnection },
);

// --- Wiring -----------------------------------------------------------------

ui.list.addEventListener("click", (event) => {
  const item = event.target.closest("[data-conversation-id]");
  if (item) openConversation(Number(item.dataset.conversationId));
});

window.addEventListener("hashchange", () => {
  const id = idFromHash();
  if (id !== null) openConversation(id);
});

ui.input.addEventListener("keydown", (event) => {
  if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
    event.preventDefault();
    ui.composer.requestSubmit();
  }
});

ui.composer.addEventListener("submit", async (event) => {
  event.preventDefault();
  const text = ui.input.value.trim();
  const id = openId;
  if (!text || id === null || sending) return;
  sending = true;
  showComposerError("");
  updateComposer();
  try {
    const message = await api.sendText(id, text);
    if (id === openId) {
      ui.input.value = "";
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
  } finally {
    sending = false;
    updateComposer();
    if (!ui.input.disabled) ui.input.focus();
  }
});

setInterval(() => {
  for (const item of ui.list.children) {
    const conversation = conversations.get(Number(item.dataset.conversationId));
    const countdown = item.querySelector('[data-testid="window-countdown"]');
    if (conversation && countdown) renderWindowState(countdown, conversation.window_expires_at);
  }
  updateComposer();
}, COUNTDOWN_EVERY_MS);

// A reload keeps the open conversation; its thread is read once the socket is open.
openId = idFromHash();
renderHeader();
socket.start();

// The one deliberate global: lets tests and support staff drop or pause the live connection.
window.__inbox = Object.freeze({ socket });
