// A conversation's row in the list.
import { h } from "./dom.js";
import { format, gettext, ngettext } from "./i18n.js";
import { contactName, labelChip, renderWindowState, statusLabel } from "./render.js";
import { shortTime } from "./time.js";

function assigneeText(conversation, meId) {
  const assignee = conversation.assignee;
  if (!assignee) return gettext("Unassigned");
  if (assignee.id === meId) return gettext("Me");
  return assignee.name;
}

export function conversationItem(conversation, { active, cursor, unread, meId, watchers }) {
  const countdown = h("span", { class: "window-state", dataset: { testid: "window-countdown" } });
  renderWindowState(countdown, conversation.window_expires_at);
  const badge = h(
    "span",
    { class: "badge", dataset: { testid: "unread-count" }, hidden: unread === 0 },
    String(unread),
  );
  badge.setAttribute("aria-label", format(ngettext("%(count)s unread", "%(count)s unread", unread), { count: unread }));
  const status = conversation.status || "open";
  const button = h(
    "button",
    { type: "button", class: "conversation-button", tabindex: cursor ? "0" : "-1" },
    h(
      "span",
      { class: "row" },
      h(
        "span",
        { class: "name", dataset: { testid: "conversation-name" } },
        contactName(conversation),
      ),
      h(
        "time",
        { class: "time", datetime: conversation.last_message_at },
        shortTime(conversation.last_message_at),
      ),
    ),
    h(
      "span",
      { class: "row" },
      h(
        "span",
        { class: "preview", dataset: { testid: "conversation-preview" } },
        conversation.last_message_text || "",
      ),
      badge,
    ),
    h(
      "span",
      { class: "row meta-row" },
      countdown,
      h(
        "span",
        { class: `status-chip status-${status}`, dataset: { testid: "conversation-status" } },
        statusLabel(status),
      ),
      h(
        "span",
        {
          class: conversation.assignee ? "assignee" : "assignee is-unassigned",
          dataset: { testid: "conversation-assignee" },
        },
        assigneeText(conversation, meId),
      ),
      conversation.team
        ? h("span", { class: "team", dataset: { testid: "conversation-team" } }, conversation.team.name)
        : null,
      watchers
        ? h("span", { class: "watchers", dataset: { testid: "conversation-watchers" } }, watchers)
        : null,
    ),
    conversation.labels && conversation.labels.length
      ? h("span", { class: "row labels", dataset: { testid: "conversation-labels" } }, ...conversation.labels.map(labelChip))
      : null,
  );
  const classes = ["conversation"];
  if (active) classes.push("is-active");
  if (cursor) classes.push("is-cursor");
  if (unread > 0) classes.push("is-unread");
  return h(
    "li",
    {
      class: classes.join(" "),
      "aria-current": active ? "true" : null,
      dataset: { testid: "conversation-item", conversationId: conversation.id },
    },
    button,
  );
}
