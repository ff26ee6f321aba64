// Which collection the search view starts on: the one the user last picked or uploaded
// into, unless documents reached another collection since (e.g. `mmrag ingest` ran).

const STORAGE = "mmrag.collection";

/** Remember ``name`` as the user's choice, stamped now. */
export function rememberCollection(name) {
  localStorage.setItem(STORAGE, JSON.stringify({ name, at: Date.now() }));
}

function remembered() {
  const raw = localStorage.getItem(STORAGE);
  if (!raw) return null;
  try {
    const found = JSON.parse(raw);
    if (found && typeof found.name === "string") return found;
  } catch {
    // an older UI stored the bare name
  }
  return { name: raw, at: 0 };
}

/** Return the name to preselect among ``collections`` (from GET /v1/collections). */
export function chooseCollection(collections) {
  const names = new Set(collections.map((c) => c.name));
  const stamped = collections
    .filter((c) => c.last_added_at)
    .map((c) => ({ name: c.name, at: Date.parse(c.last_added_at) }))
    .sort((a, b) => b.at - a.at);
  const newest = stamped[0];
  const choice = remembered();
  if (newest && (!choice || !names.has(choice.name) || newest.at > choice.at)) return newest.name;
  if (choice && names.has(choice.name)) return choice.name;
  return collections.length ? collections[0].name : "";
}
