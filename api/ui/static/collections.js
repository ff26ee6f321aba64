// The collections view: create and pick a collection, upload by drag and drop, follow jobs.

import { call, getJson } from "./api.js";
import { rememberCollection } from "./choice.js";
import { clearErrors, el, formatBytes, showError } from "./dom.js";

const POLL_MS = 500;
const $ = (id) => document.getElementById(id);
let current = null; // the collection shown

export function initCollections() {
  $("collection-form").addEventListener("submit", (e) => {
    e.preventDefault();
    createCollection($("collection-name").value.trim()).catch(showError);
  });
  const zone = $("drop-zone");
  for (const name of ["dragenter", "dragover"]) {
    zone.addEventListener(name, (e) => {
      e.preventDefault();
      zone.classList.add("over");
    });
  }
  zone.addEventListener("dragleave", () => zone.classList.remove("over"));
  zone.addEventListener("drop", (e) => {
    e.preventDefault();
    zone.classList.remove("over");
    upload([...e.dataTransfer.files]);
  });
  $("upload-input").addEventListener("change", (e) => {
    upload([...e.target.files]);
    e.target.value = "";
  });
  $("documents-refresh").addEventListener("click", () => loadDocuments().catch(showError));
}

function countOf(n, noun) {
  return `${n} ${noun}${n === 1 ? "" : "s"}`;
}

/** Fill the list of collections with their document counts, ``name`` marked current. */
async function listCollections(name) {
  const found = await getJson("/v1/collections");
  $("collection-list").replaceChildren(
    ...found.map((c) =>
      el(
        "li",
        { class: c.name === name ? "current" : null, "data-name": c.name },
        el("a", { href: `#/collections/${encodeURIComponent(c.name)}` }, c.name),
        el("span", { class: "muted count" }, ` ${countOf(c.documents, "document")}`),
      ),
    ),
  );
  return found;
}

/** Show the list of collections and, when ``name`` is given, that collection. */
export async function showCollections(name) {
  const found = await listCollections(name);
  current = name && found.some((c) => c.name === name) ? name : null;
  $("collection-detail").hidden = !current;
  if (name && !current) showError(new Error(`no collection named ${name}`));
  if (!current) return;
  $("collection-title").textContent = current;
  await loadDocuments();
}

async function createCollection(name) {
  clearErrors();
  await call("/v1/collections", { method: "POST", json: { name } });
  $("collection-name").value = "";
  location.hash = `#/collections/${encodeURIComponent(name)}`;
}

async function upload(files) {
  if (!files.length || !current) return;
  clearErrors();
  const form = new FormData();
  for (const file of files) form.append("files", file, file.name);
  const names = files.map((f) => f.name).join(", ");
  const row = jobRow(names);
  $("jobs").prepend(row.item);
  try {
    const out = await getJson(`/v1/collections/${encodeURIComponent(current)}/documents`, {
      method: "POST",
      form,
    });
    row.item.dataset.job = out.job_id;
    rememberCollection(current); // the search view starts on what was just uploaded
    await listCollections(current); // the new documents count from now on
    await follow(out.job_id, row, current);
  } catch (exc) {
    row.state.textContent = "upload failed";
    row.item.classList.add("failed");
    showError(exc);
  }
}

function jobRow(names) {
  const bar = el("progress", { max: "1", value: "0" });
  const state = el("span", { class: "job-state" }, "uploading...");
  const errors = el("ul", { class: "job-errors" });
  const item = el("li", { class: "job" }, el("strong", {}, names), bar, state, errors);
  return { item, bar, state, errors };
}

/** Poll the job until it is done, showing counts, a progress bar and per-file errors. */
async function follow(jobId, row, collection) {
  for (;;) {
    const job = await getJson(`/v1/jobs/${encodeURIComponent(jobId)}`);
    const finished = job.done + job.skipped + job.failed;
    row.bar.max = String(Math.max(job.total, 1));
    row.bar.value = String(finished);
    row.state.textContent =
      `${job.status}: ${job.done} indexed, ${job.skipped} skipped, ` +
      `${job.failed} failed of ${job.total}`;
    row.item.dataset.status = job.status;
    row.errors.replaceChildren(
      ...job.errors.map((e) => el("li", { class: "error-text" }, `${e.filename}: ${e.reason}`)),
    );
    if (job.status === "done") break;
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
  if (collection === current) await Promise.all([listCollections(current), loadDocuments()]);
}

async function loadDocuments() {
  if (!current) return;
  const page = await getJson(
    `/v1/collections/${encodeURIComponent(current)}/documents?limit=200`,
  );
  $("documents").replaceChildren(
    ...page.documents.map((d) =>
      el(
        "tr",
        { "data-status": d.status },
        el("td", {}, d.filename),
        el("td", {}, d.media_type || ""),
        statusCell(d),
        el("td", {}, formatBytes(d.size)),
      ),
    ),
  );
}

/** The status, and for a failed document its code and the reason in words. */
function statusCell(doc) {
  if (!doc.error_code) return el("td", {}, doc.status);
  const reason = doc.error ? el("div", { class: "reason" }, doc.error) : null;
  return el("td", {}, `${doc.status}: ${doc.error_code}`, reason);
}
