// The operator's workspace, the page's entry module: it opens the one WebSocket
// the page is kept live over and hands each live event to the panels (the list,
// the open thread and its head, the composer, the top bar), which share
// state.js. Every (re)connect re-reads the list and the open thread from the
// API, so nothing published while the socket was away is lost.
//
// The panels call each other's functions, so some of their modules import each
// other; none of them calls into another while the modules load (they only look
// up their elements and add listeners), which keeps those cycles harmless.
import { updateComposer } from "./composer.js";
import { consentChanged, reloadContactPanel } from "./contact-panel.js";
import { format, gettext } from "./i18n.js";
import { fillFilterChoices, loadList, refreshCountdowns, relist, renderList } from "./list.js";
import { messageSummary } from "./message.js";
import { alertOperator } from "./notify.js";
import { contactName, notificationSentence } from "./render.js";
import { LiveSocket } from "./socket.js";
import { refreshTemplatePicker } from "./template-picker.js";
import {
  api,
  byTestId,
  conversations,
  epoch,
  root,
  setSla,
  state,
  upsertConversation,
  useSocket,
} from "./state.js";
import {
  announceViewing,
  collisions,
  refreshHeaderClock,
  renderHeader,
  renderLabelOptions,
  renderTransferTargets,
} from "./thread-head.js";
import {
  idFromHash,
  isNearBottom,
  loadThread,
  markRead,
  openConversation,
  putEvent,
  putMessage,
  putNote,
  scrollToBottom,
} from "./thread.js";
import {
  addNotification,
  fillTimeZones,
  loadAgents,
  loadMe,
  loadNotifications,
  presenceChanged,
  renderNotifications,
} from "./topbar.js";

const COUNTDOWN_EVERY_MS = 15_000;
const pageLoadedAt = Date.now();
const connectionState = byTestId("connection-state");

async function loadCatalogs() {
  const [labelRows, teamRows, numberRows] = await Promise.all([
    api.labels().catch(() => null),
    api.teams().catch(() => null),
    api.numbers().catch(() => null),
  ]);
  fillFilterChoices({ labels: labelRows, teams: teamRows, numbers: numberRows });
  if (labelRows) {
    state.labels = labelRows;
    renderLabelOptions();
  }
  if (teamRows) {
    state.teams = teamRows;
    renderTransferTargets();
  }
}

async function resync() {
  const thread = state.openId === null ? null : loadThread(state.openId);
  await Promise.all([loadList(), loadMe(), loadAgents(), loadNotifications(), loadCatalogs()]);
  renderHeader();
  reloadContactPanel();
  await thread;
}

/** A conversation first seen now, created after the page opened: a new chat. */
function isNewChat(conversation) {
  return !conversations.has(conversation.id) && epoch(conversation.created_at) > pageLoadedAt - 5_000;
}

function threadFocused(id) {
  return id === state.openId && document.visibilityState === "visible" && document.hasFocus();
}

function tellOfNewChat(conversation) {
  if (conversation.assignee && conversation.assignee.id !== state.meId) return;
  alertOperator({
    title: format(gettext("New chat: %(name)s"), { name: contactName(conversation) }),
    body: conversation.last_message_text || "",
    tag: `chat-${conversation.id}`,
    onClick: () => openConversation(conversation.id),
  });
}

function tellOfMessage(conversation, message) {
  if (message.direction !== "in" || conversation.assignee?.id !== state.meId) return;
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
    body: notificationSentence(n),
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
      state.meId = state.meId ?? event.user_id;
      break;
    case "message.created": {
      if (event.conversation) {
        onConversation(event.conversation);
        if (event.message) tellOfMessage(event.conversation, event.message);
      }
      if (event.conversation_id === state.openId) {
        const follow = isNearBottom();
        putMessage(event.message);
        if (follow) scrollToBottom();
        markRead(state.openId);
      }
      renderList();
      if (event.conversation_id === state.openId) renderHeader();
      break;
    }
    case "conversation.updated": {
      const conversation = event.conversation;
      if (conversation) onConversation(conversation);
      renderList();
      if ((conversation?.id ?? event.conversation_id) === state.openId) renderHeader();
      break;
    }
    case "conversation.sla":
      setSla(event.conversation_id, event.sla);
      renderList();
      if (event.conversation_id === state.openId) refreshHeaderClock();
      break;
    case "message.updated":
      if (event.conversation_id === state.openId) putMessage(event.message);
      break;
    case "conversation.event":
      if (event.conversation_id === state.openId && event.event) putEvent(event.event);
      break;
    case "note.created":
      if (event.conversation_id === state.openId && event.note) {
        const follow = isNearBottom();
        putNote(event.note);
        if (follow) scrollToBottom();
      }
      break;
    case "notification.created": {
      const n = event.notification;
      if (n && addNotification(n)) tellOfNotification(n);
      break;
    }
    case "presence.updated":
      // Changes close together arrive as one frame (``changes``).
      for (const change of event.changes ?? [event]) presenceChanged(change.user_id, change.presence);
      break;
    case "contact.consent":
      consentChanged(event.contact_id);
      if (conversations.get(state.openId)?.contact?.id === event.contact_id) refreshTemplatePicker();
      break;
    case "collision":
      if (event.user && event.user.id !== state.meId) collisions.apply(event);
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

function setConnection(connection) {
  const key = `label${connection[0].toUpperCase()}${connection.slice(1)}`;
  connectionState.dataset.state = connection;
  connectionState.textContent = connectionState.dataset[key] || connection;
  // While the socket cannot connect, the page still follows the API at the
  // reconnect pace (and finds out when the session has ended).
  if (connection === "reconnecting") resync();
}

const socket = new LiveSocket(
  `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}${root.dataset.socketPath}`,
  { onOpen, onEvent, onState: setConnection },
  { pingEveryMs: Number(root.dataset.pingEveryMs) || undefined },
);

useSocket(socket);

// --- Start -------------------------------------------------------------------------

setInterval(() => {
  refreshCountdowns();
  refreshHeaderClock();
  updateComposer();
}, COUNTDOWN_EVERY_MS);

fillTimeZones();
// A reload keeps the open conversation; its thread is read once the socket is open.
state.openId = idFromHash();
state.cursorId = state.openId;
renderHeader();
renderNotifications();
socket.start();

// The one deliberate global: lets tests and support staff drop or pause the live connection.
window.__inbox = Object.freeze({ socket });
