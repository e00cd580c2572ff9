// A small template render: an HTML fragment from data, with escaping, a loop and a conditional.
function main(input) {
  const esc = (s) =>
    String(s).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
  let html = "<h1>Hello, " + esc(input.name) + "</h1>\n<ul>\n";
  for (const item of input.items) {
    html += '  <li class="' + (item.done ? "done" : "todo") + '">' + esc(item.title) + "</li>\n";
  }
  html += "</ul>\n";
  if (input.items.length === 0) html += "<p>Nothing to do.</p>\n";
  return { html, bytes: html.length };
}
