// psmonitor dashboard, one host: first paint from GET /system and /network, then live frames
// over one websocket (`stream=dashboard`: system, network and a longer process list in each
// frame), graphs over a window the user picks, filled from GET /history.
'use strict';
PS.host = (conn, opts) => {
  const { $, isNum, num, pct, gib, level, bytes, rate, total, duration, short, setText, el, setBar } = PS;
  const MAX_POINTS = 20000;
  const WINDOWS = [300, 900, 3600, 6 * 3600, 24 * 3600, 7 * 86400, 30 * 86400]; // seconds: the longest once the history holds them
  if (opts.remote) {
    setText('target', 'via ' + PS.label(conn.base));
    setText('foot-src', 'watching ' + conn.base);
  }

  // ---- graph data: one point per frame, and /history's points where we have none ----------
  const pts = []; // {t, cpu, temp, mem, swap, in, out, rd, wr}
  const cadence = new PS.Cadence();
  let win = 300; // seconds shown
  let step = 0; // seconds per /history point for this window (0: every point)
  let hasSwap = false;
  window.psmonitor = { pts, sys: pts, net: pts, base: conn.base, window: () => win };
  function push(p) {
    if (pts.length && p.t < pts[pts.length - 1].t) p.t = pts[pts.length - 1].t;
    pts.push(p);
    trim();
  }
  function trim() {
    const cut = Date.now() - win * 1000 - 15000;
    let i = 0;
    while (i < pts.length && pts[i].t < cut) i++;
    if (i) pts.splice(0, i);
    // A long window at a fast interval: thin the older half (every other point) rather than
    // lose the start of the window; a pixel column holds many points there anyway.
    if (pts.length > MAX_POINTS) {
      // At most one point per 1/10000 of the window (the newest 600 kept whole): thinning again
      // keeps the same spacing, so the start of the window is never lost.
      const gap = (win * 1000) / (MAX_POINTS / 2);
      const keepFrom = pts.length - 600;
      let last = -Infinity;
      const kept = pts.filter((p, k) => { if (k >= keepFrom || p.t - last >= gap) { last = p.t; return true; } return false; });
      pts.length = 0;
      pts.push(...kept);
    }
  }
  const source = () => {
    const t1 = Date.now();
    return { pts, t0: t1 - win * 1000, t1, gap: Math.max(3000, cadence.value * 3.5, step * 2500) };
  };
  const fmtPct = (v) => v.toFixed(1) + '%';
  const chart = (id, o) => new PS.Chart($(id), Object.assign({ source, max: 100, unit: '%', fmt: fmtPct }, o));
  chart('g-cpu', { series: [{ key: 'cpu', label: 'CPU', color: 'cpu', fill: true }] });
  chart('g-temp', { max: 50, auto: true, unit: '°', fmt: (v) => v.toFixed(1) + ' °C', series: [{ key: 'temp', label: 'Temp', color: 'temp', fill: true }] });
  chart('g-mem', { series: [{ key: 'mem', label: 'Memory', color: 'mem', fill: true }, { key: 'swap', label: 'Swap', color: 'swap', dash: true }] });
  chart('g-net', { max: 10 / 1024, auto: true, unit: 'bytes', fmt: rate, series: [{ key: 'in', label: 'In', color: 'in', fill: true }, { key: 'out', label: 'Out', color: 'out' }] });
  chart('g-io', { max: 10 / 1024, auto: true, unit: 'bytes', fmt: rate, series: [{ key: 'rd', label: 'Read', color: 'in', fill: true }, { key: 'wr', label: 'Write', color: 'out' }] });

  // Adds server-side history where we have no points of our own: before the page opened, in
  // the gap after a reconnect, and further back when a longer window is chosen.
  function merge(add, tolMs) {
    if (!add.length) return;
    const fresh = new Set(add);
    const all = pts.concat(add).sort((a, b) => a.t - b.t);
    const near = (q, p) => q && !fresh.has(q) && Math.abs(q.t - p.t) < tolMs;
    const out = all.filter((p, i) => !fresh.has(p) || !(near(all[i - 1], p) || near(all[i + 1], p)));
    pts.length = 0;
    pts.push(...out);
    trim();
  }
  let filling = 0;
  async function backfill() {
    const ask = ++filling;
    const fields = '&fields=cpu,temp,mem,swap,net_in,net_out';
    let arr;
    try {
      let r = await conn.api('/history?seconds=' + win + (step ? '&step=' + step : '') + fields);
      if (r.status === 400) r = await conn.api('/history?seconds=' + win); // an older server
      if (r.status === 400) r = await conn.api('/history'); // a shorter --history
      if (!r.ok) return;
      arr = await r.json();
    } catch (e) {
      return;
    }
    if (ask !== filling || !Array.isArray(arr) || !arr.length) return;
    const ms = (t) => (typeof t === 'string' ? Date.parse(t) : !isNum(t) ? NaN : t > 1e11 ? t : t * 1000);
    const got = arr.filter((p) => p && typeof p === 'object' && isFinite(ms(p.t))).sort((a, b) => ms(a.t) - ms(b.t));
    if (!got.length) return;
    const shift = PS.skew(ms(got[got.length - 1].t), cadence.value);
    merge(got.map((p) => ({
      t: ms(p.t) + shift, cpu: num(p.cpu), temp: num(p.temp), mem: num(p.mem), swap: hasSwap ? num(p.swap) : null,
      in: num(p.net_in), out: num(p.net_out), hist: true,
    })), Math.max(cadence.value, step * 1000) * 0.6);
    PS.Chart.drawAll();
  }

  // ---- window choice ---------------------------------------------------------------------
  const WKEY = 'psmonitor.window';
  function setWindow(s, fill) {
    win = s;
    // About 720 points at most from /history, whatever the window.
    step = s <= 900 ? 0 : Math.ceil(s / 720);
    PS.save('localStorage', WKEY, String(s));
    for (const b of $('window').children) b.setAttribute('aria-pressed', String(Number(b.dataset.s) === s));
    if (fill) backfill();
    PS.Chart.drawAll();
  }
  function windows(keep) {
    const list = WINDOWS.filter((s) => s <= Math.max(300, keep));
    if (keep > 300 && !list.includes(keep) && keep < WINDOWS[WINDOWS.length - 1]) list.push(keep);
    list.sort((a, b) => a - b);
    const box = $('window');
    box.replaceChildren(...list.map((s) => {
      const b = el('button', null, s >= 7 * 86400 ? Math.round(s / 86400) + ' d' : s >= 3600 ? +(s / 3600).toFixed(1) + ' h' : Math.round(s / 60) + ' min');
      b.type = 'button'; b.dataset.s = String(s);
      b.onclick = () => setWindow(s, true);
      return b;
    }));
    box.hidden = list.length < 2;
    const saved = Number(PS.load('localStorage', WKEY));
    setWindow(list.includes(saved) ? saved : list[0], false);
  }

  // ---- rendering -------------------------------------------------------------------------
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
    setText('subtitle', [plat.distro, isNum(d.uptime_seconds) && 'up ' + short(d.uptime_seconds)].filter(Boolean).join(' · '));
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
    hasSwap = isNum(sw.total) && sw.total > 0;
    setText('swap-text', hasSwap ? gib(sw.used) + ' / ' + gib(sw.total) + ' · ' + pct(sw.percent) : 'none');
    setBar('swap-bar', hasSwap ? sw.percent : 0, 50, 80);

    setText('disk-percent', pct(disk.percent));
    $('disk-percent').dataset.level = level(disk.percent, 80, 90);
    setBar('disk-bar', disk.percent, 80, 90);
    setText('disk-used', gib(disk.used)); setText('disk-free', gib(disk.free)); setText('disk-total', gib(disk.total));
    // Each panel on its own: one a host feeds something unexpected must not stop the frame.
    const list = (v) => (Array.isArray(v) ? v : []);
    panel(() => renderDisks(list(d.disks)));
    panel(() => renderPressure(d.pressure && typeof d.pressure === 'object' ? d.pressure : null));
    panel(() => renderSensors(list(d.sensors)));
    panel(() => renderContainers(list(d.containers)));

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
        setBar(c.querySelector('i'), v, 60, 85);
        setText(c.querySelector('b'), isNum(v) ? v.toFixed(0) + '%' : '—');
      }
    });
  }

  function panel(render) {
    try { render(); } catch (e) { if (window.console) console.warn('psmonitor: a panel failed', e); }
  }
  // A labelled bar: name, value text, and a bar at `v` percent.
  function barRow(name, title, text, v, warn, crit) {
    const li = el('li');
    const row = el('div', 'row');
    const b = el('b', null, name);
    if (title) b.title = title;
    row.append(b, el('span', 'muted', text));
    const bar = el('div', 'bar'); const i = el('i');
    setBar(i, v, warn, crit);
    bar.appendChild(i);
    li.append(row, bar);
    return li;
  }
  function renderDisks(disks) {
    $('disk-list').replaceChildren(...disks.filter((x) => x && x.mountpoint !== '/').map((x) => barRow(
      x.mountpoint || x.device || '?', (x.device || '') + (x.fstype ? ' (' + x.fstype + ')' : ''),
      gib(x.used) + ' / ' + gib(x.total) + ' · ' + pct(x.percent), x.percent, 80, 90)));
  }
  function renderDiskIo(devs) {
    $('io-card').hidden = !devs.length;
    let rd = 0; let wr = 0;
    const rows = devs.filter(Boolean).map((x) => {
      rd += x.read_bytes_per_s || 0; wr += x.write_bytes_per_s || 0;
      const r = el('div', 'line');
      r.append(el('b', null, x.name || '?'), el('span', 'c-in', 'R ' + bytes(x.read_bytes_per_s) + '/s'),
        el('span', 'c-out', 'W ' + bytes(x.write_bytes_per_s) + '/s'), el('span', 'muted', pct(x.busy_percent) + ' busy'));
      r.title = 'since boot: read ' + bytes(x.read_bytes) + ', written ' + bytes(x.write_bytes);
      return r;
    });
    $('io-list').replaceChildren(...rows);
    setText('gv-rd', devs.length ? bytes(rd) + '/s' : '—');
    setText('gv-wr', devs.length ? bytes(wr) + '/s' : '—');
    return devs.length ? { rd: rd / 1048576, wr: wr / 1048576 } : { rd: null, wr: null };
  }
  function renderPressure(p) {
    const names = [['cpu', 'CPU'], ['memory', 'Memory'], ['io', 'I/O']].filter(([k]) => p && p[k] && p[k].some);
    $('psi-card').hidden = !names.length;
    const list = el('ul', 'disks');
    for (const [k, name] of names) {
      for (const kind of ['some', 'full']) {
        const l = p[k][kind];
        if (!l || (kind === 'full' && k === 'cpu' && !l.avg300 && !l.avg10)) continue;
        list.appendChild(barRow(name + ' · ' + kind, kind === 'some' ? 'at least one task waited' : 'every task waited',
          pct(l.avg10) + ' · 1 min ' + pct(l.avg60) + ' · 5 min ' + pct(l.avg300), l.avg10, 10, 40));
      }
    }
    $('psi-list').replaceChildren(list);
  }
  function renderSensors(all) {
    const other = all.filter((s) => s && s.type && s.type !== 'temperature');
    const temps = all.filter((s) => s && s.type === 'temperature' && isNum(s.temp));
    const show = other.length > 0 || temps.length > 1;
    $('sensors-card').hidden = !show;
    if (!show) return;
    const list = el('ul', 'disks');
    for (const s of other.concat(temps)) {
      const name = (s.label && s.label !== s.name ? s.name + ' ' + s.label : s.name) || '?';
      if (s.type === 'battery') {
        const li = barRow('Battery ' + name, null, (isNum(s.percent) ? s.percent + '%' : '—') + (s.status ? ' · ' + s.status : ''), s.percent, 101, 101);
        // The charge is the bar; low is the warning here, not high.
        li.querySelector('.bar i').dataset.level = !isNum(s.percent) ? 'ok' : s.percent <= 10 ? 'crit' : s.percent <= 25 ? 'warn' : 'ok';
        list.appendChild(li);
      }
      else {
        const v = s.type === 'fan' ? (isNum(s.rpm) ? s.rpm + ' RPM' : '—') : s.type === 'voltage' ? (isNum(s.volts) ? s.volts.toFixed(2) + ' V' : '—') : isNum(s.temp) ? s.temp.toFixed(1) + ' °C' : '—';
        const li = el('li', 'line');
        li.append(el('b', null, (s.type === 'fan' ? 'Fan ' : '') + name), el('span', s.type === 'temperature' ? 'c-temp' : 'muted', v));
        if (s.type === 'temperature') li.lastChild.dataset.level = level(s.temp, 70, 85);
        list.appendChild(li);
      }
    }
    $('sensor-list').replaceChildren(list);
  }
  function renderContainers(cs) {
    $('ct-card').hidden = !cs.length;
    setText('ct-count', cs.length ? cs.filter((c) => c.status === 'running').length + ' running of ' + cs.length : '');
    $('ct-table').replaceChildren(...cs.filter(Boolean).map((c) => {
      const tr = el('tr');
      const n = el('td', 'pname', c.name || c.id || '?'); n.title = (c.runtime || '') + ' ' + (c.id || '');
      const img = el('td', 'muted', c.image || '—'); img.title = c.image || '';
      const st = el('td', null, c.status || '—'); st.dataset.level = c.status === 'running' ? 'ok' : 'warn';
      const cpu = el('td', 'n', isNum(c.cpu_percent) ? c.cpu_percent.toFixed(1) : '—');
      const mem = el('td', 'n', bytes(c.memory_usage) + (isNum(c.memory_limit) ? ' / ' + bytes(c.memory_limit) : ''));
      tr.append(n, img, st, cpu, mem);
      return tr;
    }));
  }

  // ---- processes: sortable by clicking a column head ---------------------------------------
  const SKEY = 'psmonitor.sort';
  let sort = { key: 'mem', desc: true };
  try { const s = JSON.parse(PS.load('localStorage', SKEY)); if (s && ['pid', 'name', 'mem', 'cpu'].includes(s.key)) sort = { key: s.key, desc: !!s.desc }; } catch (e) { /* default */ }
  let procs = [];
  let procTotal = null;
  function renderProcs() {
    const k = sort.key;
    const cmp = k === 'name' ? (a, b) => String(a.name || '').localeCompare(String(b.name || '')) : (a, b) => (a[k] || 0) - (b[k] || 0);
    const list = procs.filter(Boolean).slice().sort((a, b) => (sort.desc ? -cmp(a, b) : cmp(a, b)) || (a.pid || 0) - (b.pid || 0));
    for (const th of document.querySelectorAll('#host th[data-sort]')) {
      th.setAttribute('aria-sort', th.dataset.sort === k ? (sort.desc ? 'descending' : 'ascending') : 'none');
    }
    setText('proc-count', (isNum(procTotal) ? procTotal + ' in all' : '') + (list.length ? ' · ' + list.length + ' busiest shown' : ''));
    $('proc-table').replaceChildren(...list.map((p) => {
      const tr = el('tr');
      const name = el('td', 'pname', p.name || '?'); name.title = p.name || '';
      name.appendChild(el('small', null, p.username || ''));
      const c = el('td', 'n', isNum(p.cpu) ? p.cpu.toFixed(1) : '—');
      c.dataset.level = level(p.cpu, 50, 90);
      tr.append(el('td', 'n muted', String(p.pid != null ? p.pid : '')), name, el('td', 'muted user', p.username || '—'),
        el('td', 'n', isNum(p.mem) ? p.mem.toFixed(1) : '—'), c);
      return tr;
    }));
  }
  for (const th of document.querySelectorAll('#host th[data-sort]')) {
    th.querySelector('button').onclick = () => {
      const key = th.dataset.sort;
      sort = sort.key === key ? { key, desc: !sort.desc } : { key, desc: key === 'mem' || key === 'cpu' };
      PS.save('localStorage', SKEY, JSON.stringify(sort));
      renderProcs();
    };
  }

  function renderNetwork(d) {
    const names = Array.isArray(d.interfaces) ? d.interfaces.slice() : Object.keys(d.statistics || {});
    const stats = d.statistics || {}; const avg = d.averages || {};
    const wl = d.wireless && typeof d.wireless === 'object' ? d.wireless : null;
    const busy = (n) => { const s = stats[n] || {}; return (s.bytes_received || 0) + (s.bytes_sent || 0) > 0 ? 1 : 0; };
    names.sort((a, b) => (a === 'lo') - (b === 'lo') || busy(b) - busy(a) || a.localeCompare(b));
    let sumIn = 0; let sumOut = 0; let any = false; let rx = 0; let tx = 0; let real = 0;
    const rows = names.map((n) => {
      const s = stats[n] || {}; const a = avg[n] || {};
      if (n !== 'lo') { real++; rx += s.mb_received || 0; tx += s.mb_sent || 0; }
      if (n !== 'lo' && isNum(a.in)) { sumIn += a.in; any = true; }
      if (n !== 'lo' && isNum(a.out)) { sumOut += a.out; any = true; }
      const row = el('div', 'iface' + (busy(n) ? '' : ' idle'));
      const name = el('div', 'name', n);
      if (wl && wl.interface === n) name.appendChild(el('span', 'tag', 'wi-fi'));
      if (n === 'lo') name.appendChild(el('span', 'tag', 'loopback'));
      name.appendChild(el('small', null, 'total ↓ ' + total(s.mb_received) + ' · ↑ ' + total(s.mb_sent)));
      const rin = el('div', 'r c-in', '↓ ' + rate(a.in)); rin.appendChild(el('small', null, 'in'));
      const rout = el('div', 'r c-out', '↑ ' + rate(a.out)); rout.appendChild(el('small', null, 'out'));
      row.append(name, rin, rout);
      return row;
    });
    $('net-list').replaceChildren(...(rows.length ? rows : [el('p', 'muted', 'no interfaces')]));
    const w = $('wifi');
    w.hidden = !wl;
    if (wl) {
      const fields = [['Network', wl.name], ['Quality', wl.quality], ['Signal', wl.signal], ['Channel', wl.channel], ['Security', wl.encryption], ['Access point', wl.address]];
      w.replaceChildren(...fields.filter(([, v]) => v != null && v !== '').map(([k, v]) => {
        const c = el('div'); c.append(el('div', 'k', k), el('div', 'v', String(v))); return c;
      }));
    }
    const io = any ? { in: sumIn, out: sumOut } : { in: null, out: null };
    for (const [id, v] of [['gv-in', io.in], ['gv-out', io.out], ['net-in', io.in], ['net-out', io.out]]) setText(id, rate(v));
    setText('net-rx', total(rx));
    setText('net-tx', total(tx));
    // Counted as the Interfaces panel lists them: the loopback is named, not hidden.
    const lo = names.includes('lo') ? ' + loopback' : '';
    setText('net-ifs', (real === 1 ? names.find((n) => n !== 'lo') : real + ' interfaces') + lo);
    return io;
  }

  // ---- data in ---------------------------------------------------------------------------
  let frames = 0;
  let netIo = { in: null, out: null };
  // One tick: `sys` from /system or the frame, `net` from /network or the frame (or null).
  function onTick(sys, net, list, live) {
    if (!sys || typeof sys !== 'object' || !sys.cpu) return;
    const now = Date.now();
    if (net && typeof net === 'object' && (net.statistics || net.interfaces)) netIo = renderNetwork(net);
    renderSystem(sys);
    let io = { rd: null, wr: null };
    panel(() => { io = renderDiskIo(Array.isArray(sys.diskio) ? sys.diskio : []); });
    procs = Array.isArray(list) ? list : Array.isArray(sys.processes) ? sys.processes : [];
    procTotal = sys.process_count;
    renderProcs();
    const cpu = sys.cpu || {};
    push({ t: now, cpu: num(cpu.usage), temp: num(cpu.temp), mem: num((sys.mem || {}).percent), swap: hasSwap ? num((sys.swap || {}).percent) : null, in: netIo.in, out: netIo.out, rd: io.rd, wr: io.wr });
    if (live) {
      cadence.tick(now);
      frames++;
      setText('frame-count', String(frames));
      setText('frames-label', frames === 1 ? ' frame' : ' frames');
      document.body.dataset.frames = String(frames);
      setText('cadence', ' · every ' + (cadence.value / 1000).toFixed(cadence.value < 1000 ? 2 : 1) + ' s');
    }
    PS.Chart.drawAll();
  }
  // A `stream=dashboard` frame; a server without that stream sends plain system frames.
  const onFrame = (d) => (d && d.system ? onTick(d.system, d.network, d.processes, true) : onTick(d, null, null, true));

  // ---- connection state --------------------------------------------------------------------
  let state = '';
  let stream = null;
  let knownWindows = false; // the window choice follows the server's --history
  function setState(s) {
    if (state === s) return;
    state = s;
    setText('conn-state', s);
    $('conn').dataset.state = s;
    document.body.dataset.state = s;
    showRetry();
    if (s !== 'live') return;
    cadence.reset(); // the time off-line is not a frame interval
    backfill(); // before the page opened, or the gap while off line, from the server's history
    if (!knownWindows) {
      knownWindows = true;
      conn.json('/health').then((h) => { if (h && isNum(h.history_seconds)) windows(h.history_seconds); }).catch(() => { knownWindows = false; });
    }
  }
  setState('connecting');
  stream = PS.watch(new PS.Stream(conn, 'dashboard', onFrame, setState), () => cadence.value);
  function showRetry() {
    const left = stream ? stream.wait() : 0;
    setText('retry', state === 'live' || state === 'connecting' ? '' : left > 0 ? 'retry in ' + left + ' s' : 'trying…');
  }
  setInterval(showRetry, 500);
  $('conn').addEventListener('click', () => { if (state !== 'live') stream.now(true); });

  // ---- start -----------------------------------------------------------------------------
  (async () => {
    for (;;) {
      try {
        const [sys, net, health] = await Promise.all([conn.json('/system'), conn.json('/network').catch(() => null), conn.json('/health').catch(() => null)]);
        onTick(sys, net, null, false);
        windows(health && isNum(health.history_seconds) ? health.history_seconds : 300);
        knownWindows = !!health;
        if (opts.fleetAfterToken) {
          const f = await conn.json('/fleet').catch(() => null);
          if (f && Array.isArray(f.hosts) && f.hosts.length) return location.replace('?view=fleet');
        }
        break;
      } catch (e) {
        windows(300);
        if (e instanceof PS.AuthError) {
          setState('token needed');
          if (await conn.askToken()) continue;
          stream.skipped = true; // skipped: a click on the state asks again
          return;
        }
        break; // the websocket reports and retries
      }
    }
    stream.attempt();
  })();
};
