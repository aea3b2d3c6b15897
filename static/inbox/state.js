// What the panels of the operator's page share: the page's root and its API, the
// conversations as the server last described them, which one is open, who the
// operator is, and the live connection to send frames on. Each panel keeps the
// rest of its state to itself.
import { createApi } from "./api.js";

export const root = document.getElementById("inbox");
export const tools = document.getElementById("tools");
export const api = createApi(root.dataset.conversationsUrl);
export const byTestId = (id, scope = document) => scope.querySelector(`[data-testid="${id}"]`);

export const state = {
  me: null, // GET me/ (null until it answers)
  meId: null, // from me/ or the socket's hello
  openId: null, // the conversation shown in the thread pane
  cursorId: null, // the list item the keyboard is on
  labels: [],
  teams: [],
  agents: new Map(), // id -> agent
};

export const conversations = new Map(); // id -> conversation as the API shapes it
const liveAt = new Map(); // id -> when a live event last told of it (performance.now())
// id -> the chat's SLA clock: API answers carry it as `sla`, live events as
// `conversation.sla` (other live events carry the conversation without it).
const slaClocks = new Map();

/** The SLA clock of conversation `id` ({first_response_due_at, ...}), or null. */
export function slaOf(id) {
  return slaClocks.get(id) ?? null;
}

export function setSla(id, sla) {
  slaClocks.set(id, sla);
}

export const isSupervisor = () =>
  Boolean(state.me && (state.me.roles || []).some((role) => role === "supervisor" || role === "admin"));

export const epoch = (iso) => (iso ? Date.parse(iso) : 0);

/** Whether a live event told of the conversation after `askedAt` (performance.now()). */
export function changedLiveSince(id, askedAt) {
  return (liveAt.get(id) ?? -1) > askedAt;
}

/**
 * Keeps the newer of what we have and `incoming`. An API answer (`askedAt`: when it
 * was asked for) loses to a live event that arrived after it was asked for: the
 * answer may have been read before that change.
 */
export function upsertConversation(incoming, askedAt = null) {
  const current = conversations.get(incoming.id);
  if (current && epoch(incoming.last_message_at) < epoch(current.last_message_at)) return false;
  if (askedAt === null) liveAt.set(incoming.id, performance.now());
  else if (changedLiveSince(incoming.id, askedAt)) return false;
  conversations.set(incoming.id, incoming);
  if (incoming.sla !== undefined) slaClocks.set(incoming.id, incoming.sla);
  return true;
}

export function redirectIfSignedOut(error) {
  if (error.status === 401) {
    location.assign(root.dataset.loginUrl);
    return true;
  }
  return false;
}

let socket = null;

/** The live connection the entry module opened. */
export function useSocket(liveSocket) {
  socket = liveSocket;
}

/** Sends a frame when the live connection is open; returns whether it went out. */
export function sendFrame(frame) {
  return socket ? socket.send(frame) : false;
}
