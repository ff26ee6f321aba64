// The search view: text, picture or sound queries, results grouped by modality, answers.

import { ApiError, getDocument, getJson, mediaSrc, stream } from "./api.js";
import { chooseCollection, rememberCollection } from "./choice.js";
import { clearErrors, el, showError } from "./dom.js";
import { closeViewer, openViewer, pageFigure, player, viewKind, where } from "./viewer.js";

const GROUPS = [
  ["text", "Text"],
  ["page_image", "Pages"],
  ["image", "Images"],
  ["audio", "Sounds"],
  ["video_frame", "Video frames"],
];
let pending = null; // the running search or answer, aborted by the next one

const $ = (id) => document.getElementById(id);

export function initSearch() {
  $("search-form").addEventListener("submit", (e) => {
    e.preventDefault();
    run(search);
  });
  $("ask-button").addEventListener("click", () => run(ask));
  $("search-file").addEventListener("change", () => {
    const file = $("search-file").files[0];
    $("search-file-name").textContent = file ? `${queryKind(file)}: ${file.name}` : "";
    $("search-clear-file").hidden = !file;
  });
  $("search-clear-file").addEventListener("click", () => {
    $("search-file").value = "";
    $("search-file").dispatchEvent(new Event("change"));
  });
  $("search-collection").addEventListener("change", (e) => rememberCollection(e.target.value));
}

/** Fill the collection picker, preselecting the user's choice or the one just ingested. */
export async function loadCollectionChoices() {
  const select = $("search-collection");
  const found = await getJson("/v1/collections");
  select.replaceChildren(
    ...found.map((c) => el("option", { value: c.name }, `${c.name} (${c.documents})`)),
  );
  select.value = chooseCollection(found);
}

function queryKind(file) {
  return file.type.startsWith("image/") ? "image" : "audio";
}

/** Return the request as JSON, or as multipart when a picture or sound goes with it. */
function request(body) {
  const file = $("search-file").files[0];
  if (!file) return { json: body };
  const form = new FormData();
  form.append("request", JSON.stringify(body));
  form.append(queryKind(file), file, file.name);
  return { form };
}

/** Forget what the previous query showed: its results, answer, viewer and notices. */
function clearPrevious() {
  closeViewer();
  $("answer").hidden = true;
  $("answer").classList.remove("abstained");
  $("answer-text").replaceChildren();
  $("answer-sources").replaceChildren();
  $("results").replaceChildren();
  showDegraded([]);
}

async function run(action) {
  if (pending) pending.abort();
  pending = new AbortController();
  clearErrors();
  clearPrevious();
  try {
    await action(pending.signal);
  } catch (exc) {
    showError(exc);
  }
}

async function search(signal) {
  const text = $("search-text").value.trim();
  const body = { collection: $("search-collection").value, k: 20, explain: true };
  body.query = text ? { text } : {};
  $("results").replaceChildren(el("p", { class: "muted" }, "searching..."));
  const { json, form } = request(body);
  let out;
  try {
    out = await getJson("/v1/search", { method: "POST", json, form, signal });
  } catch (exc) {
    $("results").replaceChildren();
    throw exc;
  }
  showDegraded(out.degraded);
  renderResults(out.hits, whyNothing(body.query, out.degraded));
}

/** One line per channel left out (a disabled space names the setting that enables it). */
function showDegraded(degraded = []) {
  $("degraded").hidden = !degraded.length;
  $("degraded").replaceChildren(
    ...(degraded.length ? ["Degraded:", el("ul", {}, ...degraded.map((d) => el("li", {}, d)))] : []),
  );
}

/** Return why a query found nothing when the channel its picture or sound needs is off. */
function whyNothing(query, degraded = []) {
  const file = $("search-file").files[0];
  if (!file || query.text) return null;
  const kind = queryKind(file);
  const reason = degraded.find((d) => d.startsWith(`${kind}: `));
  return reason ? `No ${kind} search: ${reason.slice(kind.length + 2)}` : null;
}

function renderResults(hits, why = null) {
  const results = $("results");
  if (!hits.length) {
    const text = why || "No results.";
    results.replaceChildren(el("p", { class: why ? "notice" : "muted", id: "no-results" }, text));
    return;
  }
  results.replaceChildren();
  let rank = 0;
  const ranked = hits.map((hit) => ({ ...hit, rank: ++rank }));
  for (const [modality, label] of GROUPS) {
    const group = ranked.filter((h) => h.modality === modality);
    if (!group.length) continue;
    const section = el("section", { class: "group", "data-modality": modality });
    section.append(el("h3", {}, `${label} (${group.length})`));
    section.append(el("ol", { class: "hits" }, ...group.map(hitCard)));
    results.append(section);
  }
}

