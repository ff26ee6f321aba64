// Entry point: the API key field, hash routing between the search and collections views.

import { apiKey, setApiKey } from "./api.js";
import { initCollections, showCollections } from "./collections.js";
import { showError } from "./dom.js";
import { initSearch, loadCollectionChoices } from "./search.js";
import { closeViewer } from "./viewer.js";

const $ = (id) => document.getElementById(id);

function initKey() {
  const input = $("api-key");
  input.value = apiKey();
  const state = () => ($("key-state").textContent = apiKey() ? "key set" : "no key");
  state();
  $("key-form").addEventListener("submit", (e) => {
    e.preventDefault();
    setApiKey(input.value.trim());
    state();
    route();
  });
}

/** Show the view the location hash names: #/ (search), #/collections[/NAME]. */
function route() {
  const [, view = "", name] = location.hash.split("/");
  const collections = view === "collections";
  $("view-search").hidden = collections;
  $("view-collections").hidden = !collections;
  for (const link of document.querySelectorAll("nav a")) {
    link.classList.toggle("active", (link.dataset.view === "collections") === collections);
  }
  const loading = collections
    ? showCollections(name ? decodeURIComponent(name) : null)
    : loadCollectionChoices();
  loading.catch(showError);
}

initKey();
initSearch();
initCollections();
$("viewer-close").addEventListener("click", closeViewer);
window.addEventListener("hashchange", route);
route();
document.body.dataset.ready = "true";
