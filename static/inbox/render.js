// How the page names things and shows the team's own entries: statuses and
// presence, a contact's name, the customer-service window, label chips, notes,
// activity events and notifications. Messages are in message.js, a list row in
// row.js. Everything customer- or operator-supplied goes in as text.
import { h } from "./dom.js";
import { format, gettext, pgettext } from "./i18n.js";
import { fullTime, threadTime } from "./time.js";

export function statusLabel(status) {
  const labels = {
    open: pgettext("conversation status", "Open"),
    pending: pgettext("conversation status", "Pending"),
    snoozed: pgettext("conversation status", "Snoozed"),
    resolved: pgettext("conversation status", "Resolved"),
  };
  return labels[status] || status;
}

export function presenceLabel(presence) {
  const labels = {
    online: pgettext("presence", "Online"),
    away: pgettext("presence", "Away"),
    offline: pgettext("presence", "Offline"),
  };
  return labels[presence] || presence;
}

export function contactName(conversation) {
  const c = conversation.contact || {};
  return c.name || c.phone || c.wa_id || c.user_id || gettext("Unknown contact");
}

export function contactSubtitle(conversation) {
  const c = conversation.contact || {};
  const parts = [];
  if (c.name && (c.phone || c.wa_id)) parts.push(c.phone || `+${c.wa_id}`);
  const number = conversation.number;
  if (number) {
    parts.push(format(gettext("to %(number)s"), { number: number.name || number.display_phone_number }));
  }
  if (conversation.team) parts.push(conversation.team.name);
  return parts.join(" · ");
}

/** A span of time as a countdown shows it: "5h 12m", "12m", "less than a minute". */
function spanText(ms) {
  const minutes = Math.floor(ms / 60_000);
  const hours = Math.floor(minutes / 60);
  const rest = minutes % 60;
  if (hours > 0) return format(gettext("%(hours)sh %(minutes)sm"), { hours, minutes: rest });
  if (minutes > 0) return format(gettext("%(minutes)sm"), { minutes });
  return gettext("less than a minute");
}

/** The customer-service window: {open, label}, e.g. "window closes in 5h 12m". */
export function windowState(expiresIso, now = Date.now()) {
  const remaining = expiresIso ? new Date(expiresIso).getTime() - now : 0;
  if (remaining <= 0) return { open: false, label: gettext("window closed") };
  return { open: true, label: format(gettext("window closes in %(left)s"), { left: spanText(remaining) }) };
}

const SLA_TARGETS = ["first_response_due_at", "next_reply_due_at", "resolution_due_at"];

/** When the chat's soonest running SLA target falls due (ms since the epoch), or null. */
export function slaDue(sla) {
  const due = SLA_TARGETS.map((key) => sla?.[key]).filter(Boolean).map(Date.parse);
  return due.length ? Math.min(...due) : null;
}

/**
 * The chat's SLA clock: {overdue, label} for its soonest running target ("SLA
 * 12m", then "overdue 3m"), or null when no target runs.
 */
export function slaState(sla, now = Date.now()) {
  const due = slaDue(sla);
  if (due === null) return null;
  const remaining = due - now;
  if (remaining > 0) return { overdue: false, label: format(gettext("SLA %(left)s"), { left: spanText(remaining) }) };
  return { overdue: true, label: format(gettext("overdue %(left)s"), { left: spanText(-remaining) }) };
}

/** Shows the SLA clock in `el` (hidden without a running target); whether it runs. */
export function renderSlaClock(el, sla) {
  const clock = slaState(sla);
  el.hidden = clock === null;
  if (clock === null) return false;
  if (el.textContent !== clock.label) el.textContent = clock.label;
  el.dataset.overdue = String(clock.overdue);
  // A target of this episode was missed (recorded by the server's clock).
  el.dataset.breached = String((sla.breached || []).length > 0);
  el.title = format(gettext("Due %(time)s"), { time: fullTime(new Date(slaDue(sla)).toISOString()) });
  return true;
}

export function renderWindowState(el, expiresIso) {
  const state = windowState(expiresIso);
  el.textContent = state.label;
  el.dataset.open = String(state.open);
  if (expiresIso) el.title = format(gettext("Until %(time)s"), { time: fullTime(expiresIso) });
  else el.removeAttribute("title");
  return state.open;
}

export function labelChip(label) {
  return h(
    "span",
    {
      class: "label-chip",
      style: `--label-color: ${/^#[0-9a-f]{6}$/i.test(label.color) ? label.color : "#64748b"}`,
      dataset: { testid: "label-chip", labelId: label.id },
    },
    label.name,
  );
}

/** A time in the thread: short, with the full date and time on hover. */
export function timeElement(iso) {
  return h("time", { datetime: iso, title: fullTime(iso) }, threadTime(iso));
}

/** Splits a note into text and highlighted @mentions (as text nodes, never markup). */
function noteBody(note) {
  const known = new Set((note.mentions || []).map((user) => user.username.toLowerCase()));
  const parts = [];
  let last = 0;
  for (const match of note.text.matchAll(/@([\w.+-]+)/g)) {
    const name = match[1].replace(/[.]+$/, "");
    if (!known.has(name.toLowerCase())) continue;
    parts.push(note.text.slice(last, match.index));
    parts.push(h("span", { class: "mention", dataset: { testid: "mention" } }, `@${name}`));
    last = match.index + 1 + name.length;
  }
  parts.push(note.text.slice(last));
  return h("p", { class: "body" }, ...parts);
}

