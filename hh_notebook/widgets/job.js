// Job widget front end (anywidget). One view of one HappyHorse job.
//
// Everything the user typed (prompt, negative prompt) and everything a provider said
// (errors) is put into the page with textContent, never innerHTML.
// The clip never travels as a synced trait: when the view is on screen and the job has
// succeeded, the view asks the kernel for it (model.send) and receives the bytes as binary
// buffers, played from a Blob URL that the cleanup revokes.

const ACTIVE = new Set(["validating", "submitting", "queued", "running", "downloading"]);
const STATUS_WORDS = {
  validating: "Checking the request",
  submitting: "Submitting",
  queued: "Queued",
  running: "Generating",
  downloading: "Downloading the clip",
  succeeded: "Done",
  failed: "Failed",
  expired: "Expired",
  unknown: "Submit outcome unknown",
  dry_run: "Dry run: nothing submitted",
  cancelled: "No longer tracked",
};

function formatSeconds(s) {
  if (s === null || s === undefined || !isFinite(s)) return "–";
  s = Math.max(0, Math.round(s));
  const m = Math.floor(s / 60);
  const r = s % 60;
  return m > 0 ? `${m}m ${String(r).padStart(2, "0")}s` : `${r}s`;
}

function formatBytes(n) {
  if (!n) return "";
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(0)} KB`;
  return `${(n / (1024 * 1024)).toFixed(1)} MB`;
}

let viewCounter = 0;

function render({ model, el }) {
  const viewId = `v${Date.now().toString(36)}${(viewCounter++).toString(36)}`;
  const root = h("div", "hh-job");
  root.dataset.viewId = viewId;
  el.appendChild(root);

  // Header: mode, provider/model, estimated cost.
  const header = h("div", "hh-job-header");
  const modeBadge = h("span", "hh-badge hh-mode");
  const providerLabel = h("span", "hh-provider");
  const estimateLabel = h("span", "hh-estimate");
  const cacheBadge = h("span", "hh-badge hh-cache", "paid before: from cache");
  header.append(modeBadge, providerLabel, estimateLabel, cacheBadge);

  // What was asked.
  const promptBox = h("div", "hh-prompt");
  const negativeBox = h("div", "hh-negative");
  const params = h("div", "hh-params");
  const warnings = h("ul", "hh-warnings");

  // Status + progress.
  const statusRow = h("div", "hh-status-row");
  const statusLabel = h("span", "hh-status");
  const bar = h("div", "hh-progress");
  bar.setAttribute("role", "progressbar");
  bar.setAttribute("aria-valuemin", "0");
  bar.setAttribute("aria-valuemax", "100");
  const barFill = h("div", "hh-progress-fill");
  bar.appendChild(barFill);
  const timing = h("span", "hh-timing");
  statusRow.append(statusLabel, bar, timing);

  // Problems and the actions that answer them.
  const messageBox = h("div", "hh-message");
  const actions = h("div", "hh-actions");
  const retryButton = h("button", "hh-button hh-retry", "Retry");
  retryButton.type = "button";
  const reconcileButton = h("button", "hh-button hh-reconcile", "Reconcile with provider");
  reconcileButton.type = "button";
  actions.append(retryButton, reconcileButton);

  // The clip.
  const playerBox = h("div", "hh-player");
  const video = document.createElement("video");
  video.className = "hh-video";
  video.controls = true;
  video.loop = true;
  video.playsInline = true;
  video.preload = "auto";
  const playerNote = h("div", "hh-player-note");
  playerBox.append(video, playerNote);

  // Result facts.
  const facts = h("div", "hh-facts");
  const seedFact = h("span", "hh-fact hh-seed");
  const jobIdFact = h("span", "hh-fact hh-jobid");
  const jobIdText = h("code", "hh-jobid-text");
  const copyButton = h("button", "hh-button hh-copy", "Copy");
  copyButton.type = "button";
  copyButton.title = "Copy the provider's job id";
  jobIdFact.append(h("span", "hh-fact-label", "provider job id "), jobIdText, copyButton);
  const costFact = h("span", "hh-fact hh-cost");
  const download = h("a", "hh-download", "Download");
  facts.append(seedFact, jobIdFact, costFact, download);

  root.append(header, promptBox, negativeBox, params, warnings, statusRow, messageBox, actions,
    playerBox, facts);

  // ---- state -------------------------------------------------------------------------
  let clipUrl = null;
  let posterUrl = null;
  let requested = null; // request id in flight
  const parts = { chunks: null, got: 0 }; // chunks of the clip being received
  let posterBlob = null;
  let visible = false;
  let elapsedBase = 0;
  let elapsedAt = performance.now();

  function revoke() {
    if (clipUrl) URL.revokeObjectURL(clipUrl);
    if (posterUrl) URL.revokeObjectURL(posterUrl);
    clipUrl = null;
    posterUrl = null;
  }

  function renderHeader() {
    const mode = model.get("mode") || "";
    modeBadge.textContent = mode.toUpperCase();
    modeBadge.title = { t2v: "text to video", i2v: "image to video", r2v: "reference to video" }[mode] || "";
    const provider = model.get("provider") || "";
    const modelName = model.get("model") || "";
    providerLabel.textContent = modelName ? `${provider} · HappyHorse ${modelName}` : provider;
    const estimate = model.get("estimate") || "";
    estimateLabel.textContent = estimate ? `estimate ${estimate}` : "";
    cacheBadge.style.display = model.get("from_cache") ? "" : "none";
  }

  function renderRequest() {
    const prompt = model.get("prompt") || "";
    promptBox.textContent = prompt;
    promptBox.style.display = prompt ? "" : "none";
    const negative = model.get("negative_prompt") || "";
    negativeBox.textContent = negative ? `avoid: ${negative}` : "";
    negativeBox.style.display = negative ? "" : "none";
    params.replaceChildren();
    const p = model.get("params") || {};
    for (const [key, value] of Object.entries(p)) {
      if (value === null || value === undefined || value === "") continue;
      const item = h("span", "hh-param");
      item.append(h("span", "hh-param-key", key), h("span", "hh-param-value",
        typeof value === "object" ? JSON.stringify(value) : value));
      params.append(item);
    }
    warnings.replaceChildren();
    for (const w of model.get("warnings") || []) warnings.append(h("li", null, w));
    warnings.style.display = warnings.childElementCount ? "" : "none";
  }

  function currentElapsed() {
    const status = model.get("status");
    if (!ACTIVE.has(status)) return elapsedBase;
    return elapsedBase + (performance.now() - elapsedAt) / 1000;
  }

  function renderTiming() {
    const status = model.get("status");
    const elapsed = currentElapsed();
    const eta = model.get("eta");
    let text = `elapsed ${formatSeconds(elapsed)}`;
    if (ACTIVE.has(status) && eta !== null && eta !== undefined) {
      const left = Math.max(0, eta - (elapsed - elapsedBase));
      text += ` · about ${formatSeconds(left)} left`;
    }
    timing.textContent = model.get("status") === "dry_run" ? "" : text;
    // Without a provider percentage the bar follows elapsed time against the typical
    // generation time, moving between kernel updates too.
    if (ACTIVE.has(status) && model.get("progress_source") === "estimate" && eta !== null && eta !== undefined) {
      const total = elapsedBase + eta;
      if (total > 0) setBar(Math.min(0.99, elapsed / total));
    }
  }

  function setBar(fraction) {
    const known = fraction !== null && fraction !== undefined;
    const pct = known ? Math.max(0, Math.min(100, fraction * 100)) : 0;
    bar.dataset.progress = known ? pct.toFixed(1) : "";
    bar.setAttribute("aria-valuenow", known ? pct.toFixed(0) : "");
    barFill.style.width = `${pct}%`;
  }

  function renderStatus() {
    const status = model.get("status") || "";
    root.dataset.status = status;
    statusLabel.textContent = STATUS_WORDS[status] || status;
    statusLabel.className = `hh-status hh-status-${status}`;
    let progress = model.get("progress");
    if (status === "succeeded") progress = 1;
    const known = progress !== null && progress !== undefined;
    setBar(known ? progress : null);
    bar.classList.toggle("hh-indeterminate", !known && ACTIVE.has(status));
    const source = model.get("progress_source");
    bar.title = source === "provider" ? "progress reported by the provider"
      : source === "estimate" ? "estimated from the typical generation time" : "";
    bar.style.display = status === "dry_run" ? "none" : "";
    renderTiming();

    const message = model.get("message") || "";
    messageBox.textContent = message;
    messageBox.style.display = message ? "" : "none";
    messageBox.className = `hh-message hh-message-${["failed", "expired", "unknown"].includes(status) ? "error" : "info"}`;
    retryButton.style.display = ["failed", "expired"].includes(status) ? "" : "none";
    reconcileButton.style.display = status === "unknown" ? "" : "none";
    actions.style.display = ["failed", "expired", "unknown"].includes(status) ? "" : "none";
    retryButton.disabled = false;
    reconcileButton.disabled = false;
  }

  function renderFacts() {
    const seed = model.get("seed");
    seedFact.textContent = seed === null || seed === undefined ? "" : `seed ${seed}`;
    seedFact.style.display = seedFact.textContent ? "" : "none";
    const pid = model.get("provider_job_id") || "";
    jobIdText.textContent = pid;
    jobIdFact.style.display = pid ? "" : "none";
    const cost = model.get("cost") || "";
    costFact.textContent = cost ? `cost ${cost}` : "";
    costFact.style.display = cost ? "" : "none";
  }

  function renderPlayer() {
    const status = model.get("status");
    const clip = model.get("clip") || {};
    const hasClip = status === "succeeded" && clip.name;
    playerBox.style.display = hasClip ? "" : "none";
    download.style.display = hasClip && clipUrl ? "" : "none";
    if (!hasClip) return;
    if (!clipUrl) {
      playerNote.textContent = requested ? "Loading the clip…" : "The clip loads when this widget is on screen.";
    } else {
      const dims = clip.width && clip.height ? `${clip.width}×${clip.height}` : "";
      const dur = clip.duration ? `${Number(clip.duration).toFixed(1)} s` : "";
      const audio = clip.has_audio ? "with audio" : "";
      playerNote.textContent = [dims, dur, audio, formatBytes(clip.size)].filter(Boolean).join(" · ");
    }
    maybeRequestClip();
  }

  function maybeRequestClip() {
    const clip = model.get("clip") || {};
    if (!visible || clipUrl || requested || model.get("status") !== "succeeded" || !clip.name) return;
    requested = `${viewId}-${Date.now().toString(36)}`;
    parts.chunks = null;
    posterBlob = null;
    playerNote.textContent = "Loading the clip…";
    model.send({ type: "request_clip", request_id: requested });
  }

  function onCustom(msg, buffers) {
    if (!msg || msg.request_id !== requested) return;
    if (msg.type === "clip_error") {
      requested = null;
      playerNote.textContent = msg.message || "The clip could not be loaded.";
      return;
    }
    if (msg.type !== "clip") return;
    const bufs = buffers || [];
    if (msg.poster_mime && bufs.length > 1) {
      posterBlob = new Blob([toArrayBuffer(bufs[1])], { type: msg.poster_mime });
    }
    const blob = addChunk(parts, msg, bufs[0]);
    if (!blob) return;
    revoke();
    clipUrl = URL.createObjectURL(blob);
    if (posterBlob) {
      posterUrl = URL.createObjectURL(posterBlob);
      video.poster = posterUrl;
    }
    video.src = clipUrl;
    download.href = clipUrl;
    download.download = msg.name || "clip.mp4";
    posterBlob = null;
    requested = null;
    renderPlayer();
  }

  const stopWatching = watchVisible(root, (onScreen) => {
    visible = onScreen;
    maybeRequestClip();
  });

  retryButton.addEventListener("click", () => {
    retryButton.disabled = true;
    model.send({ type: "retry" });
  });
  reconcileButton.addEventListener("click", () => {
    reconcileButton.disabled = true;
    model.send({ type: "reconcile" });
  });
  copyButton.addEventListener("click", async () => {
    const text = jobIdText.textContent || "";
    try {
      await navigator.clipboard.writeText(text);
      copyButton.textContent = "Copied";
    } catch {
      // Clipboard API refused (insecure context): select the text so Ctrl+C works.
      const range = document.createRange();
      range.selectNodeContents(jobIdText);
      const sel = window.getSelection();
      sel.removeAllRanges();
      sel.addRange(range);
      copyButton.textContent = "Selected";
    }
  });

  const onElapsed = () => {
    elapsedBase = model.get("elapsed") || 0;
    elapsedAt = performance.now();
    renderTiming();
  };
  const onStatus = () => { renderStatus(); renderPlayer(); };
  const onClip = () => {
    // A new clip (e.g. after retry): drop the old one and fetch again when visible.
    revoke();
    video.removeAttribute("src");
    requested = null;
    renderPlayer();
  };
  const handlers = [
    ["change:mode change:provider change:model change:estimate change:from_cache", renderHeader],
    ["change:prompt change:negative_prompt change:params change:warnings", renderRequest],
    ["change:status change:progress change:progress_source change:message change:eta", onStatus],
    ["change:elapsed", onElapsed],
    ["change:seed change:provider_job_id change:cost", renderFacts],
    ["change:clip", onClip],
    ["msg:custom", onCustom],
  ];
  // One event name per call: Backbone (Jupyter) takes space-separated lists, but other
  // anywidget hosts (marimo) only match a single name.
  const each = (names, fn, method) => { for (const n of names.split(" ")) model[method](n, fn); };
  for (const [names, fn] of handlers) each(names, fn, "on");

  // Elapsed time moves on between kernel updates; stopped in the cleanup.
  const ticker = setInterval(() => { if (ACTIVE.has(model.get("status"))) renderTiming(); }, 500);

  onElapsed();
  renderHeader();
  renderRequest();
  renderStatus();
  renderFacts();
  renderPlayer();

  return () => {
    clearInterval(ticker);
    stopWatching();
    for (const [names, fn] of handlers) each(names, fn, "off");
    video.pause();
    video.removeAttribute("src");
    video.load();
    revoke();
  };
}

export default { render };
