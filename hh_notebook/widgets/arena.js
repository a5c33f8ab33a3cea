// Blind pairwise arena (anywidget front end).
//
// The page knows the pair on screen only by an opaque token (`pair`). When the view is on
// screen it asks the kernel for the two clips, which arrive as binary buffers (in chunks)
// and play from Blob URLs, revoked when the pair changes and on cleanup. Nothing that names
// a clip reaches the page before a vote: `revealed` (the pair just voted on) and the labels
// of `standings` are filled by the kernel only when the user turns them on. All text goes
// in via textContent, never as HTML.

const KEYS = {
  ArrowLeft: "left", ArrowRight: "right", ArrowDown: "tie", t: "tie", T: "tie",
  s: "skip", S: "skip", " ": "skip",
};
const OUTCOME_WORDS = { left: "left was better", right: "right was better", tie: "a tie", skip: "skipped" };
const AUDIO_ORDER = ["off", "left", "right"];
// The right clip follows the left one; it is moved when it drifts further than this (s).
const SYNC_TOLERANCE = 0.15;

function button(className, text, title) {
  const node = h("button", className, text);
  node.type = "button";
  if (title) node.title = title;
  // Clicking keeps the keyboard focus on the arena, so that the keys keep voting.
  node.addEventListener("mousedown", (e) => e.preventDefault());
  return node;
}

function scoreText(value) {
  return value === null || value === undefined ? "–" : String(Math.round(value));
}

let viewCounter = 0;

