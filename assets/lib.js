// psmonitor dashboard, shared parts: formatting, DOM helpers, and the connection to one server
// (HTTP with its token, and one websocket that reconnects with backoff). No dependencies.
'use strict';
window.PS = (() => {
  const $ = (id) => document.getElementById(id);
  const BACKOFF_MIN = 1000;
  const BACKOFF_MAX = 30000;
  const UNREACHABLE_AFTER = 3; // failed attempts in a row

  // ---- formatting ----------------------------------------------------------------------
  const isNum = (v) => typeof v === 'number' && isFinite(v);
  const num = (v) => (isNum(v) ? v : null);
  const pct = (v) => (isNum(v) ? v.toFixed(1) + '%' : '—');
  const gib = (v) => (isNum(v) ? (v >= 1000 ? (v / 1024).toFixed(2) + ' TB' : v.toFixed(v >= 100 ? 0 : 1) + ' GB') : '—');
  const level = (v, warn, crit) => (!isNum(v) ? 'ok' : v >= crit ? 'crit' : v >= warn ? 'warn' : 'ok');
  const UNITS = ['B', 'KB', 'MB', 'GB', 'TB'];
  // Bytes to text with three significant figures at most: 512 B, 1.50 KB, 23.4 MB.
  function bytes(b) {
    if (!isNum(b)) return '—';
    let i = 0;
    while (Math.abs(b) >= 1024 && i < UNITS.length - 1) { b /= 1024; i++; }
    return (i === 0 ? b.toFixed(0) : b.toFixed(b < 10 ? 2 : b < 100 ? 1 : 0)) + ' ' + UNITS[i];
  }
  const rate = (mbps) => (isNum(mbps) ? bytes(mbps * 1048576) + '/s' : '—'); // MB/s (MiB)
  const total = (mb) => (isNum(mb) ? bytes(mb * 1048576) : '—'); // MB (MiB)
  function duration(s) {
    if (!isNum(s)) return null;
    s = Math.floor(s);
    const d = Math.floor(s / 86400); const h = Math.floor((s % 86400) / 3600);
    const m = Math.floor((s % 3600) / 60); const sec = s % 60;
    return (d ? d + 'd ' : '') + (d || h ? h + 'h ' : '') + m + 'm ' + String(sec).padStart(2, '0') + 's';
  }
  const short = (s) => (duration(s) || '—').replace(/ \d+s$/, '').replace(/^(\d+d \d+h) \d+m$/, '$1');
  const clock = (t) => new Date(t).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit' });

  // What to add to a server's times (ms) to put them on this clock: 0 normally, since both
  // ends keep the same time; when the newest point is off by more than its interval allows,
  // the difference, so that point lines up with now.
  function skew(newestMs, intervalMs) {
    const d = Date.now() - newestMs;
    return Math.abs(d) > Math.max(5000, intervalMs * 2.5) ? d : 0;
  }

  // ---- DOM -----------------------------------------------------------------------------
  function setText(id, text) {
    const e = typeof id === 'string' ? $(id) : id;
    if (e && e.textContent !== text) e.textContent = text;
  }
  function el(tag, cls, text) {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text != null) e.textContent = text;
    return e;
  }
  function setBar(bar, v, warn, crit) {
    const i = typeof bar === 'string' ? $(bar) : bar;
    // A transform, not a width: the bar's transition then runs without layout or style work.
    const f = 'scaleX(' + (isNum(v) ? Math.max(0, Math.min(100, v)) / 100 : 0) + ')';
    if (i.style.transform !== f) i.style.transform = f;
    const lv = level(v, warn, crit);
    if (i.dataset.level !== lv) i.dataset.level = lv;
  }
  const store = (kind) => { try { return window[kind]; } catch (e) { return null; } };
  function load(kind, key) { const s = store(kind); try { return s ? s.getItem(key) : null; } catch (e) { return null; } }
  function save(kind, key, v) {
    const s = store(kind);
    try { if (s) { if (v == null) s.removeItem(key); else s.setItem(key, v); } } catch (e) { /* full or disabled */ }
  }

  // ---- where a server is ---------------------------------------------------------------
  // `host:port`, `[v6]:port`, `host` or a URL (with a path prefix) to the server's HTTP base.
  // Without a scheme the port is psmonitor's (4500) unless given; the base always names its
  // port, so `nas:80` stays port 80 when written back as a label.
  function baseOf(addr) {
    addr = String(addr || '').trim();
    if (!addr) return null;
    const bare = !/^[a-z][a-z0-9+.-]*:\/\//i.test(addr);
    let u;
    try { u = new URL((bare ? 'http://' + addr : addr).replace(/^ws(s?):/i, 'http$1:')); } catch (e) { return null; }
    if (!/^https?:$/.test(u.protocol) || !u.hostname) return null;
    const explicit = /^(?:[a-z][a-z0-9+.-]*:\/\/)?(?:\[[^\]]*\]|[^/:?#]*):(\d+)/i.exec(addr);
    const port = u.port || (explicit ? explicit[1] : bare ? '4500' : u.protocol === 'https:' ? '443' : '80');
    return u.protocol + '//' + u.hostname + ':' + port + u.pathname.replace(/\/+$/, '');
  }
  const here = () => baseOf(location.origin + location.pathname.replace(/\/[^/]*$/, ''));
  // The address as users write it: `host:port` for plain HTTP, the whole URL otherwise.
  const label = (base) => (/^http:\/\/[^/]+$/i.test(base) ? base.slice(7) : base);

  // ---- tokens --------------------------------------------------------------------------
  // One prompt at a time for all servers of the page; each server's token is kept under its
  // own key, in sessionStorage unless the user asks to remember it.
  const prompts = [];
  function nextPrompt() {
    // A host removed from the page while it waited for its token is not asked any more.
    while (prompts.length && prompts[0].conn.closed) prompts.shift().resolve(false);
    const p = prompts[0];
    if (!p) { $('auth').hidden = true; return; }
    setText('auth-host', label(p.conn.base));
    $('auth-err').hidden = !p.conn.token;
    $('auth').hidden = false;
    $('auth-token').value = '';
    $('auth-token').focus();
    const done = (token, remember) => {
      prompts.shift();
      if (token != null) p.conn.setToken(token, remember);
      p.resolve(token != null);
      nextPrompt();
    };
    $('auth-form').onsubmit = (ev) => { ev.preventDefault(); done($('auth-token').value.trim(), $('auth-remember').checked); };
    $('auth-skip').onclick = () => done(null, false);
  }
  class AuthError extends Error {}

  // One server: its HTTP API (with the token) and the websocket streams opened to it.
  class Conn {
    constructor(base) {
      this.base = base;
      this.key = 'psmonitor.token ' + base;
      this.token = load('sessionStorage', this.key) || load('localStorage', this.key);
      this.asking = null;
    }
    // Drops this server's waiting prompt (it was removed from the page).
    close() {
      this.closed = true;
      if (prompts.length && prompts[0].conn === this) { prompts.shift().resolve(false); nextPrompt(); }
    }
    setToken(token, remember) {
      this.token = token;
      save('sessionStorage', this.key, token);
      save('localStorage', this.key, remember ? token : null);
    }
    // Resolves true once a token was entered, false if the user skipped.
    askToken() {
      if (this.asking) return this.asking;
      this.asking = new Promise((resolve) => {
        prompts.push({ conn: this, resolve: (ok) => { this.asking = null; resolve(ok); } });
        if (prompts.length === 1) nextPrompt();
      });
      return this.asking;
    }
    async api(path, opts) {
      opts = opts || {};
      const headers = Object.assign({}, opts.headers);
      if (this.token) headers.Authorization = 'Bearer ' + this.token;
      const ctrl = new AbortController();
      const timer = setTimeout(() => ctrl.abort(), 8000);
      try {
        const r = await fetch(this.base + path, Object.assign({}, opts, { headers, cache: 'no-store', signal: ctrl.signal }));
        if (r.status === 401) throw new AuthError('401');
        return r;
      } finally {
        clearTimeout(timer);
      }
    }
    async json(path) {
      const r = await this.api(path);
      if (!r.ok) throw new Error(path + ': HTTP ' + r.status);
      return r.json();
    }
  }

  // One websocket with its own worker id (`POST /`), reconnecting with exponential backoff.
  // `onStatus` hears 'live', 'reconnecting', 'server unreachable' and 'token needed'.
  class Stream {
    constructor(conn, kind, onData, onStatus) {
      this.conn = conn; this.kind = kind; this.onData = onData; this.onStatus = onStatus;
      this.ws = null; this.timer = null; this.fails = 0; this.busy = false; this.lastMsg = 0; this.got = false;
      this.nextAt = 0; this.liveAt = 0; this.flaps = 0; this.closed = false; this.refused = 0;
      this.suspended = false;
    }
    // Closed for good, or while the page is hidden in the back/forward cache.
    get idle() { return this.closed || this.suspended; }
    async attempt() {
      clearTimeout(this.timer); this.timer = null; this.nextAt = 0;
      if (this.ws || this.busy || this.idle) return;
      this.busy = true;
      let id = null;
      try {
        const r = await this.conn.api('/', { method: 'POST', body: '{}' });
        if (!r.ok) throw new Error('POST / ' + r.status);
        id = (await r.json()).id;
      } catch (e) {
        this.busy = false;
        if (this.idle) return;
        if (e instanceof AuthError) {
          this.onStatus('token needed');
          if (await this.conn.askToken()) return this.attempt();
          // Skipped: wait for a click (now(true)), not for the next tab switch.
          this.skipped = true;
          return;
        }
        return this.failed();
      }
      this.busy = false;
      if (this.idle) return;
      if (!id) return this.failed();
      const url = this.conn.base.replace(/^http/i, 'ws') + '/connect?id=' + encodeURIComponent(id) + (this.kind ? '&stream=' + this.kind : '');
      let ws;
      try { ws = new WebSocket(url); } catch (e) { return this.failed(); }
      this.ws = ws;
      this.got = false;
      this.lastMsg = Date.now();
      let opened = false;
      ws.onopen = () => { opened = true; this.refused = 0; };
      ws.onmessage = (ev) => {
        if (this.ws !== ws) return;
        this.lastMsg = Date.now();
        if (typeof ev.data !== 'string' || ev.data.charAt(0) !== '{') return; // greeting / notices
        let d;
        try { d = JSON.parse(ev.data); } catch (e) { return; }
        if (!this.got) { this.got = true; this.fails = 0; this.renewed = false; this.liveAt = Date.now(); this.onStatus('live'); }
        this.onData(d);
      };
      ws.onclose = (ev) => {
        if (this.ws !== ws) return;
        if (!opened && this.kind && ++this.refused >= 2) this.older();
        // The worker id expired while the browser held the socket back (it opens sockets to
        // one address a few at a time): ask for a new one at once, not after a back-off.
        if (opened && !this.got && ev.code === 1008 && !this.renewed) {
          this.renewed = true;
          this.ws = null;
          return this.attempt();
        }
        this.drop(this.got);
      };
      ws.onerror = () => { /* onclose follows */ };
    }
    // The worker id came but the websocket was refused twice: a server from before this
    // stream (an older psmonitor, or the original) gets the default stream, whose system
    // frames both views understand.
    async older() {
      let h = null;
      try { h = await this.conn.json('/health'); } catch (e) { /* none: the original */ }
      if (!h || h.history_seconds === undefined) this.kind = null;
    }
    drop(wasLive) {
      const ws = this.ws;
      this.ws = null;
      if (ws) { ws.onmessage = ws.onclose = ws.onerror = null; try { ws.close(1000); } catch (e) { /* ignore */ } }
      if (this.idle) return;
      if (!wasLive) return this.failed();
      // Back off as well when sessions keep ending right after they start.
      this.flaps = Date.now() - this.liveAt < 5000 ? this.flaps + 1 : 0;
      this.retry(Math.min(BACKOFF_MAX, BACKOFF_MIN * Math.pow(2, this.flaps)), 'reconnecting');
    }
    failed() {
      this.fails++;
      const delay = Math.min(BACKOFF_MAX, BACKOFF_MIN * Math.pow(2, this.fails)); // 2, 4, 8 … 30 s
      this.retry(delay, this.fails >= UNREACHABLE_AFTER ? 'server unreachable' : 'reconnecting');
    }
    retry(delay, status) {
      clearTimeout(this.timer);
      delay *= 0.9 + Math.random() * 0.2;
      this.nextAt = Date.now() + delay;
      this.timer = setTimeout(() => this.attempt(), delay);
      this.onStatus(status);
    }
    // Tries at once (after the network comes back, or on a click) unless connected or trying.
    now(asked) {
      if (asked) this.skipped = false;
      if (!this.ws && !this.busy && !this.skipped) this.attempt();
    }
    // The page is hidden in the back/forward cache, frozen or unloaded: its session is given
    // back to the server (a normal close), so a page the user left holds none.
    suspend() {
      if (this.closed) return;
      this.suspended = true;
      clearTimeout(this.timer); this.timer = null; this.nextAt = 0;
      this.drop(false);
    }
    // The page is shown again: connect at once; the view backfills the gap when live.
    resume() {
      if (!this.suspended || this.closed) return;
      this.suspended = false; this.fails = 0; this.got = false;
      this.onStatus('reconnecting');
      this.now();
    }
    // A socket that hangs while opening, or goes quiet (a stalled server, a dead NAT mapping).
    watchdog(limit) { if (this.ws && Date.now() - this.lastMsg > limit) this.drop(this.got); }
    close() { this.closed = true; clearTimeout(this.timer); this.drop(false); this.conn.close(); }
    // Seconds until the next attempt, 0 if none is waiting.
    wait() { return this.nextAt ? Math.max(0, Math.ceil((this.nextAt - Date.now()) / 1000)) : 0; }
  }

  // Every stream of the page retries when the browser is back on line or the tab is shown,
  // and is dropped when it has been silent for five frame intervals (10 s at least).
  const streams = new Set();
  function watch(stream, cadence) {
    streams.add(stream);
    stream.cadence = cadence;
    return stream;
  }
  const retryAll = () => streams.forEach((s) => s.now());
  window.addEventListener('online', retryAll);
  document.addEventListener('visibilitychange', () => { if (!document.hidden) retryAll(); });
  // Sessions follow the page: one open page holds one session per server it shows, whatever
  // the navigation history. A page left for another is kept alive in the back/forward cache
  // by browsers (Chromium keeps its websockets open there), so it closes them when hidden,
  // frozen or discarded, and reconnects when shown again.
  const suspendAll = () => streams.forEach((s) => s.suspend());
  const resumeAll = () => streams.forEach((s) => s.resume());
  window.addEventListener('pagehide', suspendAll);
  document.addEventListener('freeze', suspendAll);
  window.addEventListener('pageshow', (ev) => { if (ev.persisted) resumeAll(); });
  document.addEventListener('resume', resumeAll);
  setInterval(() => streams.forEach((s) => { if (s.closed) streams.delete(s); else s.watchdog(Math.max(10000, s.cadence() * 5)); }), 2000);

  // Frame cadence: the median of the last few gaps between frames.
  class Cadence {
    constructor() { this.last = 0; this.gaps = []; this.value = 1000; }
    tick(now) {
      if (this.last && now > this.last) {
        this.gaps.push(now - this.last);
        if (this.gaps.length > 9) this.gaps.shift();
        this.value = this.gaps.slice().sort((a, b) => a - b)[this.gaps.length >> 1];
      }
      this.last = now;
    }
    reset() { this.last = 0; }
  }

  return { skew, $, isNum, num, pct, gib, level, bytes, rate, total, duration, short, clock, setText, el, setBar, load, save, baseOf, here, label, Conn, Stream, AuthError, watch, Cadence };
})();
