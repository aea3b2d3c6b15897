// Who else is viewing or typing in a chat, from the collision frames other
// operators' pages send. A viewer who stops sending is forgotten after a while.
import { format, gettext } from "./i18n.js";

const STALE_AFTER_MS = 15_000;
const TYPING_FOR_MS = 6_000;

export class Collisions {
  constructor(onChange) {
    this.onChange = onChange;
    this.chats = new Map(); // conversation id -> Map(user id -> {user, state, at, typingAt})
    setInterval(() => this.expire(), 2_000);
  }

  /** A collision frame: {conversation_id, user, state: viewing|typing|left}. */
  apply(frame, now = Date.now()) {
    const id = frame.conversation_id;
    const user = frame.user;
    if (!user) return;
    let viewers = this.chats.get(id);
    if (frame.state === "left") {
      if (viewers?.delete(user.id)) this.onChange(id);
      return;
    }
    if (!viewers) {
      viewers = new Map();
      this.chats.set(id, viewers);
    }
    const previous = viewers.get(user.id);
    const typingAt = frame.state === "typing" ? now : (previous?.typingAt ?? 0);
    viewers.set(user.id, { user, at: now, typingAt });
    this.onChange(id);
  }

  /** Forgets everyone (the socket reconnected: they will announce themselves again). */
  clear() {
    const ids = [...this.chats.keys()];
    this.chats.clear();
    for (const id of ids) this.onChange(id);
  }

  expire(now = Date.now()) {
    for (const [id, viewers] of this.chats) {
      let changed = false;
      for (const [userId, viewer] of viewers) {
        if (now - viewer.at > STALE_AFTER_MS) {
          viewers.delete(userId);
          changed = true;
        } else if (viewer.typingAt && now - viewer.typingAt > TYPING_FOR_MS) {
          viewer.typingAt = 0;
          changed = true;
        }
      }
      if (viewers.size === 0) this.chats.delete(id);
      if (changed) this.onChange(id);
    }
  }

  viewers(id) {
    return [...(this.chats.get(id)?.values() ?? [])];
  }

  /** "Ivan is typing…", "Ivan and Olga are viewing this chat", or "". */
  describe(id) {
    const viewers = this.viewers(id);
    const typing = viewers.filter((v) => v.typingAt).map((v) => v.user.name || v.user.username);
    const viewing = viewers.filter((v) => !v.typingAt).map((v) => v.user.name || v.user.username);
    const parts = [];
    if (typing.length === 1) parts.push(format(gettext("%(name)s is typing…"), { name: typing[0] }));
    else if (typing.length > 1)
      parts.push(format(gettext("%(names)s are typing…"), { names: typing.join(", ") }));
    if (viewing.length === 1)
      parts.push(format(gettext("%(name)s is viewing this chat"), { name: viewing[0] }));
    else if (viewing.length > 1)
      parts.push(format(gettext("%(names)s are viewing this chat"), { names: viewing.join(", ") }));
    return parts.join(" · ");
  }
}
