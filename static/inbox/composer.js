// The composer under the thread: a reply to the customer (with a file, or quoting
// one of their messages) or a private note for the team; "/" suggests canned
// replies, "@" colleagues. It says why a reply cannot be sent (the 24-hour window),
// tells colleagues the operator is typing and shows the customer "typing…".
import { h, show } from "./dom.js";
import { format, gettext } from "./i18n.js";
import { focusCursorRow } from "./list.js";
import { humanSize } from "./message-body.js";
import { messageSummary } from "./message.js";
import { renderWindowState } from "./render.js";
import {
  api,
  byTestId,
  conversations,
  redirectIfSignedOut,
  root,
  sendFrame,
  state,
} from "./state.js";
import { Suggestions } from "./suggest.js";
import { closeTemplatePicker } from "./template-picker.js";
import { putMessage, putNote, scrollToBottom } from "./thread.js";

const TYPING_EVERY_MS = 2_500;
// WhatsApp shows the customer "typing…" for up to 25 s per indicator.
const CUSTOMER_TYPING_EVERY_MS = 20_000;

const ui = {
  countdown: root.querySelector('.thread-head [data-testid="window-countdown"]'),
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
  templateButton: byTestId("composer-template-button"),
  cannedList: byTestId("canned-list"),
  mentionList: byTestId("mention-list"),
};

let mode = "reply"; // reply to the customer or write a private note
let replyTo = null; // the message the next reply quotes
let attachedFile = null; // the file the next reply sends
let sending = false;
// A 409 from the server while the page still thought the window open; it holds
// until the customer writes again.
let refusal = null; // {conversationId, lastInboundAt, detail}
let lastTypingSent = 0;

export function updateComposer() {
  const conversation = conversations.get(state.openId);
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
  // A template may be sent whatever the window: outside it, it is the only way.
  show(ui.templateButton, replying && Boolean(conversation));
  ui.templateButton.classList.toggle("primary", Boolean(conversation) && !windowOpen);
  ui.templateButton.classList.toggle("secondary", !conversation || windowOpen);
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

export function showComposerError(text) {
  ui.composerError.textContent = text || "";
  show(ui.composerError, Boolean(text));
}

/** Another conversation was opened: nothing of the last one's draft applies to it. */
export function resetComposer() {
  replyTo = null;
  attachedFile = null;
  showComposerError("");
  closeSuggestions();
  closeTemplatePicker();
}

/** A message of the thread changed: the reply that quotes it shows its newest version. */
export function replyTargetUpdated(message) {
  if (replyTo && replyTo.id === message.id) {
    replyTo = message;
    updateComposer();
  }
}

export function focusInput() {
  ui.input.focus();
}

/** Puts the focus in the composer, to reply or to write a note (when a chat is open). */
export function focusComposer(next) {
  if (state.openId === null) return;
  setMode(next);
  ui.input.focus();
}

// --- Replies, notes, canned replies, mentions ----------------------------------------

function setMode(next) {
  mode = next;
  ui.composer.dataset.mode = mode;
  for (const tab of ui.composer.querySelectorAll(".mode")) {
    tab.setAttribute("aria-selected", String(tab.dataset.mode === mode));
  }
  ui.input.placeholder = ui.input.dataset[mode === "note" ? "placeholderNote" : "placeholderReply"];
  ui.send.textContent = ui.send.dataset[mode === "note" ? "labelNote" : "labelReply"];
  closeSuggestions();
  if (mode === "note") closeTemplatePicker();
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
    const replies = await api.cannedReplies(query, state.openId);
    if (load !== cannedLoads || tokenBeforeCaret("/") === null) return;
    canned.showItems(replies, ui.cannedList.dataset.empty);
  } catch {
    canned.close();
  }
}

function suggestMentions(query) {
  const needle = query.toLowerCase();
  const matches = [...state.agents.values()]
    .filter((a) => a.id !== state.meId)
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
    focusCursorRow();
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
    if (id === state.openId) {
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
    if (id === state.openId) {
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
  const id = state.openId;
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

// --- Files, replies to a message, the customer's typing indicator ------------------

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

export function startReply(message) {
  replyTo = message;
  setMode("reply");
  ui.input.focus();
}

let customerTypingAt = 0;
let customerTypingFor = null;

/** While the operator types a reply, the customer sees "typing…" (at most every 20 s). */
function showCustomerTyping() {
  const id = state.openId;
  if (id === null || ui.input.disabled || !ui.input.value.trim()) return;
  const now = Date.now();
  if (customerTypingFor === id && now - customerTypingAt < CUSTOMER_TYPING_EVERY_MS) return;
  customerTypingFor = id;
  customerTypingAt = now;
  api.typing(id).catch((error) => {
    if (redirectIfSignedOut(error) || id !== state.openId) return;
    showComposerError(
      format(gettext("The customer could not be shown that you are typing: %(reason)s"), {
        reason: error.message,
      }),
    );
  });
}

function announceTyping() {
  const now = Date.now();
  if (state.openId === null || now - lastTypingSent < TYPING_EVERY_MS) return;
  lastTypingSent = now;
  sendFrame({ type: "typing", conversation_id: state.openId });
}
