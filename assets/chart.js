// psmonitor dashboard: time-series graphs on a canvas, with a tooltip (time and values at the
// pointer; mouse, pen and touch) and y labels that are measured, so none is cut off.
'use strict';
PS.Chart = (() => {
  const { isNum, el, clock } = PS;
  let colors = {};
  function readColors() {
    const cs = getComputedStyle(document.documentElement);
    for (const k of ['cpu', 'temp', 'mem', 'swap', 'in', 'out', 'muted', 'grid', 'text']) colors[k] = cs.getPropertyValue('--' + k).trim();
    colors.font = cs.getPropertyValue('--font').trim() || 'sans-serif';
  }
  readColors();
  const mq = window.matchMedia ? window.matchMedia('(prefers-color-scheme: dark)') : null;
  const charts = new Set();
  if (mq && mq.addEventListener) mq.addEventListener('change', () => { readColors(); charts.forEach((c) => c.draw()); });

  // A nice step for about `n` divisions of `max`: 1, 2, 2.5 or 5 times a power of ten.
  function niceStep(max, n) {
    const raw = max / n;
    const p = Math.pow(10, Math.floor(Math.log10(raw)));
    for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= raw) return m * p;
    return 10 * p;
  }
  const trim = (s) => s.replace(/\.0+$|(\.\d*?)0+$/, '$1');
  // Time marks for a window: every minute for 5 min, 5 min for 15 min, 15 min for an hour …
  const MARKS = [[300e3, 60e3], [900e3, 300e3], [3600e3, 900e3], [21600e3, 3600e3], [86400e3, 6 * 3600e3], [Infinity, 86400e3]];
  const span = (ms) => (ms >= 3600e3 ? ms / 3600e3 + 'h' : ms / 60e3 + 'm');
  function withAlpha(c, a) {
    const m = /^#([0-9a-f]{6})$/i.exec(c);
    if (!m) return c;
    const n = parseInt(m[1], 16);
    return 'rgba(' + (n >> 16) + ',' + ((n >> 8) & 255) + ',' + (n & 255) + ',' + a + ')';
  }

  // `opts`: series [{key, label, color, fill, dash}], max (the smallest top of the y axis),
  // auto (grow to the data), unit ('%', '°', 'bytes': values in MB/s), fmt (tooltip value),
  // and `source()` returning {pts, t0, t1, gap}: points {t (ms), [key]: value} oldest first.
  class Chart {
    constructor(canvas, opts) {
      this.canvas = canvas; this.opts = opts; this.at = null; this.layout = null;
      this.tip = el('div', 'tip'); this.tip.hidden = true;
      canvas.parentNode.appendChild(this.tip);
      const move = (ev) => { this.at = ev.offsetX; this.draw(); };
      const leave = () => { this.at = null; this.draw(); };
      canvas.addEventListener('pointermove', move);
      canvas.addEventListener('pointerdown', move);
      canvas.addEventListener('pointerleave', leave);
      canvas.addEventListener('pointercancel', leave);
      // A touch ends without a "leave" on some browsers: the tooltip stays a moment, then goes.
      canvas.addEventListener('pointerup', (ev) => { if (ev.pointerType !== 'mouse') setTimeout(leave, 1500); });
      charts.add(this);
      if (window.ResizeObserver) new ResizeObserver(() => this.draw()).observe(canvas.parentNode);
    }
    yLabel(v, max) {
      const u = this.opts.unit;
      if (u === 'bytes') {
        if (!v) return '0';
        const b = max * 1048576;
        const i = Math.min(4, Math.max(0, Math.floor(Math.log(b) / Math.log(1024))));
        return trim((v * 1048576 / Math.pow(1024, i)).toFixed(2)) + ' ' + ['B', 'KB', 'MB', 'GB', 'TB'][i];
      }
      return trim(v.toFixed(2)) + (u || '');
    }
    draw() {
      const c = this.canvas;
      const w = c.clientWidth; const h = c.clientHeight;
      if (!w || !h || c.closest('[hidden]')) return;
      const { pts, t0, t1, gap } = this.opts.source();
      const dpr = window.devicePixelRatio || 1;
      const bw = Math.round(w * dpr); const bh = Math.round(h * dpr);
      if (c.width !== bw || c.height !== bh) { c.width = bw; c.height = bh; }
      const ctx = c.getContext('2d');
      ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
      ctx.clearRect(0, 0, w, h);
      const o = this.opts;
      let start = 0;
      while (start < pts.length - 1 && pts[start + 1].t < t0) start++;
      // y scale: the data's peak (plus a tenth), rounded up to four nice steps.
      let peak = 0;
      if (o.auto) for (let i = start; i < pts.length; i++) for (const s of o.series) { const v = pts[i][s.key]; if (isNum(v) && v > peak) peak = v; }
      let top = Math.max(o.max, peak * 1.1);
      let step;
      if (o.unit === 'bytes') { // steps that are nice in the unit the labels use
        const b = top * 1048576;
        const unit = Math.pow(1024, Math.min(4, Math.max(0, Math.floor(Math.log(b) / Math.log(1024)))));
        step = (niceStep(b / unit, 4) * unit) / 1048576;
      } else step = niceStep(top, 4);
      const ticks = Math.max(1, Math.ceil(top / step - 1e-9));
      top = step * ticks;
      ctx.font = '10px ' + colors.font;
      const labels = [];
      for (let i = 0; i <= ticks; i++) labels.push(this.yLabel(step * i, top));
      const L = Math.ceil(Math.max(...labels.map((s) => ctx.measureText(s).width))) + 10;
      const R = 6; const T = 6; const B = 18;
      const pw = w - L - R; const ph = h - T - B;
      if (pw < 20 || ph < 20) return;
      const win = t1 - t0;
      const X = (t) => L + ((t - t0) / win) * pw;
      const Y = (v) => T + ph * (1 - Math.max(0, Math.min(1, v / top)));
      this.layout = { L, pw, t0, win };
      c.dataset.window = String(Math.round(win / 1000)); // seconds drawn, for tests and the curious
      // grid and labels
      ctx.lineWidth = 1; ctx.strokeStyle = colors.grid; ctx.fillStyle = colors.muted;
      ctx.textAlign = 'right'; ctx.textBaseline = 'middle';
      labels.forEach((s, i) => {
        const y = Math.round(Y(step * i)) + 0.5;
        ctx.beginPath(); ctx.moveTo(L, y); ctx.lineTo(L + pw, y); ctx.stroke();
        ctx.fillText(s, L - 6, Math.min(h - B, Math.max(T + 4, y)));
      });
      ctx.textBaseline = 'alphabetic';
      const every = MARKS.find(([upTo]) => win <= upTo * 1.01)[1];
      const n = Math.floor(win / every + 1e-6);
      const skip = pw / n < 46 ? 2 : 1;
      for (let m = 0; m <= n; m++) {
        const x = Math.round(X(t1 - m * every)) + 0.5;
        if (m > 0 && m < n) { ctx.beginPath(); ctx.moveTo(x, T); ctx.lineTo(x, T + ph); ctx.stroke(); }
        if (m % skip) continue;
        ctx.textAlign = m === 0 ? 'right' : m === n ? 'left' : 'center';
        ctx.fillText(m === 0 ? 'now' : '-' + span(m * every), x, h - 4);
      }
      // series, one point per half pixel column (the bucket's highest value)
      ctx.save();
      ctx.beginPath(); ctx.rect(L, T - 2, pw + 1, ph + 4); ctx.clip();
      const bucket = win / pw / 2;
      for (const s of o.series) {
        const segs = []; let seg = null; let prevT = -Infinity; let bucketT = -Infinity;
        for (let i = start; i < pts.length; i++) {
          const p = pts[i]; const v = p[s.key];
          if (!isNum(v)) { seg = null; continue; }
          if (!seg || p.t - prevT > gap) { seg = []; segs.push(seg); bucketT = -Infinity; }
          prevT = p.t;
          if (p.t - bucketT < bucket && seg.length) { const last = seg[seg.length - 1]; if (v > last[1]) last[1] = v; continue; }
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
      this.pointer(ctx, pts, start, X, Y, T, ph, gap, w);
    }
    // The point nearest the pointer: a guide line, dots on the series, and the tooltip.
    pointer(ctx, pts, start, X, Y, T, ph, gap, w) {
      const { L, pw, t0, win } = this.layout;
      const tip = this.tip;
      if (this.at == null || this.at < L || this.at > L + pw) { tip.hidden = true; return; }
      const t = t0 + ((this.at - L) / pw) * win;
      let best = null;
      for (let i = start; i < pts.length; i++) if (!best || Math.abs(pts[i].t - t) < Math.abs(best.t - t)) best = pts[i];
      if (!best || Math.abs(best.t - t) > Math.max(gap, win / pw * 4)) { tip.hidden = true; return; }
      const x = Math.round(X(best.t)) + 0.5;
      ctx.strokeStyle = colors.muted; ctx.lineWidth = 1;
      ctx.beginPath(); ctx.moveTo(x, T); ctx.lineTo(x, T + ph); ctx.stroke();
      const rows = [el('div', 'tt', clock(best.t))];
      for (const s of this.opts.series) {
        const v = best[s.key];
        if (!isNum(v)) continue;
        ctx.fillStyle = colors[s.color];
        ctx.beginPath(); ctx.arc(x, Y(v), 3, 0, 2 * Math.PI); ctx.fill();
        const r = el('div');
        const dot = el('i'); dot.style.background = colors[s.color];
        r.append(dot, s.label + ' ', el('b', null, this.opts.fmt(v)));
        rows.push(r);
      }
      tip.replaceChildren(...rows);
      tip.hidden = false;
      const tw = tip.offsetWidth;
      tip.style.left = Math.max(0, Math.min(w - tw, x + 10 + tw > w ? x - 10 - tw : x + 10)) + 'px';
    }
  }
  // Redraws every graph on the next animation frame (frames, resizes and zoom changes).
  let pending = false;
  Chart.drawAll = () => {
    if (pending) return;
    pending = true;
    requestAnimationFrame(() => { pending = false; charts.forEach((c) => c.draw()); });
  };
  (function watchDpr() {
    if (!window.matchMedia) return;
    const m = window.matchMedia('(resolution: ' + (window.devicePixelRatio || 1) + 'dppx)');
    const on = () => { Chart.drawAll(); if (m.removeEventListener) m.removeEventListener('change', on); watchDpr(); };
    if (m.addEventListener) m.addEventListener('change', on);
  })();
  document.addEventListener('visibilitychange', () => { if (!document.hidden) Chart.drawAll(); });
  // A small line of recent values for the fleet's cards, no axes: `pts` [{t, v}] from t0 to t1.
  Chart.spark = (canvas, pts, t0, t1, max, color) => {
    const w = canvas.clientWidth; const h = canvas.clientHeight;
    if (!w || !h) return;
    const dpr = window.devicePixelRatio || 1;
    if (canvas.width !== Math.round(w * dpr)) { canvas.width = Math.round(w * dpr); canvas.height = Math.round(h * dpr); }
    const ctx = canvas.getContext('2d');
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, w, h);
    const col = colors[color] || color;
    const X = (t) => ((t - t0) / (t1 - t0)) * w;
    const Y = (v) => 1 + (h - 2) * (1 - Math.max(0, Math.min(1, v / max)));
    const line = pts.filter((p) => isNum(p.v) && p.t >= t0);
    if (!line.length) return;
    ctx.beginPath();
    line.forEach((p, i) => (i ? ctx.lineTo(X(p.t), Y(p.v)) : ctx.moveTo(X(p.t), Y(p.v))));
    ctx.strokeStyle = col; ctx.lineWidth = 1.5; ctx.lineJoin = 'round'; ctx.stroke();
    ctx.lineTo(X(line[line.length - 1].t), h); ctx.lineTo(X(line[0].t), h); ctx.closePath();
    ctx.fillStyle = withAlpha(col, 0.15); ctx.fill();
  };
  return Chart;
})();
