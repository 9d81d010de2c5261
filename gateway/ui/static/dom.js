// Building DOM without HTML strings: every text goes through createTextNode/textContent, so a stored
// string such as "<script>" always renders as text. (innerHTML and friends are not used anywhere; the
// page's Content-Security-Policy requires Trusted Types, which would refuse them anyway.)

const SVG_NS = "http://www.w3.org/2000/svg";

function fill(node, attrs, children) {
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (name === "dataset") Object.assign(node.dataset, value);
    else node.setAttribute(name, value === true ? "" : String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

/** h("td", {class: "x"}, "text", otherNode): an HTML element. */
export function h(tag, attrs, ...children) {
  return fill(document.createElement(tag), attrs, children);
}

/** svg("rect", {x: 0, ...}): an SVG element. */
export function svg(tag, attrs, ...children) {
  return fill(document.createElementNS(SVG_NS, tag), attrs, children);
}

/** Replace an element's children. */
export function replace(node, ...children) {
  node.replaceChildren();
  return fill(node, null, children);
}

export function $(id) {
  return document.getElementById(id);
}
