// Shared by every hh_notebook widget. A widget's module is this file followed by its own
// (the package has no bundler: see assets.py), so these are plain module-scope functions.

function h(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined && text !== null) node.textContent = String(text);
  return node;
}

function toArrayBuffer(buf) {
  // Buffers arrive as DataView (Jupyter) or ArrayBuffer / typed arrays (other hosts).
  if (buf instanceof ArrayBuffer) return buf;
  if (ArrayBuffer.isView(buf)) return buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength);
  return buf;
}

// A clip travels as `count` numbered chunks, one comm message each (no websocket frame grows
// with the clip). `holder` keeps what arrived ({chunks, got}); the whole clip comes back as a
// Blob once every chunk is in, null before. A chunk sent twice counts once.
function addChunk(holder, msg, buffer) {
  if (!holder.chunks || holder.chunks.length !== msg.count) {
    holder.chunks = new Array(msg.count);
    holder.got = 0;
  }
  if (holder.chunks[msg.index] === undefined) holder.got += 1;
  holder.chunks[msg.index] = toArrayBuffer(buffer);
  if (holder.got < msg.count) return null;
  const blob = new Blob(holder.chunks, { type: msg.mime || "video/mp4" });
  holder.chunks = null;
  holder.got = 0;
  return blob;
}

// Calls `onChange(visible)` when `node` scrolls into or out of view (clips load only on
// screen); a host without IntersectionObserver counts as always visible. Returns a function
// that stops watching.
function watchVisible(node, onChange) {
  if (typeof IntersectionObserver !== "function") {
    queueMicrotask(() => onChange(true));
    return () => {};
  }
  const observer = new IntersectionObserver((entries) => onChange(entries.some((e) => e.isIntersecting)));
  observer.observe(node);
  return () => observer.disconnect();
}
