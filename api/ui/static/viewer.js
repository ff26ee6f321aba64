// What shows a hit or a citation: a page render with the cited region, a picture, or a
// player at the cited moment.

import { getDocument, mediaSrc } from "./api.js";
import { el, showError } from "./dom.js";

export function formatTime(seconds) {
  const m = Math.floor(seconds / 60);
  const s = (seconds - m * 60).toFixed(1).padStart(4, "0");
  return `${m}:${s}`;
}

/** Return the locator in words: page, section, time range. */
export function where(locator) {
  const parts = [];
  if (locator.page != null) parts.push(`page ${locator.page}`);
  if (locator.section) parts.push(locator.section);
  if (locator.start_s != null) {
    const end = locator.end_s != null ? `-${formatTime(locator.end_s)}` : "";
    parts.push(`time ${formatTime(locator.start_s)}${end}`);
  }
  return parts.join(", ");
}

/** The kind of view a target needs: "player", "page", "picture" or "text". */
export function viewKind(target) {
  const { locator = {}, media_url: url } = target;
  if (locator.start_s != null && url && url.includes("#t=")) return "player";
  if (locator.page != null && target.document_id) return "page";
  if (url || target.preview_url) return "picture";
  return "text";
}

function pageSegment(doc, page) {
  return (doc.segments || []).find((s) => s.modality === "page_image" && s.locator.page === page);
}

/**
 * Return a figure of the page ``locator.page`` of a PDF with ``locator.bbox`` outlined.
 *
 * Boxes are in PDF points. The page's render segment carries the page rectangle in points
 * too, so the box is placed as a share of the page and lands right whatever the render's
 * dpi (``page_render_dpi``, lowered for huge pages) and whatever size the image is shown at.
 */
export function pageFigure(target, { highlight = true } = {}) {
  const figure = el("div", { class: "page", "data-page": String(target.locator.page) });
  fillPage(figure, target, highlight).catch((exc) => {
    figure.append(el("p", { class: "muted" }, `page unavailable: ${exc.message}`));
  });
  return figure;
}

async function fillPage(figure, target, highlight) {
  const { locator } = target;
  const doc = await getDocument(target.document_id);
  const render = pageSegment(doc, locator.page);
  if (!render || !render.media_url) throw new Error(`no render of page ${locator.page}`);
  const img = el("img", { alt: `${doc.filename} page ${locator.page}`, class: "page-render" });
  img.src = await mediaSrc(render.media_url);
  figure.append(img);
  const box = locator.bbox;
  if (!highlight || !box || target.modality === "page_image") return;
  await img.decode().catch(() => undefined);
  // Page rectangle in points; without one assume the default 72 dpi (1 pt = 1 px).
  const [px0, py0, px1, py1] = render.locator.bbox || [0, 0, img.naturalWidth, img.naturalHeight];
  const share = (length, size) => `${((length / size) * 100).toFixed(3)}%`;
  const [w, h] = [px1 - px0, py1 - py0];
  const mark = el("div", { class: "bbox", "data-bbox": box.join(",") });
  Object.assign(mark.style, {
    left: share(box[0] - px0, w),
    top: share(box[1] - py0, h),
    width: share(box[2] - box[0], w),
    height: share(box[3] - box[1], h),
  });
  figure.append(mark);
}

/** Return an <audio> or <video> that starts at ``locator.start_s`` of ``target.media_url``. */
export function player(target, mediaType) {
  const tag = mediaType && mediaType.startsWith("video/") ? "video" : "audio";
  const media = el(tag, { controls: "", preload: "metadata", class: "player" });
  media.dataset.start = String(target.locator.start_s);
  if (target.preview_url && tag === "video") {
    mediaSrc(target.preview_url).then((src) => (media.poster = src), () => undefined);
  }
  mediaSrc(target.media_url).then(
    (src) => {
      // The #t=start,end fragment seeks and stops; set the time too for object URLs.
      media.addEventListener("loadedmetadata", () => seek(media, target.locator.start_s), {
        once: true,
      });
      media.src = src;
    },
    (exc) => showError(exc),
  );
  return media;
}

export function seek(media, seconds) {
  if (Math.abs(media.currentTime - seconds) > 0.05) media.currentTime = seconds;
}

/** Return the element that shows ``target`` (a hit, a source or a citation). */
export async function targetView(target) {
  const kind = viewKind(target);
  if (kind === "page") return pageFigure(target);
  if (kind === "player") {
    const doc = await getDocument(target.document_id);
    return player(target, doc.media_type);
  }
  if (kind === "picture") {
    const img = el("img", { class: "picture", alt: "" });
    img.src = await mediaSrc(target.media_url || target.preview_url);
    return img;
  }
  return el("blockquote", {}, target.text || target.quote || "");
}

/** Show ``target`` in the side viewer; a player already on the same recording seeks. */
export async function openViewer(target, title) {
  const viewer = document.getElementById("viewer");
  const body = document.getElementById("viewer-body");
  viewer.hidden = false;
  document.getElementById("viewer-title").textContent = title;
  document.getElementById("viewer-text").textContent = target.quote || target.text || "";
  viewer.dataset.kind = viewKind(target);
  const current = body.querySelector("audio, video");
  if (viewer.dataset.kind === "player" && current && current.dataset.url === target.media_url.split("#")[0]) {
    current.dataset.start = String(target.locator.start_s);
    seek(current, target.locator.start_s);
    return;
  }
  try {
    const view = await targetView(target);
    if (view.matches("audio, video")) view.dataset.url = target.media_url.split("#")[0];
    body.replaceChildren(view);
    viewer.scrollIntoView({ block: "nearest" });
  } catch (exc) {
    showError(exc);
  }
}

export function closeViewer() {
  document.getElementById("viewer").hidden = true;
  document.getElementById("viewer-body").replaceChildren();
}
