// Clip metrics in the comparison grid: the bar (Measure, sort, filters), each pane's badge
// row, and the ranked order. grid.py puts this file in front of grid.js (one module: the
// widget has no bundler), so `h` and the render function there use these directly.
//
// The kernel measures and formats: the `metrics` trait maps a cell id to
// {values: {name: number|null}, texts: {name: badge text}, silent, error}, and
// `metric_columns` holds each metric's label, unit and tooltip. This file only sorts,
// filters and shows them, always as text (textContent), never as HTML.

const SOUND_CHOICES = [["all", "all clips"], ["silent", "silent only"], ["audible", "hide silent"]];

function metricOf(model, id) {
  return (model.get("metrics") || {})[id] || null;
}

function metricValue(model, id, name) {
  const m = metricOf(model, id);
  const v = m && m.values ? m.values[name] : null;
  return typeof v === "number" && isFinite(v) ? v : null;
}

function filterValue(f) {
  return f && f.metric && typeof f.value === "number" && isFinite(f.value) ? f.value : null;
}

function filterActive(model) {
  const f = model.get("metric_filter") || {};
  return (f.sound && f.sound !== "all") || filterValue(f) !== null;
}

function passesFilter(model, id) {
  const f = model.get("metric_filter") || {};
  const m = metricOf(model, id);
  if (f.sound === "silent" && !(m && m.silent)) return false;
  if (f.sound === "audible" && (!m || m.silent)) return false;
  const limit = filterValue(f);
  if (limit !== null) {
    const v = metricValue(model, id, f.metric);
    if (v === null) return false;
    if (f.op === "<=" ? v > limit : v < limit) return false;
  }
  return true;
}

// The cells that pass the filter, ranked by `sort_by`; clips without that figure come last,
// ties keep the axes' order.
function rankCells(model, cells) {
  const by = model.get("sort_by");
  const sign = model.get("sort_descending") ? -1 : 1;
  return cells
    .filter((cell) => passesFilter(model, cell.id))
    .map((cell, i) => ({ cell, i, v: metricValue(model, cell.id, by) }))
    .sort((a, b) => {
      if (a.v === null || b.v === null) return (a.v === null) - (b.v === null) || a.i - b.i;
      return sign * (a.v - b.v) || a.i - b.i;
    })
    .map((x) => x.cell);
}

function renderBadges(model, pane) {
  const m = metricOf(model, pane.id);
  pane.badges.replaceChildren();
  pane.badges.hidden = !m;
  if (!m) return;
  if (m.error) {
    const b = h("span", "hh-grid-badge hh-grid-badge-error", "not measured");
    b.title = m.error;
    pane.badges.append(b);
    return;
  }
  const by = model.get("sort_by");
  for (const col of model.get("metric_columns") || []) {
    const text = m.texts ? m.texts[col.name] : "";
    if (!text || (!col.badge && col.name !== by)) continue;
    const b = h("span", "hh-grid-badge", text);
    b.dataset.metric = col.name;
    const v = metricValue(model, pane.id, col.name);
    if (v !== null) b.dataset.value = String(v);
    b.title = col.title;
    if (col.name === by) b.classList.add("hh-on");
    pane.badges.append(b);
  }
  if (m.silent) {
    const b = h("span", "hh-grid-badge hh-grid-badge-silent", "silent");
    b.title = "No audio stream, or sound mostly below -60 dBFS";
    pane.badges.append(b);
  }
}

function option(value, text) {
  const opt = h("option", null, text);
  opt.value = value;
  return opt;
}

