// How a new offer gets the agent's attention when the desktop is not in
// front: a short beep made with WebAudio (no audio file to load) and a
// desktop notification. Browsers allow both only after a user gesture,
// so prepare() runs from one (the login click, the presence switch).

export class Alerts {
  constructor() {
    this.audio = null;
    this.shown = new Map(); // tag → Notification
    // Reading Notification.permission is a synchronous call to the browser
    // process (up to 100 ms on a busy machine); a message arriving in a
    // background conversation must not pay it, so it is read once and kept.
    this.permission = this.readPermission();
    try {
      navigator.permissions?.query({ name: "notifications" }).then((st) => {
        st.onchange = () => { this.permission = this.readPermission(); };
      }).catch(() => {});
    } catch {
      /* no Permissions API: prepare() keeps it current */
    }
  }

  readPermission() {
    return "Notification" in window ? Notification.permission : "denied";
  }

  /** Unlocks sound and asks for notification permission; call from a click or key press. */
  prepare() {
    try {
      const AC = window.AudioContext || window.webkitAudioContext;
      if (AC && !this.audio) this.audio = new AC();
      if (this.audio && this.audio.state === "suspended") this.audio.resume().catch(() => {});
    } catch {
      this.audio = null;
    }
    this.permission = this.readPermission();
    if (this.permission === "default") {
      try {
        const p = Notification.requestPermission();
        if (p && p.then) p.then(() => { this.permission = this.readPermission(); }, () => {});
      } catch {
        /* old callback-only API: nothing to wait for */
      }
    }
  }

  /** Two short tones (about 0.3 s). */
  beep() {
    const ctx = this.audio;
    if (!ctx || ctx.state === "closed") return;
    try {
      const now = ctx.currentTime;
      for (const [at, freq] of [[0, 880], [0.18, 1175]]) {
        const osc = ctx.createOscillator();
        const gain = ctx.createGain();
        osc.type = "sine";
        osc.frequency.value = freq;
        gain.gain.setValueAtTime(0.0001, now + at);
        gain.gain.exponentialRampToValueAtTime(0.2, now + at + 0.02);
        gain.gain.exponentialRampToValueAtTime(0.0001, now + at + 0.14);
        osc.connect(gain).connect(ctx.destination);
        osc.start(now + at);
        osc.stop(now + at + 0.15);
      }
    } catch {
      /* no sound is not worth an error */
    }
  }

  /** A desktop notification (when allowed); clicking it brings the desk forward. */
  notify(tag, title, body, onclick) {
    if (this.permission !== "granted") return;
    try {
      const n = new Notification(title, { body, tag, renotify: true });
      n.onclick = () => {
        window.focus();
        if (onclick) onclick();
        n.close();
      };
      this.shown.set(tag, n);
    } catch {
      /* some browsers only allow notifications from a service worker */
    }
  }

  /** Closes the notification of something that no longer needs attention. */
  dismiss(tag) {
    const n = this.shown.get(tag);
    this.shown.delete(tag);
    if (n) n.close();
  }
}
