// falcon-rs pages: a line plot of a /page history view ({step, times, series}) as inline SVG. No dependencies.
// plot(element, view, names, {unit, scale}): one line per series name present in the view, a legend with each
// series' last value, the largest value on the y axis and the time span on the x axis.
(function () {
  const colors = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f'];
  const fmt = (v) => v === null || v === undefined ? '-' :
    Math.abs(v) >= 100 ? v.toFixed(0) : Math.abs(v) >= 10 ? v.toFixed(1) : v.toFixed(2);
  const esc = (s) => String(s).replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]);
  window.falconEscape = esc;
  window.falconPlot = function (el, view, names, opts) {
    opts = opts || {};
    const scale = opts.scale || 1, unit = opts.unit || '';
    const W = 640, H = 160, L = 72, B = 18, T = 6;
    const times = (view && view.times) || [];
    names = (names || Object.keys((view && view.series) || {})).filter((n) => view && view.series && view.series[n]);
    if (times.length < 2 || names.length === 0) {
      el.innerHTML = '<p class="muted">collecting samples…</p>';
      return;
    }
    let max = 0;
    for (const n of names) for (const v of view.series[n]) if (v !== null && v * scale > max) max = v * scale;
    if (max <= 0) max = 1;
    const t0 = times[0], t1 = times[times.length - 1], span = Math.max(1, t1 - t0);
    const x = (t) => L + (W - L - 4) * (t - t0) / span, y = (v) => T + (H - T - B) * (1 - v * scale / max);
    let svg = '<svg viewBox="0 0 ' + W + ' ' + H + '" width="100%" role="img">' +
      '<line x1="' + L + '" y1="' + (H - B) + '" x2="' + W + '" y2="' + (H - B) + '" stroke="#ccc"/>' +
      '<text x="' + (L - 4) + '" y="' + (T + 10) + '" text-anchor="end" font-size="10">' + fmt(max) + unit + '</text>' +
      '<text x="' + (L - 4) + '" y="' + (H - B) + '" text-anchor="end" font-size="10">0</text>' +
      '<text x="' + L + '" y="' + (H - 4) + '" font-size="10">-' + (span < 120 ? span + ' s' : Math.round(span / 60) + ' min') + '</text>' +
      '<text x="' + W + '" y="' + (H - 4) + '" text-anchor="end" font-size="10">now</text>';
    let legend = '';
    names.forEach((n, i) => {
      const c = colors[i % colors.length], vals = view.series[n];
      let d = '', pen = false, last = null;
      vals.forEach((v, k) => {
        if (v === null) { pen = false; return; }
        d += (pen ? 'L' : 'M') + x(times[k]).toFixed(1) + ' ' + y(v).toFixed(1);
        pen = true; last = v;
      });
      svg += '<path d="' + d + '" fill="none" stroke="' + c + '" stroke-width="1.5"/>';
      legend += '<span class="legend"><i style="background:' + c + '"></i>' + esc(n) + ' ' +
        fmt(last === null ? null : last * scale) + unit + '</span>';
    });
    el.innerHTML = svg + '</svg><div>' + legend + '</div>';
  };
})();
