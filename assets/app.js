// psmonitor dashboard: first paint from GET /system and /network, then live frames over two
// websockets (POST / for a worker id each). No dependencies, no build step.
'use strict';
(() => {
  const $ = (id) => document.getElementById(id);
  const WINDOW = 5 * 60 * 1000; // graph span, ms
  const KEEP = WINDOW + 15000; // points kept, ms
  const MAX_POINTS = 6000; // hard cap (5 min at 20 Hz)
  const BACKOFF_MIN = 1000;
  const BACKOFF_MAX = 30000;
  const UNREACHABLE_AFTER = 3; // failed attempts in a row

  // ---- where the server is -------------------------------------------------------------
  const params = new URLSearchParams(location.search);
  const server = (params.get('server') || '').trim();
  let httpBase;
  if (server) {
    httpBase = (/^[a-z][a-z0-9+.-]*:\/\//i.test(server) ? server : 'http://' + server)
      .replace(/^ws(s?):/i, 'http$1:')
      .replace(/\/+$/, '');
  } else {
    httpBase = location.origin + location.pathname.replace(/\/[^/]*$/, '');
  }
  const wsBase = httpBase.replace(/^http/i, 'ws');
  if (server) {
    $('target').textContent = 'via ' + httpBase.replace(/^https?:\/\//i, '');
    $('foot-src').textContent = 'watching ' + httpBase;
  }

  // ---- optional bearer token -----------------------------------------------------------
  const TOKEN_KEY = 'psmonitor.token ' + httpBase;
  let token = null;
  try { token = sessionStorage.getItem(TOKEN_KEY); } catch (e) { /* storage disabled */ }
  let tokenWait = null;
  class AuthError extends Error {}

  function askToken() {
    if (tokenWait) return tokenWait;
    $('auth-err').hidden = !token;
    $('auth').hidden = false;
    $('auth-token').value = '';
    $('auth-token').focus();
    tokenWait = new Promise((resolve) => {
      $('auth-form').onsubmit = (ev) => {
        ev.preventDefault();
        token = $('auth-token').value.trim();
        try { sessionStorage.setItem(TOKEN_KEY, token); } catch (e) { /* ignore */ }
        $('auth').hidden = true;
        tokenWait = null;
        resolve();
      };
    });
    return tokenWait;
  }

  async function api(path, opts) {
    opts = opts || {};
    const headers = Object.assign({}, opts.headers);
    if (token) headers.Authorization = 'Bearer ' + token;
    const ctrl = new AbortController();
    const timer = setTimeout(() => ctrl.abort(), 8000);
    try {
      const r = await fetch(httpBase + path, Object.assign({}, opts, { headers, cache: 'no-store', signal: ctrl.signal }));
      if (r.status === 401) throw new AuthError('401');
      return r;
    } finally {
      clearTimeout(timer);
    }
  }

  async function getJson(path) {
    const r = await api(path);
    if (!r.ok) throw new Error(path + ': HTTP ' + r.status);
    return r.json();
  }

  // ---- formatting ----------------------------------------------------------------------
  const isNum = (v) => typeof v === 'number' && isFinite(v);
  const pct = (v) => (isNum(v) ? v.toFixed(1) + '%' : '—');
  const gib = (v) => (isNum(v) ? (v >= 1000 ? (v / 1024).toFixed(2) + ' TB' : v.toFixed(v >= 100 ? 0 : 1) + ' GB') : '—');
  const level = (v, warn, crit) => (!isNum(v) ? 'ok' : v >= crit ? 'crit' : v >= warn ? 'warn' : 'ok');
  function rate(mbps) { // MB/s (MiB) -> text
    if (!isNum(mbps)) return '—';
    const b = mbps * 1048576;
    if (b < 1024) return b.toFixed(0) + ' B/s';
    if (b < 1048576) return (b / 1024).toFixed(b < 10240 ? 1 : 0) + ' KB/s';
    if (b < 1073741824) return (b / 1048576).toFixed(b < 10485760 ? 2 : 1) + ' MB/s';
    return (b / 1073741824).toFixed(2) + ' GB/s';
  }
  function total(mb) { // MB -> text
    if (!isNum(mb)) return '—';
    if (mb < 1) return (mb * 1024).toFixed(0) + ' KB';
    if (mb < 1024) return mb.toFixed(mb < 10 ? 1 : 0) + ' MB';
    return (mb / 1024).toFixed(2) + ' GB';
  }
  function duration(s) {
    if (!isNum(s)) return null;
    s = Math.floor(s);
    const d = Math.floor(s / 86400); const h = Math.floor((s % 86400) / 3600);
    const m = Math.floor((s % 3600) / 60); const sec = s % 60;
    return (d ? d + 'd ' : '') + (d || h ? h + 'h ' : '') + m + 'm ' + String(sec).padStart(2, '0') + 's';
  }
  function setText(id, text) {
    const el = typeof id === 'string' ? $(id) : id;
    if (el && el.textContent !== text) el.textContent = text;
  }
  function setBar(id, v, warn, crit) {
    const el = $(id);
    el.style.width = (isNum(v) ? Math.max(0, Math.min(100, v)) : 0) + '%';
    el.dataset.level = level(v, warn, crit);
  }
  function el(tag, cls, text) {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text != null) e.textContent = text;
    return e;
  }

  // ---- history (graph data) ------------------------------------------------------------
  const sysPts = []; // {t, cpu, temp, mem, swap}
  const netPts = []; // {t, in, out}
  const num = (v) => (isNum(v) ? v : null);
  function push(arr, p) {
    if (arr.length && p.t < arr[arr.length - 1].t) p.t = arr[arr.length - 1].t;
    arr.push(p);
    const cut = p.t - KEEP;
    let i = 0;
    while (i < arr.length && arr[i].t < cut) i++;
    if (arr.length - i > MAX_POINTS) i = arr.length - MAX_POINTS;
    if (i) arr.splice(0, i);
  }
  // Frame cadence estimate (for gap detection and the stale-connection watchdog).
  let lastFrameAt = 0;
  let cadence = 1000;
  const gaps = []; // the last few times between frames; their median is the cadence
  function tick(now) {
    if (lastFrameAt && now > lastFrameAt) {
      gaps.push(now - lastFrameAt);
      if (gaps.length > 9) gaps.shift();
      cadence = gaps.slice().sort((a, b) => a - b)[gaps.length >> 1];
    }
    lastFrameAt = now;
  }

  // For tests and the curious: the graph data.
  window.psmonitor = { sys: sysPts, net: netPts, base: httpBase };

  // ---- rendering -----------------------------------------------------------------------
  let frames = 0;
  let lastSys = null;
  function renderSystem(d) {
    lastSys = d;
    const cpu = d.cpu || {}; const mem = d.mem || {}; const disk = d.disk || {};
    const plat = d.platform || {};
    setText('hostname', d.hostname || '—');
    setText('host-distro', plat.distro || '—');
    setText('host-kernel', plat.kernel || '—');
    setText('host-uptime', duration(d.uptime_seconds) || d.uptime || plat.uptime || '—');
    setText('host-user', d.user || '—');
    const up = duration(d.uptime_seconds);
    setText('subtitle', [plat.distro, up && 'up ' + up.replace(/ \d+s$/, '')].filter(Boolean).join(' · '));
    setText('host-procs', isNum(d.process_count) ? String(d.process_count) : '—');
    setText('cpu-load', Array.isArray(d.load) && d.load.length ? d.load.map((x) => (isNum(x) ? x.toFixed(2) : '—')).join('  ') : '—');

    setText('cpu-usage', pct(cpu.usage));
    $('cpu-usage').dataset.level = level(cpu.usage, 60, 85);
    setBar('cpu-bar', cpu.usage, 60, 85);
    setText('cpu-count', isNum(cpu.count) ? cpu.count + (cpu.count === 1 ? ' core' : ' cores') : '');
    const hasTemp = isNum(cpu.temp);
    setText('cpu-temp', hasTemp ? cpu.temp.toFixed(1) + ' °C' : 'no sensor');
    $('cpu-temp').dataset.level = hasTemp ? level(cpu.temp, 70, 85) : 'ok';
    setText('cpu-sensor', hasTemp && cpu.temp_sensor ? 'sensor: ' + cpu.temp_sensor : '');
    setText('cpu-freq', isNum(cpu.freq) ? (cpu.freq >= 1000 ? (cpu.freq / 1000).toFixed(2) + ' GHz' : cpu.freq.toFixed(0) + ' MHz') : '—');
    renderCores(Array.isArray(cpu.cores) ? cpu.cores : []);

    setText('mem-percent', pct(mem.percent));
    $('mem-percent').dataset.level = level(mem.percent, 75, 90);
    setBar('mem-bar', mem.percent, 75, 90);
    setText('mem-used', gib(mem.used)); setText('mem-free', gib(mem.free)); setText('mem-total', gib(mem.total));
    const sw = d.swap || {};
    if (isNum(sw.total) && sw.total > 0) {
      setText('swap-text', gib(sw.used) + ' / ' + gib(sw.total) + ' · ' + pct(sw.percent));
      setBar('swap-bar', sw.percent, 50, 80);
    } else {
      setText('swap-text', 'none');
      setBar('swap-bar', 0, 50, 80);
    }

    setText('disk-percent', pct(disk.percent));
    $('disk-percent').dataset.level = level(disk.percent, 80, 92);
    setBar('disk-bar', disk.percent, 80, 92);
    setText('disk-used', gib(disk.used)); setText('disk-free', gib(disk.free)); setText('disk-total', gib(disk.total));
    renderDisks(Array.isArray(d.disks) ? d.disks : []);
    renderProcs(Array.isArray(d.processes) ? d.processes : []);

    setText('gv-cpu', pct(cpu.usage));
    setText('gv-mem', pct(mem.percent));
    setText('gv-temp', hasTemp ? cpu.temp.toFixed(1) + ' °C' : 'n/a');
    $('gv-temp').classList.toggle('muted', !hasTemp);
    $('temp-plot').hidden = !hasTemp;
    $('temp-note').hidden = hasTemp;
    document.title = (d.hostname ? d.hostname + ' · ' : '') + 'CPU ' + (isNum(cpu.usage) ? Math.round(cpu.usage) + '%' : '—') + ' · psmonitor';
  }

  function renderCores(cores) {
    const box = $('cores');
    const dense = cores.length > 16;
    box.classList.toggle('dense', dense);
    if (box.children.length !== cores.length || box.dataset.dense !== String(dense)) {
      box.textContent = '';
      box.dataset.dense = String(dense);
      cores.forEach((_, i) => {
        const c = el('div', 'core');
        if (dense) c.appendChild(el('i'));
        else {
          c.appendChild(el('span', null, String(i)));
          const b = el('div', 'bar'); b.appendChild(el('i')); c.appendChild(b);
          c.appendChild(el('b'));
        }
        box.appendChild(c);
      });
    }
    cores.forEach((v, i) => {
      const c = box.children[i];
      const lv = level(v, 60, 85);
      const w = (isNum(v) ? Math.max(0, Math.min(100, v)) : 0) + '%';
      c.title = 'core ' + i + ': ' + pct(v);
      if (dense) { c.dataset.level = lv; c.firstChild.style.height = w; } else {
        const i2 = c.querySelector('i'); i2.style.width = w; i2.dataset.level = lv;
        setText(c.querySelector('b'), isNum(v) ? v.toFixed(0) + '%' : '—');
      }
    });
  }

  function renderDisks(disks) {
    const list = $('disk-list');
    const others = disks.filter((x) => x && x.mountpoint !== '/');
    list.textContent = '';
    for (const x of others) {
      const li = el('li');
      const row = el('div', 'row');
      const name = el('b', null, x.mountpoint || x.device || '?');
      name.title = (x.device || '') + (x.fstype ? ' (' + x.fstype + ')' : '');
      row.appendChild(name);
      row.appendChild(el('span', 'muted', gib(x.used) + ' / ' + gib(x.total) + ' · ' + pct(x.percent)));
      const bar = el('div', 'bar'); const i = el('i');
      i.style.width = (isNum(x.percent) ? Math.min(100, x.percent) : 0) + '%';
      i.dataset.level = level(x.percent, 80, 92);
      bar.appendChild(i);
      li.appendChild(row); li.appendChild(bar);
      list.appendChild(li);
    }
  }

  function renderProcs(procs) {
    const body = $('proc-table');
    const frag = document.createDocumentFragment();
    for (const p of procs) {
      if (!p) continue;
      const tr = el('tr');
      tr.appendChild(el('td', 'n muted', String(p.pid != null ? p.pid : '')));
      const name = el('td', 'pname', p.name || '?'); name.title = p.name || '';
      name.appendChild(el('small', null, p.username || ''));
      tr.appendChild(name);
      tr.appendChild(el('td', 'muted user', p.username || '—'));
      const m = el('td', 'n', isNum(p.mem) ? p.mem.toFixed(1) : '—');
      tr.appendChild(m);
      const c = el('td', 'n', isNum(p.cpu) ? p.cpu.toFixed(1) : '—');
      c.dataset.level = level(p.cpu, 50, 90);
      tr.appendChild(c);
      frag.appendChild(tr);
    }
    body.replaceChildren(frag);
  }

  let lastNet = null;
  function renderNetwork(d) {
    lastNet = d;
    const names = Array.isArray(d.interfaces) ? d.interfaces.slice() : Object.keys(d.statistics || {});
    const stats = d.statistics || {}; const avg = d.averages || {};
    const wl = d.wireless && typeof d.wireless === 'object' ? d.wireless : null;
    names.sort((a, b) => (a === 'lo') - (b === 'lo') || busy(b) - busy(a) || a.localeCompare(b));
    function busy(n) { const s = stats[n] || {}; return (s.bytes_received || 0) + (s.bytes_sent || 0) > 0 ? 1 : 0; }
    const list = $('net-list');
    const frag = document.createDocumentFragment();
    let sumIn = 0; let sumOut = 0; let any = false; let rx = 0; let tx = 0; let real = 0;
    for (const n of names) {
      const s = stats[n] || {}; const a = avg[n] || {};
      if (n !== 'lo') { real++; rx += s.mb_received || 0; tx += s.mb_sent || 0; }
      if (n !== 'lo' && isNum(a.in)) { sumIn += a.in; any = true; }
      if (n !== 'lo' && isNum(a.out)) { sumOut += a.out; any = true; }
      const row = el('div', 'iface' + (busy(n) ? '' : ' idle'));
      const name = el('div', 'name', n);
      if (wl && wl.interface === n) name.appendChild(el('span', 'tag', 'wi-fi'));
      if (n === 'lo') name.appendChild(el('span', 'tag', 'loopback'));
      name.appendChild(el('small', null, 'total ↓ ' + total(s.mb_received) + ' · ↑ ' + total(s.mb_sent)));
      row.appendChild(name);
      const rin = el('div', 'r c-in', '↓ ' + rate(a.in)); rin.appendChild(el('small', null, 'in'));
      const rout = el('div', 'r c-out', '↑ ' + rate(a.out)); rout.appendChild(el('small', null, 'out'));
      row.appendChild(rin); row.appendChild(rout);
      frag.appendChild(row);
    }
    if (!names.length) frag.appendChild(el('p', 'muted', 'no interfaces'));
    list.replaceChildren(frag);

    const w = $('wifi');
    w.hidden = !wl;
    if (wl) {
      w.textContent = '';
      const fields = [['Network', wl.name], ['Quality', wl.quality], ['Signal', wl.signal], ['Channel', wl.channel], ['Security', wl.encryption], ['Access point', wl.address]];
      for (const [k, v] of fields) {
        if (v == null || v === '') continue;
        const c = el('div'); c.appendChild(el('div', 'k', k)); c.appendChild(el('div', 'v', String(v)));
        w.appendChild(c);
      }
    }
    const io = any ? { in: sumIn, out: sumOut } : { in: null, out: null };
    setText('gv-in', rate(io.in));
    setText('gv-out', rate(io.out));
    setText('net-in', rate(io.in));
    setText('net-out', rate(io.out));
    setText('net-rx', total(rx));
    setText('net-tx', total(tx));
    setText('net-ifs', real === 1 ? names.find((n) => n !== 'lo') : real + ' interfaces');
    return io;
  }

  // ---- graphs --------------------------------------------------------------------------
  let colors = {};
  function readColors() {
    const cs = getComputedStyle(document.documentElement);
    for (const k of ['cpu', 'temp', 'mem', 'swap', 'in', 'out', 'muted', 'grid', 'line', 'card']) colors[k] = cs.getPropertyValue('--' + k).trim();
    colors.font = cs.getPropertyValue('--font').trim() || 'sans-serif';
  }
  const fmtPct = (v) => v.toFixed(0) + '%';
  const graphs = [
    { id: 'g-cpu', pts: sysPts, max: 100, fmt: fmtPct, series: [{ key: 'cpu', color: 'cpu', fill: true }] },
    { id: 'g-temp', pts: sysPts, max: 100, auto: true, fmt: (v) => v.toFixed(0) + '°', series: [{ key: 'temp', color: 'temp', fill: true }] },
    { id: 'g-mem', pts: sysPts, max: 100, fmt: fmtPct, series: [{ key: 'mem', color: 'mem', fill: true }, { key: 'swap', color: 'swap', dash: true }] },
    { id: 'g-net', pts: netPts, max: 10 / 1024, auto: true, bytes: true, fmt: (v) => (v ? rate(v).replace('/s', '') : '0'), series: [{ key: 'in', color: 'in', fill: true }, { key: 'out', color: 'out' }] },
  ];
  function niceMax(v) {
    const p = Math.pow(10, Math.floor(Math.log10(v)));
    for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= v) return m * p;
    return 10 * p;
  }
  function drawGraph(g, now) {
    const c = $(g.id);
    const w = c.clientWidth; const h = c.clientHeight;
    if (!w || !h) return;
    const dpr = window.devicePixelRatio || 1;
    const bw = Math.round(w * dpr); const bh = Math.round(h * dpr);
    if (c.width !== bw || c.height !== bh) { c.width = bw; c.height = bh; }
    const ctx = c.getContext('2d');
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, w, h);
    const L = 40; const R = 6; const T = 6; const B = 18;
    const pw = w - L - R; const ph = h - T - B;
    const t0 = now - WINDOW;
    const pts = g.pts;
    let start = 0;
    while (start < pts.length - 1 && pts[start + 1].t < t0) start++;
    let max = g.max;
    if (g.auto) {
      let peak = 0;
      for (let i = start; i < pts.length; i++) for (const s of g.series) { const v = pts[i][s.key]; if (isNum(v) && v > peak) peak = v; }
      if (g.bytes) { // nice steps in B, KB, MB or GB
        const b = Math.max(peak * 1.1, g.max) * 1048576;
        const unit = Math.pow(1024, Math.min(3, Math.floor(Math.log(b) / Math.log(1024))));
        max = (niceMax(b / unit) * unit) / 1048576;
      } else max = Math.max(g.max, niceMax(peak * 1.1 || g.max));
    }
    // grid and labels
    ctx.font = '10px ' + colors.font;
    ctx.textBaseline = 'middle';
    ctx.lineWidth = 1;
    ctx.strokeStyle = colors.grid;
    ctx.fillStyle = colors.muted;
    ctx.textAlign = 'right';
    for (let i = 0; i <= 4; i++) {
      const y = Math.round(T + ph * (1 - i / 4)) + 0.5;
      ctx.beginPath(); ctx.moveTo(L, y); ctx.lineTo(L + pw, y); ctx.stroke();
      ctx.fillText(g.fmt((max * i) / 4), L - 6, y);
    }
    ctx.textAlign = 'center';
    ctx.textBaseline = 'alphabetic';
    for (let m = 0; m <= 5; m++) {
      const x = Math.round(L + pw * (1 - (m * 60000) / WINDOW)) + 0.5;
      if (m > 0 && m < 5) { ctx.beginPath(); ctx.moveTo(x, T); ctx.lineTo(x, T + ph); ctx.stroke(); }
      if (pw < 260 && m % 2 === 1) continue;
      ctx.textAlign = m === 0 ? 'right' : m === 5 ? 'left' : 'center';
      ctx.fillText(m === 0 ? 'now' : '-' + m + 'm', x, h - 4);
    }
    // series
    const gap = Math.max(3000, cadence * 3.5);
    const X = (t) => L + ((t - t0) / WINDOW) * pw;
    const Y = (v) => T + ph * (1 - Math.max(0, Math.min(1, v / max)));
    ctx.save();
    ctx.beginPath(); ctx.rect(L, T - 2, pw + 1, ph + 4); ctx.clip();
    for (const s of g.series) {
      const segs = []; let seg = null; let prevT = -Infinity;
      // Decimate: one point per half pixel column is plenty (keeps max within the bucket).
      const step = (WINDOW / pw) / 2;
      let bucketT = -Infinity; let last = null;
      for (let i = start; i < pts.length; i++) {
        const p = pts[i]; const v = p[s.key];
        if (!isNum(v)) { seg = null; continue; }
        if (!seg || p.t - prevT > gap) { seg = []; segs.push(seg); bucketT = -Infinity; }
        prevT = p.t;
        if (p.t - bucketT < step && seg.length) {
          last = seg[seg.length - 1];
          if (v > last[1]) last[1] = v;
          continue;
        }
        bucketT = p.t;
        seg.push([p.t, v]);
      }
      const col = colors[s.color];
      for (const sg of segs) {
        ctx.beginPath();
        sg.forEach(([t, v], i) => (i ? ctx.lineTo(X(t), Y(v)) : ctx.moveTo(X(t), Y(v))));
        if (sg.length === 1) ctx.lineTo(X(sg[0][0]) + 2, Y(sg[0][1]));
        ctx.strokeStyle = col; ctx.lineWidth = 1.6; ctx.lineJoin = 'round';
        ctx.setLineDash(s.dash ? [4, 3] : []);
        ctx.stroke();
        if (s.fill) {
          ctx.lineTo(X(sg[sg.length - 1][0]) + (sg.length === 1 ? 2 : 0), T + ph);
          ctx.lineTo(X(sg[0][0]), T + ph);
          ctx.closePath();
          const grad = ctx.createLinearGradient(0, T, 0, T + ph);
          grad.addColorStop(0, withAlpha(col, 0.35)); grad.addColorStop(1, withAlpha(col, 0.03));
          ctx.fillStyle = grad; ctx.fill();
        }
      }
    }
    ctx.restore();
    ctx.setLineDash([]);
  }
  function withAlpha(c, a) {
    const m = /^#([0-9a-f]{6})$/i.exec(c);
    if (!m) return c;
    const n = parseInt(m[1], 16);
    return 'rgba(' + (n >> 16) + ',' + ((n >> 8) & 255) + ',' + (n & 255) + ',' + a + ')';
  }
  let drawPending = false;
  function scheduleDraw() {
    if (drawPending) return;
    drawPending = true;
    requestAnimationFrame(() => {
      drawPending = false;
      const now = Date.now();
      for (const g of graphs) drawGraph(g, now);
    });
  }

  // ---- data in ------------------------------------------------------------------------
  function onSystem(d, live) {
    if (!d || typeof d !== 'object' || !d.cpu) return;
    const now = Date.now();
    renderSystem(d);
    const cpu = d.cpu || {}; const sw = d.swap || {};
    push(sysPts, { t: now, cpu: num(cpu.usage), temp: num(cpu.temp), mem: num((d.mem || {}).percent), swap: isNum(sw.total) && sw.total > 0 ? num(sw.percent) : null });
    if (live) {
      tick(now);
      frames++;
      setText('frame-count', String(frames));
      setText('frames-label', frames === 1 ? ' frame' : ' frames');
      document.body.dataset.frames = String(frames);
      setText('cadence', ' · every ' + (cadence / 1000).toFixed(cadence < 1000 ? 2 : 1) + ' s');
    }
    scheduleDraw();
  }
  function onNetwork(d) {
    if (!d || typeof d !== 'object' || !(d.statistics || d.interfaces)) return;
    const io = renderNetwork(d);
    push(netPts, { t: Date.now(), in: io.in, out: io.out });
    scheduleDraw();
  }

  // Adds server-side history (GET /history, when the server has it) where we have no points
  // of our own: before the page opened, and in the gap after a reconnect.
  function merge(arr, add) {
    if (!add.length) return;
    const fresh = new Set(add);
    const all = arr.concat(add).sort((a, b) => a.t - b.t);
    const tol = cadence * 0.6;
    const near = (q, p) => q && !fresh.has(q) && Math.abs(q.t - p.t) < tol;
    const out = all.filter((p, i) => !fresh.has(p) || !(near(all[i - 1], p) || near(all[i + 1], p)));
    arr.length = 0;
    arr.push(...out.slice(-MAX_POINTS));
  }
  async function backfill() {
    let arr;
    try {
      let r = await api('/history?seconds=' + WINDOW / 1000);
      if (r.status === 400) r = await api('/history'); // a shorter --history than 5 min
      if (!r.ok) return;
      const j = await r.json();
      arr = Array.isArray(j) ? j : j && Array.isArray(j.points) ? j.points : null;
    } catch (e) {
      return;
    }
    if (!arr || !arr.length) return;
    const toMs = (t) => (typeof t === 'string' ? Date.parse(t) : !isNum(t) ? NaN : t > 1e11 ? t : t * 1000);
    const pts = arr.filter((p) => p && typeof p === 'object').map((p) => ({ p, t: toMs(p.t != null ? p.t : p.time) })).filter((x) => isFinite(x.t));
    if (!pts.length) return;
    pts.sort((a, b) => a.t - b.t);
    // Same clock on both ends normally; if the server's is far off, line its newest point up
    // with now.
    const skew = Date.now() - pts[pts.length - 1].t;
    const shift = Math.abs(skew) > 5000 ? skew : 0;
    const cut = Date.now() - KEEP;
    const hasSwap = !!(lastSys && lastSys.swap && lastSys.swap.total > 0);
    const pick = (p, keys) => { for (const k of keys) if (p[k] != null) return num(p[k]); return null; };
    const sys = []; const net = [];
    for (const { p, t } of pts) {
      const tt = t + shift;
      if (tt < cut) continue;
      sys.push({ t: tt, cpu: num(p.cpu), temp: num(p.temp), mem: num(p.mem), swap: hasSwap ? num(p.swap) : null });
      const i = pick(p, ['net_in', 'rx', 'in']); const o = pick(p, ['net_out', 'tx', 'out']);
      if (i != null || o != null) net.push({ t: tt, in: i, out: o });
    }
    merge(sysPts, sys);
    merge(netPts, net);
    scheduleDraw();
  }

  // ---- connection state ----------------------------------------------------------------
  let state = '';
  let sysStream = null;
  let netStream = null;
  function setState(s) {
    if (state === s) return;
    state = s;
    setText('conn-state', s);
    $('conn').dataset.state = s;
    document.body.dataset.state = s;
    showRetry();
  }
  setState('connecting');

  // One websocket with its own worker id, reconnecting with exponential backoff.
  class Stream {
    constructor(kind, onData, onStatus) {
      this.kind = kind; this.onData = onData; this.onStatus = onStatus;
      this.ws = null; this.timer = null; this.fails = 0; this.busy = false; this.lastMsg = 0; this.got = false; this.nextAt = 0;
      this.liveAt = 0; this.flaps = 0;
    }
    async attempt() {
      clearTimeout(this.timer); this.timer = null; this.nextAt = 0;
      if (this.ws || this.busy) return;
      this.busy = true;
      let id = null;
      try {
        const r = await api('/', { method: 'POST', body: '{}' });
        if (!r.ok) throw new Error('POST / ' + r.status);
        id = (await r.json()).id;
      } catch (e) {
        this.busy = false;
        if (e instanceof AuthError) { await askToken(); return this.attempt(); }
        return this.failed();
      }
      this.busy = false;
      if (!id) return this.failed();
      let url = wsBase + '/connect?id=' + encodeURIComponent(id) + (this.kind === 'network' ? '&stream=network' : '');
      let ws;
      try { ws = new WebSocket(url); } catch (e) { return this.failed(); }
      this.ws = ws;
      this.got = false;
      this.lastMsg = Date.now();
      ws.onmessage = (ev) => {
        if (this.ws !== ws) return;
        this.lastMsg = Date.now();
        if (typeof ev.data !== 'string' || ev.data.charAt(0) !== '{') return; // greeting / notices
        let d;
        try { d = JSON.parse(ev.data); } catch (e) { return; }
        if (!this.got) { this.got = true; this.fails = 0; this.liveAt = Date.now(); this.onStatus('live'); }
        this.onData(d);
      };
      ws.onclose = () => { if (this.ws === ws) this.drop(this.got); };
      ws.onerror = () => { /* onclose follows */ };
    }
    drop(wasLive) {
      const ws = this.ws;
      this.ws = null;
      if (ws) { ws.onmessage = ws.onclose = ws.onerror = null; try { ws.close(); } catch (e) { /* ignore */ } }
      if (!wasLive) return this.failed();
      // Back off as well when sessions keep ending right after they start.
      this.flaps = Date.now() - this.liveAt < 5000 ? this.flaps + 1 : 0;
      this.retry(Math.min(BACKOFF_MAX, BACKOFF_MIN * Math.pow(2, this.flaps)), 'reconnecting');
    }
    failed() {
      this.fails++;
      const delay = Math.min(BACKOFF_MAX, BACKOFF_MIN * Math.pow(2, this.fails)); // 1 s after a drop, then 2, 4 … 30 s
      this.retry(delay, this.fails >= UNREACHABLE_AFTER ? 'server unreachable' : 'reconnecting');
    }
    retry(delay, status) {
      this.onStatus(status);
      clearTimeout(this.timer);
      delay *= 0.9 + Math.random() * 0.2;
      this.nextAt = Date.now() + delay;
      this.timer = setTimeout(() => this.attempt(), delay);
      showRetry();
    }
    now() { if (!this.ws && !this.busy) this.attempt(); }
    // A socket that hangs while opening, or goes quiet (a stalled server, a dead NAT mapping).
    watchdog(limit) { if (this.ws && Date.now() - this.lastMsg > limit) this.drop(this.got); }
  }

  function showRetry() {
    const s = sysStream;
    const left = s && s.nextAt ? Math.ceil((s.nextAt - Date.now()) / 1000) : 0;
    setText('retry', state === 'live' || state === 'connecting' ? '' : left > 0 ? 'retry in ' + left + ' s' : 'trying…');
  }
  let wasLive = false;
  sysStream = new Stream('system', (d) => onSystem(d, true), (s) => {
    setState(s);
    if (s !== 'live') return;
    lastFrameAt = 0; // the time off-line is not a frame interval
    if (wasLive) backfill(); // fill the gap from the server's history, if it keeps one
    wasLive = true;
  });
  netStream = new Stream('network', onNetwork, (s) => setText('net-note', s === 'live' ? '' : s === 'reconnecting' ? '· reconnecting' : '· ' + s));

  setInterval(showRetry, 500);
  setInterval(() => {
    const limit = Math.max(10000, cadence * 5);
    sysStream.watchdog(limit);
    netStream.watchdog(limit);
  }, 2000);
  const retryNow = () => { sysStream.now(); netStream.now(); };
  window.addEventListener('online', retryNow);
  document.addEventListener('visibilitychange', () => { if (!document.hidden) { retryNow(); scheduleDraw(); } });
  $('conn').addEventListener('click', () => { if (state !== 'live') retryNow(); });

  // ---- layout / theme ------------------------------------------------------------------
  readColors();
  const mq = window.matchMedia ? window.matchMedia('(prefers-color-scheme: dark)') : null;
  if (mq && mq.addEventListener) mq.addEventListener('change', () => { readColors(); scheduleDraw(); });
  if (window.ResizeObserver) {
    const ro = new ResizeObserver(() => scheduleDraw());
    for (const g of graphs) ro.observe($(g.id).parentNode);
  } else window.addEventListener('resize', scheduleDraw);
  // devicePixelRatio changes (zoom, moving between screens) do not always resize elements.
  (function watchDpr() {
    if (!window.matchMedia) return;
    const m = window.matchMedia('(resolution: ' + (window.devicePixelRatio || 1) + 'dppx)');
    const on = () => { scheduleDraw(); if (m.removeEventListener) m.removeEventListener('change', on); watchDpr(); };
    if (m.addEventListener) m.addEventListener('change', on);
  })();

  // ---- start ---------------------------------------------------------------------------
  async function start() {
    for (;;) {
      try {
        const [sys, net] = await Promise.all([getJson('/system'), getJson('/network').catch(() => null)]);
        onSystem(sys, false);
        if (net) onNetwork(net);
        break;
      } catch (e) {
        if (e instanceof AuthError) { await askToken(); continue; }
        break; // the websocket loop below reports and retries
      }
    }
    backfill();
    sysStream.attempt();
    netStream.attempt();
  }
  start();
})();