function render({ model, el }) {
  const viewId = `a${Date.now().toString(36)}${(viewCounter++).toString(36)}`;
  const root = h("div", "hh-arena");
  root.tabIndex = 0;
  root.setAttribute("role", "group");
  root.setAttribute("aria-label", "Blind vote: ← left, → right, ↓ or t tie, s or space skip");
  el.appendChild(root);

  // ---------------------------------------------------------------- layout
  const header = h("div", "hh-arena-header");
  const title = h("div", "hh-arena-title");
  const progress = h("div", "hh-arena-progress");
  header.append(title, progress);

  const stage = h("div", "hh-arena-stage");
  const panes = {};
  for (const side of ["left", "right"]) {
    const pane = h("div", `hh-arena-pane hh-arena-${side}`);
    pane.dataset.side = side;
    const tag = h("div", "hh-arena-side", side === "left" ? "← Left" : "Right →");
    const video = h("video", "hh-arena-video");
    video.muted = true;
    video.loop = true;
    video.playsInline = true;
    video.preload = "auto";
    const note = h("div", "hh-arena-note");
    pane.append(tag, video, note);
    stage.append(pane);
    panes[side] = { pane, video, note, url: null, chunks: null, got: 0, ready: false };
  }

  const transport = h("div", "hh-arena-transport");
  const playBtn = button("hh-arena-play", "Pause", "Play or pause both clips (p)");
  const scrub = h("input", "hh-arena-scrub");
  scrub.type = "range";
  scrub.min = "0";
  scrub.max = "1000";
  scrub.value = "0";
  scrub.title = "Move both clips";
  const timeLabel = h("span", "hh-arena-time", "0.0 s");
  const soundBtn = button("hh-arena-sound", "", "Sound from one side at a time (a)");
  const largeBtn = button("hh-arena-large-toggle", "⤢ Larger", "Larger view (f; Esc to leave)");
  transport.append(playBtn, scrub, timeLabel, soundBtn, largeBtn);

  const voteBar = h("div", "hh-arena-votes");
  const voteButtons = {
    left: button("hh-arena-vote", "← Left is better", "Left is better (←)"),
    tie: button("hh-arena-vote", "↓ Tie", "As good as each other (↓ or t)"),
    right: button("hh-arena-vote", "Right is better →", "Right is better (→)"),
    skip: button("hh-arena-vote", "Skip (s)", "Cannot judge this pair (s or space)"),
  };
  for (const [outcome, node] of Object.entries(voteButtons)) {
    node.dataset.outcome = outcome;
    node.addEventListener("click", () => vote(outcome));
    voteBar.append(node);
  }
  const help = h("div", "hh-arena-help",
    "Click here, then vote with ← → ↓ (tie) or s (skip); p plays or pauses, a moves the sound, f enlarges.");

  const options = h("div", "hh-arena-options");
  const revealBox = checkbox("reveal", "Reveal what was compared after each vote");
  const rankingBox = checkbox("show_ranking", "Name the items in the standings");
  options.append(revealBox.label, rankingBox.label);

  const revealed = h("div", "hh-arena-revealed");
  const standings = h("div", "hh-arena-standings");
  const message = h("div", "hh-arena-message");
  root.append(header, stage, transport, voteBar, help, options, revealed, standings, message);

  function checkbox(trait, text) {
    const label = h("label", "hh-arena-option");
    const input = h("input");
    input.type = "checkbox";
    input.dataset.trait = trait;
    input.addEventListener("change", () => {
      model.set(trait, input.checked);
      model.save_changes();
      root.focus();
    });
    label.append(input, h("span", null, text));
    return { label, input };
  }

  // ---------------------------------------------------------------- state
  let token = "";
  let request = null;
  let voting = false;
  let playing = true;
  let audio = "off";
  let visible = false;

  function bothReady() {
    return panes.left.ready && panes.right.ready;
  }

  function renderVoting() {
    const ready = Boolean(token) && bothReady() && !voting;
    for (const [outcome, node] of Object.entries(voteButtons)) {
      node.disabled = !token || voting || (outcome !== "skip" && !ready);
    }
    root.dataset.ready = ready ? "1" : "0";
  }

  // ---------------------------------------------------------------- clips
  function resetPane(p) {
    p.video.pause();
    p.video.removeAttribute("src");
    p.video.load();
    if (p.url) URL.revokeObjectURL(p.url);
    p.url = null;
    p.chunks = null;
    p.got = 0;
    p.ready = false;
    p.note.textContent = "";
  }

  function onPair() {
    token = model.get("pair") || "";
    request = null;
    voting = false;
    for (const p of Object.values(panes)) resetPane(p);
    root.dataset.pair = token ? "1" : "0";
    renderVoting();
    maybeRequest();
  }

  function maybeRequest() {
    if (!token || request || !visible || panes.left.url || panes.right.url) return;
    request = `${viewId}-${Date.now().toString(36)}`;
    for (const p of Object.values(panes)) p.note.textContent = "Loading…";
    model.send({ type: "clips", pair: token, request });
  }

  function onCustom(msg, buffers) {
    if (!msg || msg.pair !== token || msg.request !== request) return;
    const p = panes[msg.side];
    if (msg.type === "clip_error") {
      for (const q of msg.side ? [p] : Object.values(panes)) q.note.textContent = msg.message || "The clip could not be loaded.";
      return;
    }
    if (msg.type !== "clip" || !p) return;
    const blob = addChunk(p, msg, (buffers || [])[0]);
    if (!blob) return;
    p.url = URL.createObjectURL(blob);
    p.video.src = p.url;
  }

  for (const [side, p] of Object.entries(panes)) {
    p.video.addEventListener("loadeddata", () => {
      p.ready = true;
      p.note.textContent = "";
      applyAudio();
      if (bothReady()) startTogether();
      renderVoting();
    });
    p.video.addEventListener("error", () => {
      if (p.url) p.note.textContent = "This clip does not play here.";
    });
    p.video.addEventListener("click", () => togglePlay());
    if (side === "left") {
      p.video.addEventListener("timeupdate", () => { follow(); showTime(); });
    }
  }

  // ---------------------------------------------------------------- playback together
  function videos() {
    return [panes.left.video, panes.right.video].filter((v) => v.src);
  }

  function startTogether() {
    for (const v of videos()) v.currentTime = 0;
    if (playing) playAll();
  }

  function playAll() {
    playing = true;
    playBtn.textContent = "Pause";
    for (const v of videos()) v.play().catch(() => {});
  }

  function pauseAll() {
    playing = false;
    playBtn.textContent = "▶ Play";
    for (const v of videos()) v.pause();
  }

  function togglePlay() {
    if (playing) pauseAll(); else playAll();
  }

  function follow() {
    const lead = panes.left.video;
    const other = panes.right.video;
    if (!other.src || other.seeking || !isFinite(other.duration)) return;
    if (lead.currentTime > other.duration) return; // the shorter clip waits for the loop
    if (Math.abs(other.currentTime - lead.currentTime) > SYNC_TOLERANCE) other.currentTime = lead.currentTime;
    if (playing && other.paused && !lead.paused) other.play().catch(() => {});
  }

  function longest() {
    let d = 0;
    for (const v of videos()) if (isFinite(v.duration)) d = Math.max(d, v.duration);
    return d;
  }

  function showTime() {
    const lead = panes.left.video;
    timeLabel.textContent = `${lead.currentTime.toFixed(1)} s`;
    const d = longest();
    if (d > 0 && document.activeElement !== scrub) scrub.value = String(Math.round((lead.currentTime / d) * 1000));
  }

  scrub.addEventListener("input", () => {
    const t = (Number(scrub.value) / 1000) * longest();
    for (const v of videos()) v.currentTime = Math.min(t, isFinite(v.duration) ? v.duration : t);
    timeLabel.textContent = `${t.toFixed(1)} s`;
  });
  playBtn.addEventListener("click", () => togglePlay());

  function applyAudio() {
    for (const [side, p] of Object.entries(panes)) {
      p.video.muted = audio !== side;
      p.pane.classList.toggle("hh-audible", audio === side);
    }
    soundBtn.textContent = audio === "off" ? "♪ Sound: off" : `♪ Sound: ${audio}`;
    soundBtn.dataset.audio = audio;
  }

  function cycleAudio() {
    audio = AUDIO_ORDER[(AUDIO_ORDER.indexOf(audio) + 1) % AUDIO_ORDER.length];
    applyAudio();
    // Unmuting can stop a clip the browser only let play muted: start it again.
    if (playing) playAll();
  }
  soundBtn.addEventListener("click", () => cycleAudio());

  // The larger view is a modal <dialog>: the browser's top layer, above the notebook whatever
  // its containers' layout (a fixed position inside JupyterLab stays inside the notebook).
  // The arena moves into it and back in one step, so the clips keep playing.
  const dialog = h("dialog", "hh-arena-dialog");
  el.appendChild(dialog);

  function setLarge(on) {
    if (on === root.classList.contains("hh-arena-large")) return;
    root.classList.toggle("hh-arena-large", on);
    largeBtn.textContent = on ? "✕ Smaller" : "⤢ Larger";
    if (on && typeof dialog.showModal === "function") {
      dialog.appendChild(root);
      dialog.showModal();
    } else if (!on && dialog.contains(root)) {
      el.insertBefore(root, dialog);
      dialog.close();
    }
    root.focus();
  }
  largeBtn.addEventListener("click", () => setLarge(!root.classList.contains("hh-arena-large")));
  dialog.addEventListener("cancel", (e) => { e.preventDefault(); setLarge(false); });

  // ---------------------------------------------------------------- votes
  function vote(outcome) {
    if (!token || voting) return;
    if (outcome !== "skip" && !bothReady()) {
      message.textContent = "Wait until both clips play, or skip.";
      return;
    }
    voting = true;
    renderVoting();
    model.send({ type: "vote", pair: token, outcome });
  }

  function onKey(e) {
    if (e.ctrlKey || e.metaKey || e.altKey) return; // the host's shortcuts
    if (e.target === scrub && (e.key === "ArrowLeft" || e.key === "ArrowRight")) return;
    let handled = true;
    if (KEYS[e.key]) vote(KEYS[e.key]);
    else if (e.key === "a" || e.key === "A") cycleAudio();
    else if (e.key === "p" || e.key === "P") togglePlay();
    else if (e.key === "f" || e.key === "F") setLarge(!root.classList.contains("hh-arena-large"));
    else if (e.key === "Escape" && root.classList.contains("hh-arena-large")) setLarge(false);
    else handled = false;
    if (handled) {
      // The notebook would otherwise take the keys (arrows move between cells).
      e.preventDefault();
      e.stopPropagation();
    }
  }
  root.addEventListener("keydown", onKey);

  // ---------------------------------------------------------------- text
  function renderHeader() {
    title.textContent = model.get("title") || "";
    const p = model.get("progress") || {};
    const parts = [`${p.votes || 0} vote${p.votes === 1 ? "" : "s"}`];
    if (p.skipped) parts[0] += ` (${p.skipped} skipped)`;
    parts.push(`${p.voters || 0} voter${p.voters === 1 ? "" : "s"}`);
    parts.push(`yours: ${p.mine || 0}`);
    progress.textContent = parts.join(" · ");
  }

  function renderOptions() {
    revealBox.input.checked = Boolean(model.get("reveal"));
    rankingBox.input.checked = Boolean(model.get("show_ranking"));
  }

  function renderRevealed() {
    const r = model.get("revealed") || {};
    revealed.replaceChildren();
    if (!r.left || !r.right) { revealed.hidden = true; return; }
    revealed.hidden = false;
    revealed.append(h("div", "hh-arena-revealed-title", `Last pair: ${OUTCOME_WORDS[r.outcome] || r.outcome}`));
    for (const side of ["left", "right"]) {
      const line = h("div", "hh-arena-revealed-side");
      line.dataset.side = side;
      const text = Object.entries(r[side]).map(([k, v]) => `${k}: ${v}`).join(" · ");
      line.append(h("b", null, side === "left" ? "Left: " : "Right: "), h("span", null, text));
      revealed.append(line);
    }
  }

  function renderStandings() {
    const rows = model.get("standings") || [];
    standings.replaceChildren();
    const votes = (model.get("progress") || {}).votes || 0;
    if (!votes) { standings.append(h("div", "hh-arena-empty", "No votes yet.")); return; }
    const named = rows.some((r) => r.label !== undefined);
    const table = h("table", "hh-arena-table");
    const head = h("tr");
    for (const name of ["#", ...(named ? ["item"] : []), "score", "95 % interval", "compared"]) head.append(h("th", null, name));
    table.append(head);
    for (const r of rows) {
      const tr = h("tr");
      tr.append(h("td", "hh-num", r.rank));
      if (named) tr.append(h("td", "hh-arena-label", r.label));
      tr.append(h("td", "hh-num hh-arena-score", scoreText(r.score)));
      tr.append(h("td", "hh-num", `${scoreText(r.low)}–${scoreText(r.high)}`));
      tr.append(h("td", "hh-num", r.comparisons));
      table.append(tr);
    }
    standings.append(table);
  }

  function renderMessage() {
    message.textContent = model.get("message") || "";
    if (model.get("message")) { voting = false; renderVoting(); }
  }

  // ---------------------------------------------------------------- wiring
  const stopWatching = watchVisible(root, (onScreen) => {
    visible = onScreen;
    maybeRequest();
  });

  const onStandings = () => { renderHeader(); renderStandings(); };
  const handlers = [
    ["change:pair", onPair],
    ["change:title change:progress", onStandings],
    ["change:standings", renderStandings],
    ["change:reveal change:show_ranking", renderOptions],
    ["change:revealed", renderRevealed],
    ["change:message", renderMessage],
    ["msg:custom", onCustom],
  ];
  for (const [name, fn] of handlers) model.on(name, fn);

  applyAudio();
  renderHeader();
  renderOptions();
  renderRevealed();
  renderStandings();
  renderMessage();
  onPair();

  return () => {
    for (const [name, fn] of handlers) model.off(name, fn);
    stopWatching();
    root.removeEventListener("keydown", onKey);
    if (dialog.open) dialog.close();
    for (const p of Object.values(panes)) resetPane(p);
  };
}

export default { render };
