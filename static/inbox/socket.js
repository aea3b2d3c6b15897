// The live connection: reconnects with backoff and tells the page every time it
// is open again, so the page can re-read what it may have missed.

// A ping also tells the server the operator is still here (presence). Its pong
// comes back through the channel layer, the way every live event travels: when
// the layer stops delivering to this socket, no pong comes and the page
// reconnects, joining its groups again and re-reading what it missed. When the
// server knows events were lost on the way (its Redis connection broke and came
// back, a publish failed), it says "resync" and the page re-reads at once.
const PING_EVERY_MS = 20_000;
const PONG_TIMEOUT_MS = 5_000;
const MAX_DELAY_MS = 15_000;

export class LiveSocket {
  /**
   * @param {string} url ws(s)://host/ws/inbox/
   * @param {{onOpen: () => void, onEvent: (event: object) => void,
   *          onState: (state: "live"|"reconnecting"|"offline") => void}} handlers
   * @param {{pingEveryMs?: number}} options
   */
  constructor(url, handlers, { pingEveryMs = PING_EVERY_MS } = {}) {
    this.url = url;
    this.handlers = handlers;
    this.pingEveryMs = pingEveryMs;
    this.pongTimer = null;
    this.ws = null;
    this.attempt = 0;
    this.running = false;
    this.retryTimer = null;
    this.pingTimer = null;
    this.awaitingPong = false;
    this.connections = 0; // successful opens so far
  }

  start() {
    if (this.running) return;
    this.running = true;
    this.connect();
  }

  /** Closes the connection and stays disconnected until start(). */
  stop() {
    this.running = false;
    clearTimeout(this.retryTimer);
    this.closeCurrent();
    this.handlers.onState("offline");
  }

  /** Sends a frame when connected; returns whether it went out (nothing is queued). */
  send(frame) {
    if (!this.ws || this.ws.readyState !== WebSocket.OPEN) return false;
    this.ws.send(JSON.stringify(frame));
    return true;
  }

  /** Drops the current connection as a network failure would; it comes back by itself. */
  close() {
    if (this.ws) this.ws.close();
  }

  connect() {
    const ws = new WebSocket(this.url);
    this.ws = ws;
    ws.addEventListener("open", () => {
      if (ws !== this.ws) return;
      this.attempt = 0;
      this.connections += 1;
      this.synced = false;
      this.startPings();
      this.handlers.onState("live");
      // The page re-reads once the first pong proves the socket's groups deliver:
      // what was published before they did is then in what it reads.
      this.ping();
    });
    ws.addEventListener("message", (message) => {
      if (ws !== this.ws) return;
      let event;
      try {
        event = JSON.parse(message.data);
      } catch {
        return;
      }
      if (event.type === "resync") {
        if (this.synced) this.handlers.onOpen();
        return;
      }
      if (event.type === "pong") {
        this.awaitingPong = false;
        clearTimeout(this.pongTimer);
        if (!this.synced) {
          this.synced = true;
          this.handlers.onOpen();
        }
        return;
      }
      this.handlers.onEvent(event);
    });
    ws.addEventListener("close", () => {
      if (ws !== this.ws) return;
      this.ws = null;
      clearInterval(this.pingTimer);
      clearTimeout(this.pongTimer);
      if (this.running) this.scheduleReconnect();
    });
  }

  closeCurrent() {
    clearInterval(this.pingTimer);
    clearTimeout(this.pongTimer);
    const ws = this.ws;
    this.ws = null;
    if (ws) ws.close();
  }

  scheduleReconnect() {
    this.handlers.onState("reconnecting");
    const base = Math.min(MAX_DELAY_MS, 500 * 2 ** this.attempt);
    const delay = base * (0.8 + Math.random() * 0.4);
    this.attempt += 1;
    clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => {
      if (this.running) this.connect();
    }, delay);
  }

  // A connection that stops answering (sleeping laptop, dropped Wi-Fi) may never
  // report a close, and a layer that lost this socket's groups delivers nothing
  // while the socket stays open: an unanswered ping closes it so it reconnects.
  startPings() {
    clearInterval(this.pingTimer);
    this.awaitingPong = false;
    this.pingTimer = setInterval(() => this.ping(), this.pingEveryMs);
  }

  ping() {
    if (!this.ws || this.ws.readyState !== WebSocket.OPEN) return;
    if (this.awaitingPong) return;
    this.awaitingPong = true;
    this.ws.send(JSON.stringify({ type: "ping" }));
    clearTimeout(this.pongTimer);
    this.pongTimer = setTimeout(() => {
      if (!this.awaitingPong) return;
      // Its close handshake could hang as well: give up on it now.
      this.closeCurrent();
      if (this.running) this.scheduleReconnect();
    }, PONG_TIMEOUT_MS);
  }
}
