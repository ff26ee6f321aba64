// Small DOM helpers and the error banner.

/** Return a new element with attributes and children (strings become text, never HTML). */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value != null && value !== false) node.setAttribute(name, value === true ? "" : value);
  }
  node.append(...children.filter((c) => c != null));
  return node;
}

/** Show an error in the banner: the API's message and code, or the exception's text. */
export function showError(exc) {
  if (exc && exc.name === "AbortError") return;
  const text = typeof exc?.describe === "function" ? exc.describe() : String(exc?.message || exc);
  console.error(exc);
  const close = el("button", { type: "button", "aria-label": "dismiss" }, "x");
  const item = el("div", { class: "error" }, el("span", {}, text), close);
  if (exc?.code) item.dataset.code = exc.code;
  close.addEventListener("click", () => item.remove());
  document.getElementById("errors").append(item);
}

export function clearErrors() {
  document.getElementById("errors").replaceChildren();
}

export function formatBytes(size) {
  const units = ["B", "KiB", "MiB", "GiB"];
  let value = size;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${unit ? value.toFixed(1) : value} ${units[unit]}`;
}
