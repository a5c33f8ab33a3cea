// Storyboard strip front end (anywidget): one card per shot, then the stitched scene.
//
// User text (prompts) and provider errors go into the page with textContent, never
// innerHTML. Thumbnails and clips never travel as synced traits: once the strip is on
// screen the view asks the kernel for them (model.send) and gets the bytes as binary
// buffers, shown from Blob URLs that the cleanup revokes.

const ACTIVE = new Set(["waiting", "queued", "submitting", "running"]);
const WORDS = {
  pending: "Not started", waiting: "Waiting for the shot before", queued: "Queued",
  submitting: "Submitting", running: "Generating", succeeded: "Done", failed: "Failed",
  expired: "Expired", unknown: "Submit outcome unknown", blocked: "Blocked",
};
const SCENE_WORDS = {
  waiting: "The scene is stitched once every shot has a clip.",
  stitching: "Stitching the shots…", failed: "Stitching failed", ready: "",
};

let viewCounter = 0;

function render({ model, el }) {
  const viewId = `sb${Date.now().toString(36)}${(viewCounter++).toString(36)}`;
  const root = h("div", "hh-storyboard");
  el.appendChild(root);
  const header = h("div", "hh-sb-header");
  const title = h("span", "hh-sb-title");
  const estimate = h("span", "hh-sb-estimate");
  header.append(title, estimate);
  const strip = h("div", "hh-sb-strip");
  const confirmBox = h("div", "hh-sb-confirm");
  const confirmText = h("span", "hh-sb-confirm-text");
  const confirmYes = h("button", "hh-sb-button hh-sb-confirm-yes", "Regenerate");
  const confirmNo = h("button", "hh-sb-button hh-sb-confirm-no", "Cancel");
  confirmYes.type = confirmNo.type = "button";
  confirmBox.append(confirmText, confirmYes, confirmNo);
  const messageBox = h("div", "hh-sb-message");
  const sceneBox = h("div", "hh-sb-scene");
  const video = document.createElement("video");
  video.className = "hh-sb-video";
  video.controls = true;
  video.playsInline = true;
  video.preload = "auto";
  const sceneNote = h("div", "hh-sb-scene-note");
  const download = h("a", "hh-sb-download", "Download the scene");
  sceneBox.append(video, sceneNote, download);
  root.append(header, strip, confirmBox, messageBox, sceneBox);

  const thumbs = new Map(); // shot index -> {key, url}
  const asked = new Set(); // "index:key" thumbnails requested
  let sceneUrl = null;
  let sceneKey = null;
  let pending = null; // {requestId, key, chunks, got}
  let visible = false;

  function card(shot) {
    const node = h("div", "hh-sb-shot");
    node.dataset.index = shot.index;
    node.dataset.status = shot.status;
    const head = h("div", "hh-sb-shot-head");
    head.append(h("span", "hh-sb-number", `Shot ${shot.number}`),
      h("span", "hh-sb-link", shot.from ? `↳ from shot ${shot.from}` : "starts afresh"));
    const frame = h("div", "hh-sb-thumb");
    const entry = thumbs.get(shot.index);
    if (entry && entry.key === shot.clip_key && shot.has_clip) {
      const img = h("img");
      img.src = entry.url;
      img.alt = `shot ${shot.number}`;
      frame.append(img);
    } else {
      frame.append(h("span", "hh-sb-thumb-note", shot.has_clip ? "…" : ""));
    }
    const status = h("div", `hh-sb-status hh-sb-status-${shot.status}`, WORDS[shot.status] || shot.status);
    const bar = h("div", "hh-sb-progress");
    const fill = h("div", "hh-sb-progress-fill");
    const fraction = shot.status === "succeeded" ? 1 : shot.progress;
    fill.style.width = fraction === null || fraction === undefined ? "0%" : `${Math.round(fraction * 100)}%`;
    bar.classList.toggle("hh-sb-indeterminate", ACTIVE.has(shot.status) && (fraction === null || fraction === undefined));
    bar.dataset.progress = fraction === null || fraction === undefined ? "" : (fraction * 100).toFixed(1);
    bar.append(fill);
    const facts = [`${shot.duration} s`];
    if (shot.seed !== null && shot.seed !== undefined) facts.push(`seed ${shot.seed}`);
    if (shot.take > 1) facts.push(`take ${shot.take}`);
    if (shot.cost) facts.push(shot.cost);
    const factLine = h("div", "hh-sb-facts", facts.join(" · "));
    const prompt = h("div", "hh-sb-prompt", shot.prompt);
    prompt.title = shot.prompt;
    node.append(head, frame, status, bar, factLine, prompt);
    if (shot.error) node.append(h("div", "hh-sb-error", shot.error));
    const regen = h("button", "hh-sb-button hh-sb-regenerate", "Regenerate");
    regen.type = "button";
    regen.disabled = model.get("running") || ACTIVE.has(shot.status);
    regen.addEventListener("click", () => {
      regen.disabled = true;
      model.send({ type: "regenerate_preview", index: shot.index });
    });
    node.append(regen);
    return node;
  }

  function renderShots() {
    const shots = model.get("shots") || [];
    strip.replaceChildren(...shots.map(card));
    root.dataset.done = String(shots.filter((s) => s.status === "succeeded").length);
    askThumbs();
  }

  function askThumbs() {
    if (!visible) return;
    for (const shot of model.get("shots") || []) {
      const entry = thumbs.get(shot.index);
      const id = `${shot.index}:${shot.clip_key}`;
      if (!shot.has_clip || (entry && entry.key === shot.clip_key) || asked.has(id)) continue;
      asked.add(id);
      model.send({ type: "thumb", index: shot.index });
    }
  }

  function renderHeader() {
    title.textContent = model.get("title") || "";
    const est = model.get("estimate") || "";
    estimate.textContent = est;
  }

  function renderConfirm() {
    const pendingRegen = model.get("confirm") || {};
    const shots = pendingRegen.shots || [];
    confirmBox.style.display = shots.length ? "" : "none";
    const list = shots.length > 1 ? `shots ${shots.join(", ")}` : `shot ${shots[0]}`;
    const over = pendingRegen.over_budget ? ` This is ${pendingRegen.over_budget}.` : "";
    confirmText.textContent = shots.length
      ? `Regenerate ${list} (the shot and those that continue from it) for about `
        + `${pendingRegen.cost}? Earlier shots are kept.${over}`
      : "";
    confirmYes.disabled = false;
  }

  function renderMessage() {
    const text = model.get("message") || "";
    messageBox.textContent = text;
    messageBox.style.display = text ? "" : "none";
  }

  function revokeScene() {
    if (sceneUrl) URL.revokeObjectURL(sceneUrl);
    sceneUrl = null;
  }

  function renderScene() {
    const scene = model.get("scene") || {};
    root.dataset.scene = scene.status || "";
    const ready = scene.status === "ready" && scene.name;
    if (!ready || scene.key !== sceneKey) {
      if (sceneUrl && (!ready || scene.key !== sceneKey)) {
        video.removeAttribute("src");
        revokeScene();
        sceneKey = null;
      }
    }
    video.style.display = ready && sceneUrl ? "" : "none";
    download.style.display = ready && sceneUrl ? "" : "none";
    if (!ready) {
      const words = SCENE_WORDS[scene.status] ?? "";
      sceneNote.textContent = scene.error ? `${words}: ${scene.error}` : words;
      return;
    }
    if (sceneUrl) {
      const dropped = scene.dropped ? ` · ${scene.dropped} repeated boundary frame${scene.dropped > 1 ? "s" : ""} dropped` : "";
      sceneNote.textContent = `The scene: ${Number(scene.duration).toFixed(2)} s, ${scene.frames} frames, ${scene.mode === "copy" ? "stream-copied" : "re-encoded"}${dropped}`;
    } else {
      sceneNote.textContent = pending ? "Loading the scene…" : "The scene loads when this strip is on screen.";
      askScene();
    }
  }

  function askScene() {
    const scene = model.get("scene") || {};
    if (!visible || pending || scene.status !== "ready" || sceneUrl) return;
    pending = { requestId: `${viewId}-${Date.now().toString(36)}`, key: scene.key, chunks: null, got: 0 };
    model.send({ type: "clip", id: "scene", request_id: pending.requestId });
  }

  function onCustom(msg, buffers) {
    if (!msg) return;
    const bufs = (buffers || []).map(toArrayBuffer);
    if (msg.type === "thumb" && bufs.length) {
      const old = thumbs.get(msg.index);
      if (old) URL.revokeObjectURL(old.url);
      thumbs.set(msg.index, { key: msg.key, url: URL.createObjectURL(new Blob([bufs[0]], { type: msg.mime })) });
      renderShots();
      return;
    }
    if (!pending || msg.request_id !== pending.requestId) return;
    if (msg.type === "clip_error") {
      pending = null;
      sceneNote.textContent = msg.message || "The scene could not be loaded.";
      return;
    }
    if (msg.type !== "clip") return;
    const blob = addChunk(pending, msg, bufs[0]);
    if (!blob) return;
    revokeScene();
    sceneUrl = URL.createObjectURL(blob);
    sceneKey = pending.key;
    video.src = sceneUrl;
    download.href = sceneUrl;
    download.download = msg.name || "scene.mp4";
    pending = null;
    renderScene();
  }

  const stopWatching = watchVisible(root, (onScreen) => {
    visible = onScreen;
    askThumbs();
    askScene();
  });

  confirmYes.addEventListener("click", () => {
    confirmYes.disabled = true;
    model.send({ type: "regenerate", index: (model.get("confirm") || {}).index });
  });
  confirmNo.addEventListener("click", () => model.send({ type: "cancel" }));

  const handlers = [
    ["change:shots change:running", renderShots],
    ["change:title change:estimate", renderHeader],
    ["change:confirm", renderConfirm],
    ["change:message", renderMessage],
    ["change:scene", renderScene],
    ["msg:custom", onCustom],
  ];
  for (const [name, fn] of handlers) model.on(name, fn);
  renderHeader();
  renderShots();
  renderConfirm();
  renderMessage();
  renderScene();

  return () => {
    stopWatching();
    for (const [name, fn] of handlers) model.off(name, fn);
    video.pause();
    video.removeAttribute("src");
    video.load();
    revokeScene();
    for (const entry of thumbs.values()) URL.revokeObjectURL(entry.url);
  };
}

export default { render };
