// Dates and times in the operator's time zone (from their profile, else the browser's).
import { language } from "./i18n.js";

let zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
let formats = build(zone);

function build(timeZone) {
  const make = (options) => new Intl.DateTimeFormat(language, { timeZone, ...options });
  return {
    time: make({ hour: "numeric", minute: "2-digit" }),
    weekday: make({ weekday: "short" }),
    shortDate: make({ day: "numeric", month: "short" }),
    full: make({ dateStyle: "medium", timeStyle: "short" }),
    day: make({ year: "numeric", month: "2-digit", day: "2-digit" }),
  };
}

/** Switches every later formatting to `timeZone`; an unknown name leaves it as it was. */
export function setTimeZone(timeZone) {
  if (!timeZone || timeZone === zone) return false;
  try {
    formats = build(timeZone);
  } catch {
    return false;
  }
  zone = timeZone;
  return true;
}

export function timeZone() {
  return zone;
}

const sameDay = (a, b) => formats.day.format(a) === formats.day.format(b);

/** A list-sized time: 14:05 today, "Mon" this week, "3 Mar" before. */
export function shortTime(iso, now = new Date()) {
  if (!iso) return "";
  const date = new Date(iso);
  if (sameDay(date, now)) return formats.time.format(date);
  if (now - date < 6 * 24 * 3600 * 1000) return formats.weekday.format(date);
  return formats.shortDate.format(date);
}

/** A thread-sized time: the time today, date and time before. */
export function threadTime(iso, now = new Date()) {
  const date = new Date(iso);
  if (sameDay(date, now)) return formats.time.format(date);
  return formats.full.format(date);
}

export function fullTime(iso) {
  return iso ? formats.full.format(new Date(iso)) : "";
}

/**
 * The wall-clock value of `date` in the operator's zone as "YYYY-MM-DDTHH:MM", for
 * <input type="datetime-local">, and back.
 */
export function toLocalInput(date) {
  const parts = Object.fromEntries(
    new Intl.DateTimeFormat("en-GB", {
      timeZone: zone,
      year: "numeric",
      month: "2-digit",
      day: "2-digit",
      hour: "2-digit",
      minute: "2-digit",
      hourCycle: "h23",
    })
      .formatToParts(date)
      .map((p) => [p.type, p.value]),
  );
  return `${parts.year}-${parts.month}-${parts.day}T${parts.hour}:${parts.minute}`;
}

export function fromLocalInput(value) {
  const match = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})$/.exec(value || "");
  if (!match) return null;
  const [, y, mo, d, h, mi] = match.map(Number);
  // Guess the instant as if the zone were UTC, then correct by the zone's offset then.
  let guess = Date.UTC(y, mo - 1, d, h, mi);
  for (let i = 0; i < 2; i += 1) {
    const shown = toLocalInput(new Date(guess));
    const [sy, smo, sd, sh, smi] = shown.split(/[-T:]/).map(Number);
    const diff = Date.UTC(sy, smo - 1, sd, sh, smi) - Date.UTC(y, mo - 1, d, h, mi);
    if (diff === 0) break;
    guess -= diff;
  }
  return new Date(guess);
}
