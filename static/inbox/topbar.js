// The top bar: the operator's presence switch (and, for supervisors, everyone's
// presence and load), the notifications panel, settings (desktop notifications,
// sound, language, time zone) and the keyboard help.
import { h, option, show } from "./dom.js";
import { format, gettext, ngettext } from "./i18n.js";
import { renderList } from "./list.js";
import { askDesktopPermission, setPreferences } from "./notify.js";
import { closePopovers, onPopoverOpen } from "./popover.js";
import { contactName, notificationSentence, presenceLabel } from "./render.js";
import { api, byTestId, conversations, epoch, isSupervisor, redirectIfSignedOut, root, state, tools } from "./state.js";
import { renderTransferTargets, showActionError } from "./thread-head.js";
import { loadThread, openConversation } from "./thread.js";
import { fullTime, setTimeZone, shortTime } from "./time.js";

const ui = {
  presencePanel: byTestId("presence-panel"),
  agentList: byTestId("agent-list"),
  myPresence: byTestId("my-presence", tools),
  presenceSwitch: byTestId("presence-switch", tools),
  notificationsButton: byTestId("notifications-button", tools),
  notificationsCount: byTestId("notifications-count", tools),
  notificationList: byTestId("notification-list", tools),
  notificationsEmpty: byTestId("notifications-empty", tools),
  notificationsReadAll: byTestId("notifications-read-all", tools),
  notifyDesktop: byTestId("notify-desktop", tools),
  notifySound: byTestId("notify-sound", tools),
  languageSelect: byTestId("language-select", tools),
  timeZoneSelect: byTestId("time-zone-select", tools),
  helpButton: byTestId("help-button", tools),
  help: byTestId("help-overlay"),
  helpClose: byTestId("help-close"),
};

const notifications = new Map(); // id -> notification

// --- Presence --------------------------------------------------------------------

function renderMyPresence() {
  const presence = state.me?.presence || "offline";
  ui.myPresence.dataset.presence = presence;
  ui.myPresence.title = presenceLabel(presence);
  if (state.me) ui.presenceSwitch.value = state.me.presence_choice || state.me.presence || "online";
}

export function renderAgents() {
  if (!isSupervisor()) {
    show(ui.presencePanel, false);
    root.classList.remove("with-team-panel");
    return;
  }
  root.classList.add("with-team-panel");
  show(ui.presencePanel, true);
  const order = { online: 0, away: 1, offline: 2 };
  const sorted = [...state.agents.values()].sort(
    (a, b) =>
      (order[a.presence] ?? 3) - (order[b.presence] ?? 3) ||
      (a.name || a.username).localeCompare(b.name || b.username),
  );
  ui.agentList.replaceChildren(
    ...sorted.map((agent) =>
      h(
        "li",
        { class: "agent", dataset: { testid: "agent", agentId: agent.id, presence: agent.presence } },
        h("span", { class: "presence-dot", dataset: { presence: agent.presence } }),
        h("span", { class: "agent-name" }, agent.name || agent.username),
        h("span", { class: "agent-presence", dataset: { testid: "agent-presence" } }, presenceLabel(agent.presence)),
        agent.capacity !== undefined
          ? h(
              "span",
              { class: "agent-load", title: gettext("Active chats / capacity") },
              `${agent.active_chats ?? 0}/${agent.capacity}`,
            )
          : null,
      ),
    ),
  );
}

export async function loadAgents() {
  try {
    state.agents = new Map((await api.agents()).map((agent) => [agent.id, agent]));
  } catch {
    return;
  }
  renderAgents();
  renderTransferTargets();
}

/** Someone's presence changed (the operator's own included). */
export function presenceChanged(userId, presence) {
  const agent = state.agents.get(userId);
  if (agent) {
    agent.presence = presence;
    renderAgents();
    renderTransferTargets();
  }
  if (state.me && userId === state.meId) {
    state.me.presence = presence;
    renderMyPresence();
  }
}

// --- Notifications ---------------------------------------------------------------

const notificationText = notificationSentence;