export function noteItem(note) {
  return h(
    "li",
    {
      class: "note",
      dataset: { testid: "note", noteId: note.id, at: note.created_at },
    },
    h(
      "div",
      { class: "note-card" },
      h(
        "span",
        { class: "note-head" },
        h("span", { class: "note-tag" }, gettext("Private note")),
        h("span", { class: "author" }, note.author ? note.author.name : gettext("Someone")),
        timeElement(note.created_at),
      ),
      noteBody(note),
    ),
  );
}

const personName = (user) => (user && (user.name || user.username)) || "";

/** One sentence for an activity event: who changed what. */
export function eventText(event) {
  const data = event.data || {};
  const actor = event.actor ? personName(event.actor) : null;
  const who = actor || gettext("The inbox");
  switch (event.kind) {
    case "status": {
      const to = data.to || data.status || "";
      if (data.reason === "reopened") return gettext("The customer wrote: the chat was reopened");
      if (data.reason === "woke") return gettext("The customer wrote: the chat woke from snooze");
      if (data.reason === "customer_replied") return gettext("The customer replied: the chat is open again");
      if (data.reason === "snooze_ended") return gettext("The snooze ended: the chat is open again");
      if (to === "snoozed" && data.snoozed_until) {
        return format(gettext("%(who)s snoozed the chat until %(time)s"), {
          who,
          time: fullTime(data.snoozed_until),
        });
      }
      return format(gettext("%(who)s set the status to %(status)s"), { who, status: statusLabel(to) });
    }
    case "assigned": {
      const name = personName(data.assignee || data.to) || gettext("someone");
      if (data.reason === "claim") return format(gettext("%(who)s took the chat"), { who });
      if (!event.actor) return format(gettext("Assigned automatically to %(name)s"), { name });
      return format(gettext("%(who)s assigned the chat to %(name)s"), { who, name });
    }
    case "unassigned":
      return format(gettext("%(who)s unassigned the chat"), { who });
    case "team": {
      const team = data.to || data.team;
      return team
        ? format(gettext("%(who)s moved the chat to the team %(team)s"), { who, team: team.name || "" })
        : format(gettext("%(who)s removed the chat from its team"), { who });
    }
    case "escalated": {
      const minutes = data.waited_minutes ?? "";
      if (data.action === "reassigned") {
        return format(
          gettext("The customer waited %(minutes)s min: reassigned to %(name)s"),
          { minutes, name: personName(data.to) || gettext("someone") },
        );
      }
      return format(gettext("The customer waited %(minutes)s min: escalated to the supervisors"), {
        minutes,
      });
    }
    case "labels": {
      const added = data.added || [];
      const removed = data.removed || [];
      const parts = [];
      if (added.length) parts.push(format(gettext("added %(labels)s"), { labels: added.join(", ") }));
      if (removed.length) {
        parts.push(format(gettext("removed %(labels)s"), { labels: removed.join(", ") }));
      }
      return format(gettext("%(who)s changed the labels: %(change)s"), {
        who,
        change: parts.join("; "),
      });
    }
    default:
      return format(gettext("%(who)s changed the chat (%(kind)s)"), { who, kind: event.kind });
  }
}

/**
 * A notification's sentence in the operator's language, made from its data; the
 * server's English sentence only for a kind this page does not know.
 */
export function notificationSentence(notification) {
  const data = notification.data || {};
  if (notification.kind === "mention" && data.author) {
    return format(gettext("%(name)s mentioned you: %(text)s"), { name: data.author, text: data.note || "" });
  }
  if (notification.kind === "escalation" && data.customer) {
    return format(gettext("%(name)s has waited %(minutes)s min for a reply (%(team)s)."), {
      name: data.customer,
      minutes: data.waited_minutes,
      team: data.team,
    });
  }
  const targets = {
    first_response: gettext("first response"),
    next_reply: gettext("next reply"),
    resolution: gettext("resolution"),
  };
  if (notification.kind === "sla_breach" && data.customer) {
    return format(gettext("%(name)s: the %(target)s target was missed."), {
      name: data.customer,
      target: targets[data.kind] || data.kind,
    });
  }
  if (notification.kind === "sla_warning" && data.customer) {
    return format(gettext("%(name)s: the %(target)s target is near."), {
      name: data.customer,
      target: targets[data.kind] || data.kind,
    });
  }
  if (notification.kind === "window_closing" && data.customer) {
    return format(gettext("%(name)s's window closes soon and their message is unanswered."), {
      name: data.customer,
    });
  }
  if (notification.text) return notification.text;
  if (notification.kind === "mention") return gettext("You were mentioned in a note");
  if (notification.kind === "escalation") return gettext("A customer waited too long: escalated");
  return notification.kind;
}

export function eventItem(event) {
  return h(
    "li",
    { class: `event event-${event.kind}`, dataset: { testid: "event", eventId: event.id, at: event.created_at, kind: event.kind } },
    h("span", { class: "event-text" }, eventText(event)),
    " ",
    timeElement(event.created_at),
  );
}
