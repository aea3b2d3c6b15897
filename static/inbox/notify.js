// Getting the operator's attention: a desktop notification and a short sound,
// each switchable (stored in the operator's profile).

const prefs = { desktop: false, sound: false };
let audio = null;

export function setPreferences({ desktop, sound }) {
  if (desktop !== undefined) prefs.desktop = Boolean(desktop);
  if (sound !== undefined) prefs.sound = Boolean(sound);
}

export function preferences() {
  return { ...prefs };
}

/** Asks the browser for permission (call from a click); resolves to whether it was granted. */
export async function askDesktopPermission() {
  if (!("Notification" in window)) return false;
  if (Notification.permission === "granted") return true;
  if (Notification.permission === "denied") return false;
  try {
    return (await Notification.requestPermission()) === "granted";
  } catch {
    return false;
  }
}

function beep() {
  try {
    audio = audio || new AudioContext();
    const oscillator = audio.createOscillator();
    const gain = audio.createGain();
    oscillator.type = "sine";
    oscillator.frequency.value = 880;
    gain.gain.setValueAtTime(0.0001, audio.currentTime);
    gain.gain.exponentialRampToValueAtTime(0.2, audio.currentTime + 0.02);
    gain.gain.exponentialRampToValueAtTime(0.0001, audio.currentTime + 0.35);
    oscillator.connect(gain).connect(audio.destination);
    oscillator.start();
    oscillator.stop(audio.currentTime + 0.4);
  } catch {
    // No audio device or not allowed yet: the desktop notification still tells.
  }
}

/** {title, body, tag, onClick}: shown as text by the browser, never as markup. */
export function alertOperator({ title, body, tag, onClick }) {
  if (prefs.sound) beep();
  if (!prefs.desktop || !("Notification" in window) || Notification.permission !== "granted") return;
  try {
    const notification = new Notification(title, { body, tag });
    notification.onclick = () => {
      window.focus();
      if (onClick) onClick();
      notification.close();
    };
  } catch {
    // Some browsers allow notifications only from a service worker.
  }
}