export function renderNotifications() {
  const sorted = [...notifications.values()].sort((a, b) => epoch(b.created_at) - epoch(a.created_at));
  const unread = sorted.filter((n) => !n.read_at).length;
  ui.notificationsCount.textContent = String(unread);
  show(ui.notificationsCount, unread > 0);
  ui.notificationsButton.setAttribute(
    "aria-label",
    format(ngettext("%(count)s unread notification", "%(count)s unread notifications", unread), {
      count: unread,
    }),
  );
  ui.notificationList.replaceChildren(
    ...sorted.map((n) => {
      const conversation = conversations.get(n.conversation_id);
      return h(
        "li",
        {
          class: n.read_at ? "notification" : "notification is-unread",
          dataset: { testid: "notification", notificationId: n.id, kind: n.kind },
        },
        h(
          "button",
          { type: "button", class: "notification-button" },
          h("span", { class: "notification-text" }, notificationText(n)),
          h(
            "span",
            { class: "notification-meta" },
            conversation ? `${contactName(conversation)} · ` : "",
            h("time", { datetime: n.created_at, title: fullTime(n.created_at) }, shortTime(n.created_at)),
          ),
        ),
      );
    }),
  );
  show(ui.notificationsEmpty, sorted.length === 0);
}

export async function loadNotifications() {
  try {
    for (const n of await api.notifications(false)) notifications.set(n.id, n);
  } catch {
    return;
  }
  renderNotifications();
}

async function readNotification(id) {
  const n = notifications.get(id);
  if (!n || n.read_at) return;
  n.read_at = new Date().toISOString();
  renderNotifications();
  try {
    const answer = await api.readNotification(id);
    if (answer && answer.id !== undefined) notifications.set(answer.id, answer);
  } catch {
    // Shown as read here; the next load tells the truth.
  }
  renderNotifications();
}

ui.notificationList.addEventListener("click", (event) => {
  const li = event.target.closest("[data-notification-id]");
  if (!li) return;
  const n = notifications.get(Number(li.dataset.notificationId));
  if (!n) return;
  closePopovers();
  readNotification(n.id);
  openConversation(n.conversation_id);
});

ui.notificationsReadAll.addEventListener("click", () => {
  for (const n of notifications.values()) if (!n.read_at) readNotification(n.id);
});

/** A notification that came live; false when it is known already (the same event may come twice). */
export function addNotification(n) {
  if (notifications.has(n.id)) return false;
  notifications.set(n.id, n);
  renderNotifications();
  return true;
}

onPopoverOpen(ui.notificationsButton, loadNotifications);

// --- Settings ----------------------------------------------------------------------

export function applyMe(profile) {
  state.me = profile;
  state.meId = profile.id;
  if (setTimeZone(profile.time_zone || undefined)) {
    renderList();
    if (state.openId !== null) loadThread(state.openId);
  }
  setPreferences({ desktop: profile.notify_desktop, sound: profile.notify_sound });
  ui.notifyDesktop.checked = Boolean(profile.notify_desktop);
  ui.notifySound.checked = Boolean(profile.notify_sound);
  ui.languageSelect.value = profile.language || "";
  ui.timeZoneSelect.value = profile.time_zone || "";
  renderMyPresence();
  renderAgents();
}

export async function loadMe() {
  try {
    applyMe(await api.me());
  } catch (error) {
    redirectIfSignedOut(error);
  }
}

async function updateMe(change) {
  try {
    applyMe(await api.updateMe(change));
    return true;
  } catch (error) {
    if (!redirectIfSignedOut(error)) showActionError(error.message);
    return false;
  }
}

ui.presenceSwitch.addEventListener("change", () => updateMe({ presence: ui.presenceSwitch.value }));

ui.notifyDesktop.addEventListener("change", async () => {
  const wanted = ui.notifyDesktop.checked;
  if (wanted) await askDesktopPermission();
  updateMe({ notify_desktop: wanted });
});

ui.notifySound.addEventListener("change", () => updateMe({ notify_sound: ui.notifySound.checked }));

ui.languageSelect.addEventListener("change", async () => {
  if (await updateMe({ language: ui.languageSelect.value })) location.reload();
});

ui.timeZoneSelect.addEventListener("change", () => updateMe({ time_zone: ui.timeZoneSelect.value }));

export function fillTimeZones() {
  const zones = typeof Intl.supportedValuesOf === "function" ? Intl.supportedValuesOf("timeZone") : [];
  const server = ui.timeZoneSelect.dataset.serverZone;
  if (server && !zones.includes(server)) zones.unshift(server);
  ui.timeZoneSelect.append(...zones.map((zone) => option(zone, zone.replaceAll("_", " "))));
}

// --- Keyboard help -------------------------------------------------------------------

export function helpOpen() {
  return !ui.help.hidden;
}

export function toggleHelp(visible = ui.help.hidden) {
  show(ui.help, visible);
  if (visible) ui.helpClose.focus();
}

ui.helpButton.addEventListener("click", () => toggleHelp(true));
ui.helpClose.addEventListener("click", () => toggleHelp(false));
ui.help.addEventListener("click", (event) => {
  if (event.target === ui.help) toggleHelp(false);
});

