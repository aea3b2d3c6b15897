// The open thread: the customer's messages, the team's private notes and the
// activity, merged by time; opening a conversation, reading it from the API, and
// what the operator does with one message (reply, react, retry).
import { focusInput, replyTargetUpdated, resetComposer, showComposerError, startReply } from "./composer.js";
import { show } from "./dom.js";
import { gettext } from "./i18n.js";
import { renderList, relist } from "./list.js";
import { isNewer, messageItem } from "./message.js";
import { closePopovers } from "./popover.js";
import { eventItem, noteItem } from "./render.js";
import {
  api,
  byTestId,
  conversations,
  redirectIfSignedOut,
  sendFrame,
  state,
  upsertConversation,
} from "./state.js";
import { announceViewing, renderHeader, showActionError } from "./thread-head.js";

const ui = { thread: byTestId("thread") };

let items = new Map(); // "m:<id>" | "n:<id>" | "e:<id>" -> data, for the open thread
let byWamid = new Map(); // WhatsApp message id -> message of the open thread (for quotes)
let threadLoads = 0; // lets a slow answer for a thread no longer shown be dropped

/** The open thread is being read: the server zeroes its count for the whole team. */
export function markRead(id) {
  const conversation = conversations.get(id);
  if (!conversation || !conversation.unread_count) return;
  const asked = performance.now();
  api.markRead(id).then(
    (answer) => upsertConversation(answer, asked),
    (error) => redirectIfSignedOut(error),
  );
}

export function isNearBottom() {
  return ui.thread.scrollHeight - ui.thread.scrollTop - ui.thread.clientHeight < 80;
}

export function scrollToBottom() {
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
export function putMessage(message, { force = false } = {}) {
  if (message.type === "reaction") return;
  const key = `m:${message.id}`;
  if (!force && !isNewer(message, items.get(key))) return;
  if (message.wamid) byWamid.set(message.wamid, message);
  const quoted = message.context_wamid ? byWamid.get(message.context_wamid) : null;
  putItem(key, message, messageItem(message, { quoted }));
  replyTargetUpdated(message);
  if (!message.wamid) return;
  // Replies already shown that quote this message show its newest version.
  const selector = `:scope > [data-context-wamid="${CSS.escape(message.wamid)}"]`;
  for (const li of ui.thread.querySelectorAll(selector)) {
    const quoting = items.get(li.dataset.key);
    if (quoting) putItem(li.dataset.key, quoting, messageItem(quoting, { quoted: message }));
  }
}

export function putNote(note) {
  putItem(`n:${note.id}`, note, noteItem(note));
}

export function putEvent(event) {
  putItem(`e:${event.id}`, event, eventItem(event));
}

export async function loadThread(id) {
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
    if (load !== threadLoads || id !== state.openId) return;
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
    if (redirectIfSignedOut(error) || id !== state.openId) return;
    if (error.status === 404) showActionError(gettext("This conversation is not yours to see any more."));
    else showComposerError(error.message);
  }
}

export function openConversation(id) {
  if (id === state.openId) return;
  if (state.openId !== null) sendFrame({ type: "left", conversation_id: state.openId });
  state.openId = id;
  state.cursorId = id;
  items = new Map();
  byWamid = new Map();
  resetComposer();
  ui.thread.replaceChildren();
  showActionError("");
  closePopovers();
  markRead(id);
  if (location.hash !== `#c${id}`) location.hash = `c${id}`;
  announceViewing();
  renderList();
  renderHeader();
  loadThread(id);
  focusInput();
}

export function idFromHash() {
  const match = /^#c(\d+)$/.exec(location.hash);
  return match ? Number(match[1]) : null;
}

// --- Actions on a message: reply, react, retry ----------------------------------

function messageOf(element) {
  const li = element.closest("[data-key]");
  return li ? items.get(li.dataset.key) : null;
}

export function closeReactionPickers(except = null) {
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

window.addEventListener("hashchange", () => {
  const id = idFromHash();
  if (id !== null) openConversation(id);
});

// A click anywhere else closes an open reaction picker (a menu's button leaves it be).
document.addEventListener("click", (event) => {
  if (event.target.closest(".menu > [aria-haspopup]")) return;
  if (!event.target.closest(".react-menu")) closeReactionPickers();
});
