// Above the open thread: who the customer is, the chat's status, assignee and
// labels, the actions on it (claim, transfer, unassign, labels, pending, snooze,
// resolve, reopen), and who else is viewing or typing in it.
import { Collisions } from "./collision.js";
import { updateComposer } from "./composer.js";
import { syncContactPanel } from "./contact-panel.js";
import { h, option, show } from "./dom.js";
import { format, gettext } from "./i18n.js";
import { relist, renderList } from "./list.js";
import { closePopovers, onPopoverOpen } from "./popover.js";
import {
  contactName,
  contactSubtitle,
  labelChip,
  presenceLabel,
  renderSlaClock,
  statusLabel,
} from "./render.js";
import {
  api,
  byTestId,
  conversations,
  isSupervisor,
  redirectIfSignedOut,
  sendFrame,
  slaOf,
  state,
  upsertConversation,
} from "./state.js";
import { fromLocalInput, fullTime, toLocalInput } from "./time.js";

const VIEWING_EVERY_MS = 10_000;

const ui = {
  placeholder: byTestId("thread-placeholder"),
  view: byTestId("thread-view"),
  title: byTestId("thread-title"),
  subtitle: byTestId("thread-subtitle"),
  threadStatus: byTestId("thread-status"),
  threadSla: byTestId("thread-sla"),
  threadAssignee: byTestId("thread-assignee"),
  threadLabels: byTestId("thread-labels"),
  claim: byTestId("claim-button"),
  transferButton: byTestId("transfer-button"),
  transferForm: byTestId("transfer-form"),
  transferTarget: byTestId("transfer-target"),
  unassign: byTestId("unassign-button"),
  labelOptions: byTestId("label-options"),
  labelsEmpty: byTestId("labels-empty"),
  pending: byTestId("pending-button"),
  snoozeButton: byTestId("snooze-button"),
  snoozeForm: byTestId("snooze-form"),
  snoozeUntil: byTestId("snooze-until"),
  resolve: byTestId("resolve-button"),
  reopen: byTestId("reopen-button"),
  actionError: byTestId("action-error"),
  collision: byTestId("collision"),
};

let labelsSaving = 0; // label changes of this operator still on their way

function assigneeSentence(c) {
  if (!c.assignee) {
    return c.queued ? gettext("Unassigned, waiting in the team queue") : gettext("Unassigned");
  }
  if (c.assignee.id === state.meId) return gettext("Assigned to you");
  return format(gettext("Assigned to %(name)s"), { name: c.assignee.name });
}

/** The open chat's SLA clock (time left, then overdue) brought up to date. */
export function refreshHeaderClock() {
  const c = conversations.get(state.openId);
  renderSlaClock(ui.threadSla, c && c.status !== "resolved" ? slaOf(c.id) : null);
}

export function renderHeader() {
  const c = conversations.get(state.openId);
  show(ui.placeholder, state.openId === null);
  show(ui.view, state.openId !== null);
  ui.title.textContent = c ? contactName(c) : "";
  ui.subtitle.textContent = c ? contactSubtitle(c) : "";
  if (c) {
    let status = statusLabel(c.status);
    if (c.status === "snoozed" && c.snoozed_until) {
      status = format(gettext("Snoozed until %(time)s"), { time: fullTime(c.snoozed_until) });
    }
    if (c.escalated_at) status += ` · ${gettext("Escalated")}`;
    ui.threadStatus.textContent = status;
    ui.threadStatus.className = `status-chip status-${c.status}`;
    ui.threadAssignee.textContent = assigneeSentence(c);
    refreshHeaderClock();
    const mine = c.assignee?.id === state.meId;
    const mayReassign = !c.assignee || mine || isSupervisor();
    show(ui.claim, !c.assignee);
    show(ui.unassign, Boolean(c.assignee) && mayReassign);
    show(ui.transferButton, mayReassign);
    show(ui.resolve, c.status !== "resolved");
    show(ui.reopen, c.status !== "open");
    show(ui.pending, c.status === "open");
    show(ui.snoozeButton, c.status !== "resolved");
    ui.threadLabels.replaceChildren(...(c.labels || []).map(labelChip));
    // While the operator's own change is on its way, the boxes show their choice,
    // not an older state some other update carries.
    if (!labelsSaving) {
      for (const box of ui.labelOptions.querySelectorAll("input")) {
        box.checked = (c.labels || []).some((l) => String(l.id) === box.value);
      }
    }
  }
  renderCollision();
  updateComposer();
  syncContactPanel();
}

export function showActionError(text) {
  ui.actionError.textContent = text || "";
  show(ui.actionError, Boolean(text));
}

// --- Actions -------------------------------------------------------------------

/** Runs an action on the open conversation and shows its answer (or why it failed). */
async function act(run) {
  const id = state.openId;
  if (id === null) return null;
  showActionError("");
  const asked = performance.now();
  try {
    const conversation = await run(id);
    if (conversation && conversation.id !== undefined) {
      upsertConversation(conversation, asked);
      relist(conversations.get(id));
      renderList();
      if (id === state.openId) renderHeader();
    }
    return conversation;
  } catch (error) {
    if (redirectIfSignedOut(error)) return null;
    if (error.status === 404) {
      showActionError(gettext("This conversation is not yours to see any more."));
    } else {
      showActionError(error.message);
    }
    return null;
  }
}

