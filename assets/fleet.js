// psmonitor dashboard, the fleet: one card per host, each live over its own websocket to that
// host (`stream=summary`, a few hundred bytes a frame, so twenty hosts stay light on a phone).
// The list comes from `?hosts=`, else this browser's saved list, else the server's `--fleet`,
// else this server alone; adding or removing a host saves the list in this browser.
'use strict';
PS.fleet = (listed) => {
  const { $, isNum, num, pct, rate, short, setText, el, level } = PS;
  const KEY = 'psmonitor.fleet';
  const SPARK = 120e3; // ms of CPU in a card's sparkline
  const grid = $('fleet-grid');
  const cards = new Map(); // base -> card
  // Sparklines are drawn only for cards on screen; one that scrolls into view is drawn then.
  const onScreen = window.IntersectionObserver ? new IntersectionObserver((entries) => {
    for (const e of entries) { const c = cards.get(e.target.dataset.base); if (c) { c.visible = e.isIntersecting; if (c.visible) { c.dirty = true; drawSparks(); } } }
  }) : null;

  // What a card shows; an older server's plain system frame is summarised here.
  function summary(d) {
    if (!d || typeof d !== 'object') return null;
    if (!d.cpu || typeof d.cpu !== 'object') return d;
    const worst = (Array.isArray(d.disks) ? d.disks : []).reduce((w, x) => (x && isNum(x.percent) && (!w || x.percent > w.percent) ? { mountpoint: x.mountpoint, percent: x.percent } : w), null);
    return {
      hostname: d.hostname, uptime_seconds: d.uptime_seconds, cpu: d.cpu.usage, cpu_count: d.cpu.count, temp: d.cpu.temp,
      mem: (d.mem || {}).percent, disk: (d.disk || {}).percent, disk_worst: worst, load: d.load, process_count: d.process_count,
    };
  }
  // The alert-worthy facts, worst first: unreachable, a full disk, a hot CPU, memory nearly out.
  function facts(c) {
    const s = c.data || {}; const out = [];
    if (c.state === 'server unreachable') out.push('unreachable');
    const dw = s.disk_worst && isNum(s.disk_worst.percent) ? s.disk_worst : isNum(s.disk) ? { mountpoint: '/', percent: s.disk } : null;
    if (dw && dw.percent >= 90) out.push('disk ' + dw.mountpoint + ' ' + Math.round(dw.percent) + '%');
    if (isNum(s.temp) && s.temp >= 80) out.push('CPU ' + Math.round(s.temp) + ' °C');
    if (isNum(s.mem) && s.mem >= 90) out.push('memory ' + Math.round(s.mem) + '%');
    return out;
  }

  function stat(label) {
    const d = el('div', 'st');
    const v = el('b', null, '—');
    d.append(el('span', 'k', label), v);
    return { box: d, v };
  }
  function makeCard(base) {
    const conn = new PS.Conn(base);
    const root = el('article', 'hcard');
    root.dataset.state = 'connecting';
    root.dataset.base = base;
    const link = el('a', 'open');
    link.href = '?server=' + encodeURIComponent(PS.label(base));
    link.title = 'Open ' + PS.label(base);
    const head = el('div', 'hhead');
    const name = el('h3', null, PS.label(base));
    const badge = el('span', 'badge'); badge.hidden = true;
    head.append(el('i', 'dot'), name, badge);
    const addr = el('div', 'addr muted small ellip', PS.label(base));
    const cpuRow = el('div', 'cpurow');
    const cpu = el('span', 'num', '—');
    const spark = el('canvas', 'spark');
    cpuRow.append(el('span', 'k', 'CPU'), cpu, spark);
    const mem = stat('Memory'); const disk = stat('Disk /'); const temp = stat('Temp'); const load = stat('Load');
    const stats = el('div', 'stats');
    stats.append(mem.box, disk.box, temp.box, load.box);
    const net = el('div', 'netrow small');
    const netIn = el('span', 'c-in', '↓ —'); const netOut = el('span', 'c-out', '↑ —');
    const up = el('span', 'muted', '');
    net.append(netIn, netOut, up);
    link.append(head, addr, cpuRow, stats, net);
    const remove = el('button', 'remove', '×');
    remove.type = 'button';
    remove.title = 'Remove ' + PS.label(base);
    remove.setAttribute('aria-label', remove.title);
    remove.onclick = () => setHosts(hosts.filter((h) => h !== base));
    root.append(link, remove);
    const c = { base, conn, root, name, addr, badge, cpu, spark, mem, disk, temp, load, netIn, netOut, up, data: null, state: 'connecting', pts: [], dirty: true };
    const cadence = new PS.Cadence();
    c.stream = PS.watch(new PS.Stream(conn, 'summary', (d) => {
      const s = summary(d);
      if (!s) return;
      cadence.tick(Date.now());
      c.data = s;
      c.pts.push({ t: Date.now(), v: num(s.cpu) });
      while (c.pts.length && c.pts[0].t < Date.now() - SPARK - 5000) c.pts.shift();
      paint(c);
    }, (st) => {
      c.state = st;
      root.dataset.state = st;
      if (st === 'live') { cadence.reset(); backfill(c); }
      paint(c);
      summarize();
    }), () => cadence.value);
    // A card waiting for a token asks again when clicked.
    link.addEventListener('click', (ev) => {
      if (c.state !== 'token needed') return;
      ev.preventDefault();
      c.stream.now(true);
    });
    return c;
  }
  // The sparkline's first two minutes, from the host's history.
  async function backfill(c) {
    if (c.filled) return;
    c.filled = true;
    try {
      let r = await c.conn.api('/history?seconds=' + SPARK / 1000 + '&fields=cpu');
      if (r.status === 400) r = await c.conn.api('/history');
      if (!r.ok) return;
      const arr = await r.json();
      if (!Array.isArray(arr) || !arr.length) return;
      const newest = arr[arr.length - 1].t * 1000;
      const shift = PS.skew(newest, (c.data && c.data.interval_ms) || 1000);
      const first = c.pts.length ? c.pts[0].t : Infinity;
      const old = arr.filter((p) => p && isNum(p.t) && p.t * 1000 + shift < first - 500).map((p) => ({ t: p.t * 1000 + shift, v: num(p.cpu) }));
      c.pts.unshift(...old);
      paint(c);
    } catch (e) { /* the sparkline fills from live frames */ }
  }

  function paint(c) {
    const s = c.data || {};
    setText(c.name, s.hostname || PS.label(c.base));
    const note = { 'token needed': ' · token needed: click to enter it', reconnecting: ' · reconnecting', connecting: ' · connecting' }[c.state];
    setText(c.addr, PS.label(c.base) + (note || ''));
    setText(c.cpu, pct(s.cpu));
    c.cpu.dataset.level = level(s.cpu, 60, 85);
    setText(c.mem.v, pct(s.mem)); c.mem.v.dataset.level = level(s.mem, 75, 90);
    const dw = s.disk_worst && isNum(s.disk_worst.percent) && s.disk_worst.mountpoint !== '/' && s.disk_worst.percent > (s.disk || 0) ? s.disk_worst : null;
    setText(c.disk.v, pct(s.disk) + (dw && dw.percent >= 80 ? ' · ' + dw.mountpoint + ' ' + Math.round(dw.percent) + '%' : ''));
    c.disk.v.dataset.level = level(Math.max(num(s.disk) || 0, dw ? dw.percent : 0), 80, 90);
    setText(c.temp.v, isNum(s.temp) ? s.temp.toFixed(0) + ' °C' : 'n/a');
    c.temp.v.dataset.level = level(s.temp, 70, 80);
    setText(c.load.v, Array.isArray(s.load) ? s.load.map((x) => (isNum(x) ? x.toFixed(2) : '—')).join(' ') : '—');
    setText(c.netIn, '↓ ' + rate(s.net_in));
    setText(c.netOut, '↑ ' + rate(s.net_out));
    setText(c.up, isNum(s.uptime_seconds) ? 'up ' + short(s.uptime_seconds) : '');
    const f = facts(c);
    c.badge.hidden = !f.length;
    setText(c.badge, f[0] || '');
    c.badge.title = f.join(', ');
    c.root.dataset.alert = f.length ? 'crit' : '';
    c.dirty = true;
    drawSparks();
  }
  let pending = false;
  function drawSparks() {
    if (pending) return;
    pending = true;
    requestAnimationFrame(() => {
      pending = false;
      const t1 = Date.now();
      for (const c of cards.values()) if (c.dirty && c.visible !== false) { c.dirty = false; PS.Chart.spark(c.spark, c.pts, t1 - SPARK, t1, 100, 'cpu'); }
    });
  }
  function summarize() {
    let up = 0; let alerts = 0;
    for (const c of cards.values()) { if (c.state === 'live') up++; if (facts(c).length) alerts++; }
    const n = cards.size;
    setText('fleet-summary', n ? n + (n === 1 ? ' host' : ' hosts') + ' · ' + up + ' up' + (alerts ? ' · ' + alerts + (alerts === 1 ? ' alert' : ' alerts') : '') : '');
    document.body.dataset.up = String(up);
    document.title = (alerts ? '⚠ ' + alerts + ' · ' : '') + 'All hosts · psmonitor';
  }

  // ---- the list --------------------------------------------------------------------------
  let hosts = [];
  function setHosts(list, keep) {
    const seen = new Set();
    hosts = list.map(PS.baseOf).filter((b) => b && !seen.has(b) && seen.add(b));
    if (!keep) {
      PS.save('localStorage', KEY, JSON.stringify(hosts.map(PS.label)));
      const u = new URL(location.href);
      u.searchParams.delete('hosts');
      u.searchParams.set('view', 'fleet');
      history.replaceState(null, '', u);
    }
    for (const [base, c] of cards) if (!hosts.includes(base)) { c.stream.close(); if (onScreen) onScreen.unobserve(c.root); c.root.remove(); cards.delete(base); }
    hosts.forEach((base) => {
      let c = cards.get(base);
      if (!c) { c = makeCard(base); cards.set(base, c); c.stream.attempt(); if (onScreen) onScreen.observe(c.root); }
      grid.appendChild(c.root); // in list order
    });
    $('fleet-empty').hidden = hosts.length > 0;
    window.psmonitor = { hosts: hosts.slice(), cards };
    summarize();
  }
  $('fleet-add').onsubmit = (ev) => {
    ev.preventDefault();
    const input = $('fleet-input');
    const base = PS.baseOf(input.value);
    input.setCustomValidity(base ? '' : 'host:port or http://host:port');
    if (!base) { input.reportValidity(); return; }
    input.value = '';
    setHosts(hosts.concat([base]));
  };
  $('fleet-input').oninput = () => $('fleet-input').setCustomValidity('');
  $('fleet-edit').onclick = () => {
    const on = document.body.classList.toggle('editing');
    $('fleet-edit').setAttribute('aria-pressed', String(on));
    setText('fleet-edit', on ? 'Done' : 'Edit');
  };
  setInterval(() => { for (const c of cards.values()) if (c.state === 'live') c.dirty = true; drawSparks(); }, 2000);
  setHosts(listed, true);
};
