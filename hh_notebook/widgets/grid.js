// Comparison grid of a sweep (anywidget front end).
//
// Layout comes from the synced traits `axes`, `layout` (rows / columns / pages / inner axis
// indices) and `cells` (small dicts, no bytes). Each clip pane shows its status first; once
// the clip exists and the pane scrolls into view it asks the kernel for a poster, then for
// the clip, both sent back as binary buffers and shown from Blob URLs (revoked on cleanup).
// One transport bar drives every loaded video together. Clip metrics (grid_metrics.js, put in
// front of this file) add a badge row per pane and can rank the panes in one flat list. All
// user text goes in via textContent, never as HTML.

const SPEEDS = [0.25, 0.5, 1, 1.5, 2];
const FPS = 24;
const MAX_CLIP_REQUESTS = 4;
const VISIBLE_RATIO = 0.5;
const ROLE_NAMES = { rows: "Rows", columns: "Columns", pages: "Pages", inner: "In each cell" };

function formatTime(seconds) {
  if (!isFinite(seconds)) return "0.00";
  return seconds.toFixed(2);
}

function render({ model, el }) {
  const root = h("div", "hh-grid");
  el.appendChild(root);

  // ---------------------------------------------------------------- header
  const header = h("div", "hh-grid-header");
  const title = h("div", "hh-grid-title");
  const progress = h("div", "hh-grid-progress");
  const stopBtn = h("button", "hh-grid-stop", "Stop");
  stopBtn.title = "Submit no more cells (running jobs finish)";
  stopBtn.addEventListener("click", () => model.send({ type: "stop" }));
  header.append(title, progress, stopBtn);
  const fixedBox = h("dl", "hh-grid-fixed");
  const message = h("div", "hh-grid-message");

  // ---------------------------------------------------------------- layout controls
  const layoutBar = h("div", "hh-grid-layout");
  const roleSelects = {};
  for (const role of Object.keys(ROLE_NAMES)) {
    const label = h("label", "hh-grid-role");
    label.append(h("span", null, ROLE_NAMES[role]));
    const select = h("select");
    select.dataset.role = role;
    select.addEventListener("change", () => setRole(role, select.value));
    roleSelects[role] = select;
    label.append(select);
    layoutBar.append(label);
  }
  const swapBtn = h("button", "hh-grid-swap", "⇄ Swap rows/columns");
  swapBtn.addEventListener("click", () => {
    const layout = { ...model.get("layout") };
    [layout.rows, layout.columns] = [layout.columns, layout.rows];
    model.set("layout", layout);
    model.save_changes();
  });
  layoutBar.append(swapBtn);
  const pageTabs = h("div", "hh-grid-pages");

  // ---------------------------------------------------------------- transport
  const transport = h("div", "hh-grid-transport");
  const playBtn = h("button", "hh-grid-play", "▶ Play all");
  const backBtn = h("button", "hh-grid-step-back", "◂ frame");
  backBtn.title = "One frame back (all)";
  const fwdBtn = h("button", "hh-grid-step-fwd", "frame ▸");
  fwdBtn.title = "One frame forward (all)";
  const scrub = h("input", "hh-grid-scrub");
  scrub.type = "range";
  scrub.min = "0";
  scrub.max = "1000";
  scrub.value = "0";
  scrub.title = "Scrub all clips";
  const timeLabel = h("span", "hh-grid-time", "0.00 s");
  const loopLabel = h("label", "hh-grid-loop");
  const loopBox = h("input");
  loopBox.type = "checkbox";
  loopBox.checked = true;
  loopLabel.append(loopBox, h("span", null, "Loop"));
  const speed = h("select", "hh-grid-speed");
  for (const s of SPEEDS) {
    const opt = h("option", null, `${s}×`);
    opt.value = String(s);
    if (s === 1) opt.selected = true;
    speed.append(opt);
  }
  transport.append(playBtn, backBtn, fwdBtn, scrub, timeLabel, loopLabel, speed);

  const table = h("div", "hh-grid-table");
  const metricsBar = createMetricsBar(model);
  root.append(header, fixedBox, message, layoutBar, metricsBar.node, pageTabs, transport, table);
  const rankingPanel = h("details", "hh-grid-ranking");
  root.append(rankingPanel);

  // ---------------------------------------------------------------- larger view
  const overlay = h("div", "hh-grid-overlay");
  overlay.hidden = true;
  const overlayBox = h("div", "hh-grid-overlay-box");
  const overlayTitle = h("div", "hh-grid-overlay-title");
  const overlayVideo = h("video", "hh-grid-overlay-video");
  overlayVideo.controls = true;
  overlayVideo.playsInline = true;
  const overlayClose = h("button", "hh-grid-overlay-close", "✕");
  overlayBox.append(overlayClose, overlayTitle, overlayVideo);
  overlay.append(overlayBox);
  root.append(overlay);
  function closeOverlay() {
    overlayVideo.pause();
    overlayVideo.removeAttribute("src");
    overlayVideo.load();
    overlay.hidden = true;
  }
  overlayClose.addEventListener("click", closeOverlay);
  overlay.addEventListener("click", (e) => { if (e.target === overlay) closeOverlay(); });
  root.addEventListener("keydown", (e) => { if (e.key === "Escape" && !overlay.hidden) closeOverlay(); });

  // ---------------------------------------------------------------- state
  const panes = new Map(); // cell id -> pane record
  const urls = new Set();
  let playing = false;
  let soloId = null;
  const clipQueue = [];
  let clipsInFlight = 0;
  let postersInFlight = 0;

  function paneOf(id) {
    let pane = panes.get(id);
    if (pane) return pane;
    const node = h("div", "hh-grid-pane");
    node.dataset.cellId = id;
    const side = h("div", "hh-grid-side");
    const status = h("div", "hh-grid-status");
    const bar = h("div", "hh-grid-bar");
    const barFill = h("div", "hh-grid-bar-fill");
    bar.append(barFill);
    const badges = h("div", "hh-grid-badges");
    const media = h("div", "hh-grid-media");
    const tools = h("div", "hh-grid-tools");
    const muteBtn = h("button", "hh-grid-mute", "♪ off");
    muteBtn.title = "Mute / unmute this clip";
    const soloBtn = h("button", "hh-grid-solo", "S");
    soloBtn.title = "Solo: hear only this clip";
    const bigBtn = h("button", "hh-grid-enlarge", "⤢");
    bigBtn.title = "Larger view";
    const rating = h("span", "hh-grid-rating");
    const note = h("input", "hh-grid-note");
    note.type = "text";
    note.placeholder = "note";
    tools.append(muteBtn, soloBtn, bigBtn, rating);
    node.append(side, status, badges, bar, media, tools, note);
    pane = {
      id, node, side, status, badges, bar, barFill, media, muteBtn, soloBtn, bigBtn, rating, note,
      cell: null, posterUrl: null, clipUrl: null, video: null, poster: null,
      // Without IntersectionObserver (very old hosts) every pane counts as visible.
      posterAsked: false, clipAsked: false, visible: !observer, near: !observer,
      chunks: null, got: 0, muted: true,
    };
    muteBtn.addEventListener("click", () => { soloId = null; setMuted(pane, !pane.muted); });
    soloBtn.addEventListener("click", () => solo(pane));
    bigBtn.addEventListener("click", () => enlarge(pane));
    media.addEventListener("click", () => enlarge(pane));
    note.addEventListener("change", () => sendRating(pane, pane.cell ? pane.cell.rating : null, note.value));
    panes.set(id, pane);
    if (observer) observer.observe(node);
    return pane;
  }

  function updatePane(pane, cell) {
    pane.cell = cell;
    let text = cell.status;
    if (cell.status === "running" && typeof cell.progress === "number") {
      text += ` ${Math.round(cell.progress * 100)}%`;
    }
    if (cell.from_cache) text += " · from journal ($0)";
    else if (cell.cost) text += ` · ${cell.cost}`;
    if (cell.error) text += ` · ${cell.error}`;
    pane.status.textContent = text;
    pane.status.title = text;
    pane.node.dataset.status = cell.status;
    const frac = cell.status === "succeeded" ? 1 : (typeof cell.progress === "number" ? cell.progress : 0);
    pane.barFill.style.width = `${Math.max(0, Math.min(1, frac)) * 100}%`;
    pane.bar.hidden = cell.status === "succeeded";
    renderRating(pane);
    renderBadges(model, pane);
    if (document.activeElement !== pane.note) pane.note.value = cell.note || "";
    pane.note.disabled = !cell.job_id;
    maybeLoad(pane);
  }

  function renderRating(pane) {
    const cell = pane.cell;
    pane.rating.replaceChildren();
    const scale = model.get("rating_scale");
    const values = scale === "thumbs" ? [[1, "👍"], [-1, "👎"]] : [1, 2, 3, 4, 5].map((v) => [v, "★"]);
    for (const [value, glyph] of values) {
      const btn = h("button", "hh-grid-rate", glyph);
      btn.dataset.value = String(value);
      btn.title = scale === "thumbs" ? (value > 0 ? "good" : "bad") : `${value} of 5`;
      const on = cell.rating !== null && cell.rating !== undefined &&
        (scale === "thumbs" ? cell.rating === value : cell.rating >= value);
      if (on) btn.classList.add("hh-on");
      btn.disabled = !cell.job_id;
      btn.addEventListener("click", () => {
        const next = cell.rating === value ? null : value;
        sendRating(pane, next, pane.note.value);
      });
      pane.rating.append(btn);
    }
  }

  function sendRating(pane, rating, note) {
    if (!pane.cell) return;
    model.send({ type: "rate", id: pane.id, rating, note });
  }

  // ---------------------------------------------------------------- loading
  function maybeLoad(pane) {
    const cell = pane.cell;
    if (!cell || !cell.has_clip || !pane.near) return;
    if (!pane.posterAsked) {
      pane.posterAsked = true;
      postersInFlight += 1;
      model.send({ type: "poster", id: pane.id });
    }
    if (!pane.clipAsked && pane.visible) {
      pane.clipAsked = true;
      clipQueue.push(pane);
      pumpClips();
    }
  }

  function pumpClips() {
    // Posters first: clips wait until every poster asked for so far has arrived, so that the
    // whole screen shows something before any clip bytes compete for the kernel.
    if (postersInFlight > 0) return;
    while (clipsInFlight < MAX_CLIP_REQUESTS && clipQueue.length) {
      const pane = clipQueue.shift();
      if (!pane.visible) { pane.clipAsked = false; continue; }
      clipsInFlight += 1;
      pane.inFlight = true;
      model.send({ type: "clip", id: pane.id });
    }
  }

  function clipDone(pane) {
    if (pane.inFlight) { pane.inFlight = false; clipsInFlight -= 1; }
    pumpClips();
  }

  function onCustom(msg, buffers) {
    if (!msg || !msg.id) return;
    const pane = panes.get(msg.id);
    if (!pane) return;
    const bufs = (buffers || []).map(toArrayBuffer);
    if (msg.type === "poster" || msg.type === "poster_error") {
      postersInFlight = Math.max(0, postersInFlight - 1);
      pumpClips();
    }
    if (msg.type === "poster" && bufs.length) {
      const url = URL.createObjectURL(new Blob([bufs[0]], { type: msg.mime || "image/jpeg" }));
      urls.add(url);
      pane.posterUrl = url;
      if (pane.video) pane.video.poster = url;
      else {
        const img = h("img", "hh-grid-poster");
        img.alt = "";
        img.src = url;
        pane.poster = img;
        pane.media.replaceChildren(img);
      }
    } else if (msg.type === "clip") {
      const blob = addChunk(pane, msg, bufs[0]);
      if (!blob) return;
      const url = URL.createObjectURL(blob);
      urls.add(url);
      pane.clipUrl = url;
      attachVideo(pane, url);
      clipDone(pane);
    } else if (msg.type === "clip_error") {
      pane.clipAsked = false;
      clipDone(pane);
    }
  }

  function attachVideo(pane, url) {
    const video = h("video", "hh-grid-video");
    video.muted = pane.muted;
    video.loop = loopBox.checked;
    video.playsInline = true;
    video.preload = "auto";
    video.playbackRate = Number(speed.value);
    if (pane.posterUrl) video.poster = pane.posterUrl;
    video.src = url;
    pane.video = video;
    pane.media.replaceChildren(video);
    video.addEventListener("loadedmetadata", () => {
      const lead = leader();
      if (lead && lead !== video && isFinite(lead.currentTime)) {
        video.currentTime = Math.min(lead.currentTime, video.duration || lead.currentTime);
      }
      if (playing) video.play().catch(() => {});
    });
    video.addEventListener("timeupdate", () => { if (video === leader()) showTime(video); });
    video.addEventListener("ended", () => { if (!loopBox.checked && allEnded()) setPlaying(false); });
  }

  // ---------------------------------------------------------------- transport
  function videos() {
    const out = [];
    for (const pane of panes.values()) {
      if (pane.video && pane.node.isConnected && !pane.node.hidden) out.push(pane.video);
    }
    return out;
  }

  function leader() {
    const vs = videos();
    return vs.length ? vs[0] : null;
  }

  function maxDuration() {
    let d = 0;
    for (const v of videos()) if (isFinite(v.duration)) d = Math.max(d, v.duration);
    return d;
  }

  function allEnded() {
    return videos().every((v) => v.ended);
  }

  function showTime(video) {
    timeLabel.textContent = `${formatTime(video.currentTime)} s`;
    const d = maxDuration();
    if (d > 0 && document.activeElement !== scrub) scrub.value = String(Math.round((video.currentTime / d) * 1000));
  }

  function setPlaying(on) {
    playing = on;
    playBtn.textContent = on ? "⏸ Pause all" : "▶ Play all";
    root.dataset.playing = on ? "1" : "0";
  }

  function playAll() {
    setPlaying(true);
    const lead = leader();
    const t = lead ? lead.currentTime : 0;
    for (const v of videos()) {
      if (v.ended || (isFinite(v.duration) && t >= v.duration)) v.currentTime = 0;
      else if (Math.abs(v.currentTime - t) > 0.05 && isFinite(v.duration)) v.currentTime = Math.min(t, v.duration);
      v.play().catch(() => {});
    }
  }

  function pauseAll() {
    setPlaying(false);
    for (const v of videos()) v.pause();
  }

  function seekAll(seconds) {
    for (const v of videos()) {
      const d = isFinite(v.duration) ? v.duration : seconds;
      v.currentTime = Math.max(0, Math.min(seconds, d));
    }
    timeLabel.textContent = `${formatTime(seconds)} s`;
  }

  function step(frames) {
    pauseAll();
    const lead = leader();
    if (!lead) return;
    seekAll(lead.currentTime + frames / FPS);
  }

  playBtn.addEventListener("click", () => (playing ? pauseAll() : playAll()));
  backBtn.addEventListener("click", () => step(-1));
  fwdBtn.addEventListener("click", () => step(1));
  scrub.addEventListener("input", () => seekAll((Number(scrub.value) / 1000) * maxDuration()));
  loopBox.addEventListener("change", () => { for (const v of videos()) v.loop = loopBox.checked; });
  speed.addEventListener("change", () => { for (const v of videos()) v.playbackRate = Number(speed.value); });

  function setMuted(pane, muted) {
    pane.muted = muted;
    if (pane.video) pane.video.muted = muted;
    pane.muteBtn.textContent = muted ? "♪ off" : "♪ on";
    pane.node.classList.toggle("hh-audible", !muted);
    pane.soloBtn.classList.toggle("hh-on", soloId === pane.id);
  }

  function solo(pane) {
    soloId = soloId === pane.id ? null : pane.id;
    for (const other of panes.values()) setMuted(other, soloId === null ? true : other.id !== soloId);
  }

  function enlarge(pane) {
    if (!pane.clipUrl) return;
    overlayTitle.textContent = describe(pane.cell);
    overlayVideo.src = pane.clipUrl;
    overlayVideo.muted = pane.muted;
    overlayVideo.loop = loopBox.checked;
    overlayVideo.playbackRate = Number(speed.value);
    if (pane.video) overlayVideo.currentTime = pane.video.currentTime;
    overlay.hidden = false;
    overlayClose.focus();
    if (playing) overlayVideo.play().catch(() => {});
  }

  function describe(cell) {
    if (!cell) return "";
    const parts = Object.entries(cell.labels || {}).map(([k, v]) => `${k}: ${v}`);
    if (cell.source && panesHaveSources()) parts.push(cell.source);
    return parts.join(" · ");
  }

  function panesHaveSources() {
    const axes = model.get("axes") || [];
    return axes.length && axes[axes.length - 1].name === "sweep";
  }

  // ---------------------------------------------------------------- layout
  function setRole(role, value) {
    const layout = { ...model.get("layout") };
    const index = value === "" ? null : Number(value);
    // The axis leaves its old role; the role's old axis takes the freed place.
    const oldRole = Object.keys(layout).find((r) => layout[r] === index);
    const displaced = layout[role];
    layout[role] = index;
    if (oldRole && oldRole !== role) layout[oldRole] = displaced === undefined ? null : displaced;
    model.set("layout", layout);
    model.set("page", 0);
    model.save_changes();
  }

  function renderControls() {
    const axes = model.get("axes") || [];
    const layout = model.get("layout") || {};
    for (const [role, select] of Object.entries(roleSelects)) {
      select.replaceChildren();
      const none = h("option", null, "—");
      none.value = "";
      select.append(none);
      axes.forEach((axis, i) => {
        const opt = h("option", null, axis.name);
        opt.value = String(i);
        if (layout[role] === i) opt.selected = true;
        select.append(opt);
      });
      if (layout[role] === null || layout[role] === undefined) none.selected = true;
    }
    layoutBar.hidden = axes.length < 2;
    pageTabs.replaceChildren();
    const pageAxis = layout.pages;
    if (pageAxis !== null && pageAxis !== undefined && axes[pageAxis]) {
      pageTabs.append(h("span", "hh-grid-pages-name", `${axes[pageAxis].name}:`));
      axes[pageAxis].labels.forEach((label, i) => {
        const tab = h("button", "hh-grid-page", label);
        if (i === model.get("page")) tab.classList.add("hh-on");
        tab.addEventListener("click", () => { model.set("page", i); model.save_changes(); });
        pageTabs.append(tab);
      });
    }
  }

  function renderFixed() {
    fixedBox.replaceChildren();
    for (const [k, v] of Object.entries(model.get("fixed") || {})) {
      const item = h("div", "hh-grid-fixed-item");
      item.append(h("dt", null, k), h("dd", null, v));
      fixedBox.append(item);
    }
    title.textContent = model.get("title");
  }

  function labelsOf(axisIndex) {
    const axes = model.get("axes") || [];
    return axisIndex === null || axisIndex === undefined || !axes[axisIndex] ? [null] : axes[axisIndex].labels;
  }

  // Ranked by a metric: one flat list of every page's panes, best first, each labelled with
  // its rank and axis values; the axes' layout comes back when sorting is turned off.
  function renderRanked() {
    const cells = model.get("cells") || [];
    table.replaceChildren();
    table.style.gridTemplateColumns = "repeat(auto-fill, minmax(220px, 1fr))";
    const seen = new Set();
    rankCells(model, cells).forEach((cell, rank) => {
      const slot = h("div", "hh-grid-cell hh-grid-ranked");
      slot.dataset.rank = String(rank + 1);
      const pane = paneOf(cell.id);
      pane.node.hidden = false;
      pane.side.textContent = `#${rank + 1} · ${describe(cell)}`;
      slot.append(pane.node);
      table.append(slot);
      updatePane(pane, cell);
      seen.add(cell.id);
    });
    for (const [id, pane] of panes) {
      if (!seen.has(id) && pane.video) pane.video.pause();
    }
  }

  function renderTable() {
    const ranked = Boolean(model.get("sort_by"));
    pageTabs.hidden = ranked;
    if (ranked) return renderRanked();
    const axes = model.get("axes") || [];
    const layout = model.get("layout") || {};
    const cells = model.get("cells") || [];
    const rowLabels = labelsOf(layout.rows);
    const colLabels = labelsOf(layout.columns);
    const page = model.get("page") || 0;
    const hasRows = layout.rows !== null && layout.rows !== undefined;
    const hasCols = layout.columns !== null && layout.columns !== undefined;
    table.replaceChildren();
    table.style.gridTemplateColumns = `${hasRows ? "minmax(60px, max-content) " : ""}repeat(${colLabels.length}, minmax(160px, 1fr))`;
    // Slots: "row|col" -> slot element (inner panes in order).
    const slots = new Map();
    if (hasCols) {
      if (hasRows) table.append(h("div", "hh-grid-corner", `${axes[layout.rows].name} \\ ${axes[layout.columns].name}`));
      colLabels.forEach((label) => table.append(h("div", "hh-grid-colhead", label)));
    }
    rowLabels.forEach((rowLabel, r) => {
      if (hasRows) table.append(h("div", "hh-grid-rowhead", rowLabel));
      colLabels.forEach((_c, c) => {
        const slot = h("div", "hh-grid-cell");
        slot.dataset.row = String(r);
        slot.dataset.col = String(c);
        table.append(slot);
        slots.set(`${r}|${c}`, slot);
      });
    });
    const seen = new Set();
    const inner = layout.inner;
    const ordered = [...cells].sort((a, b) => {
      const ia = inner === null || inner === undefined ? 0 : a.coords[inner];
      const ib = inner === null || inner === undefined ? 0 : b.coords[inner];
      return ia - ib;
    });
    for (const cell of ordered) {
      const coord = (axis) => (axis === null || axis === undefined ? 0 : cell.coords[axis]);
      if (coord(layout.pages) !== page) continue;
      const slot = slots.get(`${coord(layout.rows)}|${coord(layout.columns)}`);
      if (!slot) continue;
      const pane = paneOf(cell.id);
      if (inner !== null && inner !== undefined && axes[inner]) {
        pane.side.textContent = axes[inner].labels[cell.coords[inner]];
      } else {
        pane.side.textContent = "";
      }
      slot.append(pane.node);
      slot.classList.toggle("hh-multi", slot.children.length > 1);
      pane.node.hidden = !passesFilter(model, cell.id);
      updatePane(pane, cell);
      seen.add(cell.id);
    }
    for (const [id, pane] of panes) {
      if ((!seen.has(id) || pane.node.hidden) && pane.video) pane.video.pause();
    }
  }

  function updateCells() {
    // Status changes only: update panes in place, keep the layout (and the players) as is.
    const cells = model.get("cells") || [];
    for (const cell of cells) {
      const pane = panes.get(cell.id);
      if (pane && pane.node.isConnected) updatePane(pane, cell);
    }
  }

  function renderHeader() {
    progress.textContent = model.get("progress_text");
    stopBtn.hidden = !model.get("running");
    message.textContent = model.get("message");
    message.hidden = !model.get("message");
  }

  const observer = typeof IntersectionObserver === "function"
    ? new IntersectionObserver((entries) => {
      for (const entry of entries) {
        const pane = panes.get(entry.target.dataset.cellId);
        if (!pane) continue;
        // A sliver at the edge gets its poster; a clip only once half of it shows.
        pane.near = entry.isIntersecting;
        pane.visible = entry.isIntersecting && entry.intersectionRatio >= VISIBLE_RATIO;
        if (pane.near) maybeLoad(pane);
      }
      pumpClips();
    }, { rootMargin: "0px", threshold: [0, VISIBLE_RATIO] })
    : null;

  // ---------------------------------------------------------------- blind ranking (hh.arena)
  // The `ranking` trait: title, summary, rows and the win matrix as SVG text, which the
  // kernel escapes and this view parses as XML (no HTML parsing of kernel text).
  function renderRanking() {
    const data = model.get("ranking") || {};
    rankingPanel.hidden = !data.rows;
    rankingPanel.replaceChildren();
    if (!data.rows) return;
    const summary = h("summary", "hh-grid-ranking-summary");
    const refresh = h("button", "hh-grid-ranking-refresh", "↻");
    refresh.title = "Fit the votes again";
    refresh.addEventListener("click", (e) => { e.preventDefault(); model.send({ type: "ranking" }); });
    summary.append(h("b", null, data.title), h("span", null, ` · ${data.summary}`), refresh);
    const list = h("table", "hh-grid-ranking-table");
    const head = h("tr");
    for (const name of ["#", "item", "score", "95 % interval", "compared"]) head.append(h("th", null, name));
    list.append(head);
    const score = (v) => (v === null || v === undefined ? "–" : String(Math.round(v)));
    for (const r of data.rows) {
      const tr = h("tr");
      tr.append(h("td", null, r.rank), h("td", "hh-grid-ranking-label", r.label), h("td", null, score(r.score)),
        h("td", null, `${score(r.low)}–${score(r.high)}`), h("td", null, r.comparisons));
      list.append(tr);
    }
    const svg = new DOMParser().parseFromString(data.svg || "", "image/svg+xml").documentElement;
    const body = h("div", "hh-grid-ranking-body");
    body.append(list);
    if (svg && svg.nodeName === "svg") body.append(document.importNode(svg, true));
    rankingPanel.append(summary, body);
    rankingPanel.open = true;
  }

  const onLayout = () => { renderControls(); renderTable(); };
  const onCells = () => { updateCells(); metricsBar.render(); };
  // New figures: re-rank or re-filter when that depends on them, else only the badges change.
  const onMetrics = () => {
    metricsBar.render();
    if (model.get("sort_by") || filterActive(model)) renderTable();
    else for (const pane of panes.values()) renderBadges(model, pane);
  };
  const onOrder = () => { metricsBar.render(); renderTable(); };
  const onMetricsBar = () => metricsBar.render();
  const METRIC_EVENTS = [["change:metrics", onMetrics], ["change:sort_by", onOrder],
    ["change:sort_descending", onOrder], ["change:metric_filter", onOrder],
    ["change:measuring", onMetricsBar], ["change:can_measure", onMetricsBar],
    ["change:metric_columns", onMetricsBar]];
  for (const [name, fn] of METRIC_EVENTS) model.on(name, fn);
  const onHeader = () => renderHeader();
  const onFixed = () => renderFixed();
  model.on("change:layout", onLayout);
  model.on("change:page", onLayout);
  model.on("change:axes", onLayout);
  model.on("change:cells", onCells);
  model.on("change:rating_scale", onCells);
  model.on("change:progress_text", onHeader);
  model.on("change:running", onHeader);
  model.on("change:message", onHeader);
  model.on("change:fixed", onFixed);
  model.on("change:title", onFixed);
  model.on("msg:custom", onCustom);
  model.on("change:ranking", renderRanking);
  renderRanking();
  renderFixed();
  renderHeader();
  setPlaying(false);
  metricsBar.render();
  onLayout();

  return () => {
    model.off("change:layout", onLayout);
    model.off("change:page", onLayout);
    model.off("change:axes", onLayout);
    model.off("change:cells", onCells);
    model.off("change:rating_scale", onCells);
    model.off("change:progress_text", onHeader);
    model.off("change:running", onHeader);
    model.off("change:message", onHeader);
    model.off("change:fixed", onFixed);
    model.off("change:title", onFixed);
    model.off("msg:custom", onCustom);
    model.off("change:ranking", renderRanking);
    for (const [name, fn] of METRIC_EVENTS) model.off(name, fn);
    if (observer) observer.disconnect();
    for (const v of videos()) v.pause();
    for (const url of urls) URL.revokeObjectURL(url);
    urls.clear();
  };
}

export default { render };
