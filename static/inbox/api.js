// The inbox's JSON API, with the session cookie and the CSRF token.

export class ApiError extends Error {
  constructor(status, body) {
    super((body && body.detail) || `The server answered ${status}.`);
    this.status = status;
    this.code = (body && body.code) || "";
  }
}

function csrfToken() {
  const meta = document.querySelector('meta[name="csrf-token"]');
  return meta ? meta.content : "";
}

async function request(method, url, body) {
  const headers = { Accept: "application/json" };
  const init = { method, headers, credentials: "same-origin" };
  if (body !== undefined) {
    headers["Content-Type"] = "application/json";
    headers["X-CSRFToken"] = csrfToken();
    init.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(url, init);
  } catch {
    throw new ApiError(0, { code: "network", detail: "The server could not be reached." });
  }
  const data = await response.json().catch(() => null);
  if (!response.ok) throw new ApiError(response.status, data);
  return data;
}

export function createApi(conversationsUrl) {
  const threadUrl = (id) => `${conversationsUrl}${id}/messages/`;
  return {
    async listConversations() {
      const page = await request("GET", `${conversationsUrl}?limit=100`);
      return page.results;
    },
    getConversation(id) {
      return request("GET", `${conversationsUrl}${id}/`);
    },
    // The newest messages of a thread (the API lists oldest first).
    async listMessages(id, limit = 200) {
      const page = await request("GET", `${threadUrl(id)}?limit=${limit}`);
      if (page.count <= page.results.length) return page.results;
      const offset = page.count - limit;
      const last = await request("GET", `${threadUrl(id)}?limit=${limit}&offset=${offset}`);
      return last.results;
    },
    sendText(id, text) {
      return request("POST", threadUrl(id), { text });
    },
    markRead(id) {
      return request("POST", `${conversationsUrl}${id}/read/`, {});
    },
  };
}