function hitCard(hit) {
  const title = el("span", { class: "filename" }, "");
  const open = el("button", { type: "button", class: "open" }, "Open");
  const head = el(
    "div",
    { class: "hit-head" },
    el("span", { class: "rank" }, `#${hit.rank}`),
    title,
    el("span", { class: "where" }, where(hit.locator)),
    el("span", { class: "score muted", title: channels(hit) }, hit.score.toFixed(4)),
    open,
  );
  const card = el("li", { class: "hit", "data-segment": hit.segment_id }, head);
  const label = () => `#${hit.rank} ${title.textContent} ${where(hit.locator)}`;
  open.addEventListener("click", () => openViewer(hit, label()));
  getDocument(hit.document_id).then(
    (doc) => {
      title.textContent = doc.filename;
      if (viewKind(hit) === "player") card.append(player(hit, doc.media_type));
    },
    () => undefined,
  );
  const kind = viewKind(hit);
  if (kind === "page") card.append(pageFigure(hit));
  else if (hit.preview_url && kind !== "player") {
    const thumb = el("img", { class: "thumb", alt: "", loading: "lazy" });
    mediaSrc(hit.preview_url).then((src) => (thumb.src = src), () => undefined);
    card.append(thumb);
  }
  if (hit.text) card.append(el("p", { class: "snippet" }, snippet(hit.text)));
  return card;
}

function channels(hit) {
  return Object.entries(hit.channels || {})
    .map(([name, rank]) => `${name} #${rank}`)
    .join(", ");
}

function snippet(text, limit = 320) {
  return text.length > limit ? `${text.slice(0, limit)}...` : text;
}

async function ask(signal) {
  const question = $("search-text").value.trim();
  const body = { collection: $("search-collection").value, question, stream: true };
  $("answer").hidden = false;
  $("answer-state").textContent = "thinking...";
  $("answer-text").replaceChildren();
  $("answer-sources").replaceChildren();
  let streamed = "";
  let final = null;
  const failed = (exc) => {
    $("answer-state").textContent = "failed";
    throw exc;
  };
  await stream("/v1/answer", { ...request(body), signal }, (name, data) => {
    if (name === "token") {
      streamed += data.text;
      $("answer-text").replaceChildren(...linkify(streamed, null));
    } else if (name === "answer") {
      final = data;
    } else if (name === "error") {
      throw new ApiError(0, data.error.code, data.error.message);
    }
  }).catch(failed);
  if (!final) failed(new ApiError(0, "stream_cut", "the answer stream ended without an answer"));
  renderAnswer(final);
}

function renderAnswer(answer) {
  const state = answer.abstained ? `no answer: ${answer.reason}` : `(${answer.backend})`;
  $("answer-state").textContent = state;
  $("answer").classList.toggle("abstained", answer.abstained);
  showDegraded(answer.degraded);
  $("answer-text").replaceChildren(...linkify(answer.answer, answer));
  $("answer-sources").replaceChildren(...answer.sources.map((s) => sourceItem(s, answer)));
}

/** Return the answer's text with each [n] as a button that opens what it cites. */
function linkify(text, answer) {
  const nodes = [];
  let last = 0;
  for (const match of text.matchAll(/\[(\d+)\]/g)) {
    nodes.push(text.slice(last, match.index));
    const n = Number(match[1]);
    const source = answer && answer.sources.find((s) => s.n === n);
    if (source) {
      const button = el("button", { type: "button", class: "cite", "data-n": String(n) }, `[${n}]`);
      button.addEventListener("click", () => openCitation(answer, n));
      nodes.push(button);
    } else {
      nodes.push(el("span", { class: "cite pending" }, match[0]));
    }
    last = match.index + match[0].length;
  }
  nodes.push(text.slice(last));
  return nodes;
}

function openCitation(answer, n) {
  const source = answer.sources.find((s) => s.n === n);
  const citation = answer.citations.find((c) => c.n === n) || {};
  const target = { ...source, ...citation, modality: source.modality };
  getDocument(source.document_id).then(
    (doc) => openViewer(target, `[${n}] ${doc.filename} ${source.where}`),
    showError,
  );
}

function sourceItem(source, answer) {
  const item = el(
    "li",
    { value: String(source.n), "data-n": String(source.n) },
    el("button", { type: "button", class: "cite" }, `[${source.n}]`),
    ` ${source.where} `,
    el("span", { class: "muted" }, snippet(source.text, 160)),
  );
  item.querySelector("button").addEventListener("click", () => openCitation(answer, source.n));
  return item;
}