export async function claim() {
  const id = state.openId;
  if (id === null) return;
  showActionError("");
  const asked = performance.now();
  try {
    const conversation = await api.claim(id);
    upsertConversation(conversation, asked);
    relist(conversations.get(id));
  } catch (error) {
    if (redirectIfSignedOut(error)) return;
    if (error.status === 409) {
      // Somebody was faster: say who, from the conversation as it is now.
      let name = "";
      try {
        const askedAgain = performance.now();
        const now = await api.getConversation(id);
        upsertConversation(now, askedAgain);
        relist(conversations.get(id));
        name = now.assignee?.name || "";
      } catch {
        // The server's own sentence below says it too.
      }
      if (id === state.openId) {
        showActionError(
          name ? format(gettext("Already taken by %(name)s."), { name }) : error.message,
        );
      }
    } else if (id === state.openId) {
      showActionError(error.message);
    }
  }
  renderList();
  if (id === state.openId) renderHeader();
}

function setStatus(status, snoozedUntil = null) {
  return act((id) => api.setStatus(id, status, snoozedUntil));
}

export async function resolveOpen() {
  const c = conversations.get(state.openId);
  if (!c || c.status === "resolved") return;
  await setStatus("resolved");
}

export function renderTransferTargets() {
  const [agentGroup, teamGroup] = ui.transferTarget.querySelectorAll("optgroup");
  agentGroup.replaceChildren(
    ...[...state.agents.values()]
      .filter((a) => a.id !== state.meId)
      .map((a) =>
        option(
          `user:${a.id}`,
          `${a.name || a.username} · ${presenceLabel(a.presence)}${
            a.capacity ? ` · ${a.active_chats ?? 0}/${a.capacity}` : ""
          }`,
        ),
      ),
  );
  teamGroup.replaceChildren(...state.teams.map((t) => option(`team:${t.id}`, t.name)));
}

export function renderLabelOptions() {
  ui.labelOptions.replaceChildren(
    ...state.labels.map((label) =>
      h(
        "label",
        { class: "check" },
        h("input", { type: "checkbox", value: label.id, dataset: { testid: "label-option" } }),
        labelChip(label),
      ),
    ),
  );
  show(ui.labelsEmpty, state.labels.length === 0);
  renderHeader();
}

ui.claim.addEventListener("click", claim);
ui.unassign.addEventListener("click", () => act((id) => api.assign(id, { assignee: null })));
ui.resolve.addEventListener("click", resolveOpen);
ui.reopen.addEventListener("click", () => setStatus("open"));
ui.pending.addEventListener("click", () => setStatus("pending"));

ui.transferForm.addEventListener("submit", async (event) => {
  event.preventDefault();
  const [kind, value] = ui.transferTarget.value.split(":");
  if (!value) return;
  closePopovers();
  const change = kind === "team" ? { team: Number(value) } : { assignee: Number(value) };
  await act((id) => api.assign(id, change));
});

ui.labelOptions.addEventListener("change", async () => {
  const ids = [...ui.labelOptions.querySelectorAll("input:checked")].map((box) => Number(box.value));
  labelsSaving += 1;
  try {
    await act((id) => api.setLabels(id, ids));
  } finally {
    labelsSaving -= 1;
    renderHeader();
  }
});

ui.snoozeForm.addEventListener("click", (event) => {
  const preset = event.target.closest("[data-snooze-hours], [data-snooze-tomorrow]");
  if (!preset) return;
  let until;
  if (preset.dataset.snoozeHours) {
    until = new Date(Date.now() + Number(preset.dataset.snoozeHours) * 3600_000);
  } else {
    const tomorrow = toLocalInput(new Date(Date.now() + 24 * 3600_000)).slice(0, 10);
    const hour = String(preset.dataset.snoozeTomorrow).padStart(2, "0");
    until = fromLocalInput(`${tomorrow}T${hour}:00`);
  }
  ui.snoozeUntil.value = toLocalInput(until);
});

ui.snoozeForm.addEventListener("submit", async (event) => {
  event.preventDefault();
  const until = fromLocalInput(ui.snoozeUntil.value);
  if (!until || until <= new Date()) {
    showActionError(gettext("Pick a time in the future to snooze until."));
    return;
  }
  closePopovers();
  await setStatus("snoozed", until.toISOString());
});

onPopoverOpen(ui.snoozeButton, () => {
  ui.snoozeUntil.value = toLocalInput(new Date(Date.now() + 3600_000));
});

// --- Collision -------------------------------------------------------------------

export const collisions = new Collisions((id) => {
  if (id === state.openId) renderCollision();
  else renderList();
});

function renderCollision() {
  const text = state.openId === null ? "" : collisions.describe(state.openId);
  ui.collision.textContent = text;
  show(ui.collision, Boolean(text));
}

export function announceViewing() {
  if (state.openId !== null) sendFrame({ type: "viewing", conversation_id: state.openId });
}

setInterval(() => {
  if (document.visibilityState === "visible") announceViewing();
}, VIEWING_EVERY_MS);

window.addEventListener("pagehide", () => {
  if (state.openId !== null) sendFrame({ type: "left", conversation_id: state.openId });
});
