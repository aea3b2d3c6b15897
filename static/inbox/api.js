// The inbox's JSON API, with the session cookie and the CSRF token.
import { gettext, format } from "./i18n.js";

export class ApiError extends Error {
  constructor(status, body) {
    super((body && body.detail) || format(gettext("The server answered %(status)s."), { status }));
    this.status = status;
    this.code = (body && body.code) || "";
    this.body = body;
  }
}

function csrfToken() {
  const meta = document.querySelector('meta[name="csrf-token"]');
  return meta ? meta.content : "";
}

async function request(method, url, body) {
  const headers = { Accept: "application/json" };
  const init = { method, headers, credentials: "same-origin" };
  if (body instanceof FormData) {
    // The browser sets the multipart boundary itself.
    headers["X-CSRFToken"] = csrfToken();
    init.body = body;
  } else if (body !== undefined) {
    headers["Content-Type"] = "application/json";
    headers["X-CSRFToken"] = csrfToken();
    init.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(url, init);
  } catch {
    throw new ApiError(0, {
      code: "network",
      detail: gettext("The server could not be reached."),
    });
  }
  const data = await response.json().catch(() => null);
  if (!response.ok) throw new ApiError(response.status, data);
  return data;
}

// Lists may come paginated ({results}) or whole.
const rows = (data) => (Array.isArray(data) ? data : (data?.results ?? []));

function query(params) {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value !== "" && value !== null && value !== undefined) search.set(key, String(value));
  }
  const text = search.toString();
  return text ? `?${text}` : "";
}

export function createApi(conversationsUrl) {
  const root = conversationsUrl.replace(/conversations\/$/, "");
  const one = (id) => `${conversationsUrl}${id}/`;
  const threadUrl = (id) => `${one(id)}messages/`;
  return {
    /** filters: {status, assignee, team, label, number, search, sort} */
    async listConversations(filters = {}) {
      const page = await request("GET", `${conversationsUrl}${query({ limit: 200, ...filters })}`);
      return rows(page);
    },
    getConversation(id) {
      return request("GET", one(id));
    },
    // The newest messages of a thread (the API lists oldest first).
    async listMessages(id, limit = 200) {
      const page = await request("GET", `${threadUrl(id)}?limit=${limit}`);
      if (page.count <= page.results.length) return page.results;
      const offset = page.count - limit;
      const last = await request("GET", `${threadUrl(id)}?limit=${limit}&offset=${offset}`);
      return last.results;
    },
    /** A text; `replyTo` (a message id) quotes that message. */
    sendText(id, text, replyTo = null) {
      const body = { text };
      if (replyTo) body.reply_to = replyTo;
      return request("POST", threadUrl(id), body);
    },
    /** A message made from a template: parameters {header, body, buttons}. */
    sendTemplate(id, templateId, parameters) {
      return request("POST", threadUrl(id), { template: { id: templateId, parameters } });
    },
    /** The templates the operator may send in this chat, the customer's language first. */
    async conversationTemplates(id) {
      return rows(await request("GET", `${one(id)}templates/`));
    },
    /** A photo, video, audio or document, with an optional caption. */
    sendFile(id, file, caption = "", replyTo = null) {
      const form = new FormData();
      form.append("file", file, file.name);
      if (caption) form.append("caption", caption);
      if (replyTo) form.append("reply_to", replyTo);
      return request("POST", threadUrl(id), form);
    },
    /** The operator's reaction to a message; "" removes it. */
    react(messageId, emoji) {
      return request("POST", `${root}messages/${messageId}/reaction/`, { emoji });
    },
    /** Sends a failed message again. */
    retrySend(messageId) {
      return request("POST", `${root}messages/${messageId}/retry/`, {});
    },
    /** Downloads a customer's file again after the download failed. */
    retryMedia(messageId) {
      return request("POST", `${root}messages/${messageId}/media/retry/`, {});
    },
    /** Shows the customer that the operator is typing. */
    typing(id) {
      return request("POST", `${one(id)}typing/`, {});
    },
    markRead(id) {
      return request("POST", `${one(id)}read/`, {});
    },
    claim(id) {
      return request("POST", `${one(id)}claim/`, {});
    },
    /** change: {assignee: id|null} and/or {team: id} */
    assign(id, change) {
      return request("POST", `${one(id)}assign/`, change);
    },
    setStatus(id, status, snoozedUntil = null) {
      const body = { status };
      if (snoozedUntil) body.snoozed_until = snoozedUntil;
      return request("POST", `${one(id)}status/`, body);
    },
    setLabels(id, labels) {
      return request("PUT", `${one(id)}labels/`, { labels });
    },
    async listNotes(id) {
      return rows(await request("GET", `${one(id)}notes/?limit=500`));
    },
    addNote(id, text) {
      return request("POST", `${one(id)}notes/`, { text });
    },
    async listEvents(id) {
      return rows(await request("GET", `${one(id)}events/?limit=500`));
    },
    async cannedReplies(q, conversation) {
      return rows(await request("GET", `${root}canned-replies/${query({ q, conversation })}`));
    },
    async labels() {
      return rows(await request("GET", `${root}labels/?limit=500`));
    },
    async teams() {
      return rows(await request("GET", `${root}teams/?limit=500`));
    },
    async agents() {
      return rows(await request("GET", `${root}agents/?limit=500`));
    },
    async numbers() {
      return rows(await request("GET", `${root}numbers/?limit=500`));
    },
    me() {
      return request("GET", `${root}me/`);
    },
    updateMe(change) {
      return request("PATCH", `${root}me/`, change);
    },
    async notifications(unread = false) {
      return rows(await request("GET", `${root}notifications/${query({ unread: unread ? 1 : "", limit: 100 })}`));
    },
    readNotification(id) {
      return request("POST", `${root}notifications/${id}/read/`, {});
    },
    /** A customer: number, country, time zone and local time, their chats with labels. */
    contact(id) {
      return request("GET", `${root}contacts/${id}/`);
    },
    /** A customer's consent per category, the platform's stop, and every change. */
    consents(contactId) {
      return request("GET", `${root}contacts/${contactId}/consents/`);
    },
    /** change: {category, state: "opted_in"|"opted_out", wording} */
    recordConsent(contactId, change) {
      return request("POST", `${root}contacts/${contactId}/consents/`, change);
    },
    consentCategories() {
      return request("GET", `${root}consent-categories/`);
    },
  };
}