function createMetricsBar(model) {
  const bar = h("div", "hh-grid-metrics");
  const measureBtn = h("button", "hh-grid-measure", "Measure clips");
  measureBtn.title = "Measure motion, flicker, sharpness, cuts and loudness of every clip " +
    "(in background processes; kept in the journal, never measured twice)";
  measureBtn.addEventListener("click", () => {
    measureBtn.disabled = true;
    model.send({ type: "measure" });
  });
  const measuring = h("span", "hh-grid-measuring");
  const sortLabel = h("label", "hh-grid-role");
  const sort = h("select", "hh-grid-sort");
  sort.title = "Rank every clip by a metric, or keep the axes' order";
  sortLabel.append(h("span", null, "Sort"), sort);
  sort.addEventListener("change", () => { model.set("sort_by", sort.value); model.save_changes(); });
  const dir = h("button", "hh-grid-sort-dir");
  dir.addEventListener("click", () => {
    model.set("sort_descending", !model.get("sort_descending"));
    model.save_changes();
  });
  const soundLabel = h("label", "hh-grid-role");
  const sound = h("select", "hh-grid-sound");
  for (const [value, text] of SOUND_CHOICES) sound.append(option(value, text));
  soundLabel.append(h("span", null, "Show"), sound);
  const fMetric = h("select", "hh-grid-filter-metric");
  fMetric.title = "Show only clips whose figure passes";
  const fOp = h("select", "hh-grid-filter-op");
  fOp.append(option(">=", "≥"), option("<=", "≤"));
  const fValue = h("input", "hh-grid-filter-value");
  fValue.type = "number";
  fValue.step = "any";
  fValue.placeholder = "value";
  const shown = h("span", "hh-grid-shown");
  bar.append(measureBtn, measuring, sortLabel, dir, soundLabel, fMetric, fOp, fValue, shown);

  function setFilter() {
    const raw = fValue.value.trim();
    const value = raw === "" || !isFinite(Number(raw)) ? null : Number(raw);
    model.set("metric_filter", { sound: sound.value, metric: fMetric.value, op: fOp.value, value });
    model.save_changes();
  }
  sound.addEventListener("change", setFilter);
  fMetric.addEventListener("change", setFilter);
  fOp.addEventListener("change", setFilter);
  fValue.addEventListener("change", setFilter);

  function fillMenus(cols) {
    if (sort.options.length === cols.length + 1) return; // keep an open menu open
    const label = (c) => (c.unit ? `${c.label} (${c.unit})` : c.label);
    sort.replaceChildren(option("", "axes order"), ...cols.map((c) => option(c.name, label(c))));
    fMetric.replaceChildren(option("", "filter by…"), ...cols.map((c) => option(c.name, label(c))));
    cols.forEach((c, i) => { sort.options[i + 1].title = c.title; fMetric.options[i + 1].title = c.title; });
  }

  function render() {
    const cols = model.get("metric_columns") || [];
    const metrics = model.get("metrics") || {};
    const cells = model.get("cells") || [];
    const have = Object.keys(metrics).length > 0;
    const unmeasured = cells.filter((c) => c.has_clip && !metrics[c.id]).length;
    const busy = Boolean(model.get("measuring"));
    measureBtn.hidden = !model.get("can_measure") || unmeasured === 0 || busy;
    measureBtn.disabled = false;
    measureBtn.textContent = have ? `Measure ${unmeasured} more` : `Measure ${unmeasured} clips`;
    measuring.textContent = model.get("measuring");
    fillMenus(cols);
    for (const node of [sortLabel, soundLabel, fMetric, fOp, fValue, shown]) node.hidden = !have;
    const by = model.get("sort_by") || "";
    sort.value = by;
    dir.hidden = !have || !by;
    dir.textContent = model.get("sort_descending") ? "↓ highest first" : "↑ lowest first";
    const f = model.get("metric_filter") || {};
    sound.value = f.sound || "all";
    fMetric.value = f.metric || "";
    fOp.value = f.op || ">=";
    if (document.activeElement !== fValue) fValue.value = typeof f.value === "number" ? String(f.value) : "";
    const passing = cells.filter((c) => passesFilter(model, c.id)).length;
    shown.textContent = filterActive(model) ? `${passing} of ${cells.length} shown` : "";
    bar.hidden = !have && measureBtn.hidden && !busy;
  }

  return { node: bar, render };
}
