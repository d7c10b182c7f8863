// Small DOM helpers: every page builds its markup with these, so no HTML
// string is ever parsed (nothing from the API can become markup).

// el('a', {href: '#/x', class: 'c'}, 'text', child, ...). Attributes named
// on* are refused: handlers are attached with addEventListener.
export function el(tag, attributes = {}, ...children) {
  const svg = ['svg', 'rect', 'line', 'text', 'g', 'title', 'polyline'].includes(tag);
  const node = svg ? document.createElementNS('http://www.w3.org/2000/svg', tag) : document.createElement(tag);
  for (const [name, value] of Object.entries(attributes || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith('on')) throw new Error(`el: no ${name} attribute; use addEventListener`);
    node.setAttribute(name, value === true ? '' : String(value));
  }
  append(node, children);
  return node;
}

function append(node, children) {
  for (const child of children) {
    if (child === undefined || child === null || child === false) continue;
    if (Array.isArray(child)) append(node, child);
    else node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

// A table in a scrollable, focusable region (readable at phone width).
// columns: [{label, value: row => Node|string, numeric}]
export function table(caption, columns, rows, empty = 'Nothing to show.') {
  if (!rows.length) return el('p', { class: 'empty' }, empty);
  const head = el('tr', {}, columns.map((c) => el('th', { scope: 'col', class: c.numeric ? 'num' : null }, c.label)));
  const body = rows.map((row) => el('tr', {}, columns.map((c) => el('td', { class: c.numeric ? 'num' : null }, c.value(row)))));
  return el('div', { class: 'scroll', role: 'region', 'aria-label': caption, tabindex: '0' },
    el('table', {}, el('caption', {}, caption), el('thead', {}, head), el('tbody', {}, body)));
}

export function dl(pairs) {
  return el('dl', { class: 'facts' }, pairs.map(([term, value]) => [el('dt', {}, term), el('dd', {}, value)]));
}

export function time(iso) {
  if (!iso) return '—';
  return el('time', { datetime: iso }, iso.replace('T', ' ').replace('Z', ' UTC'));
}

export function age(seconds) {
  if (seconds === null || seconds === undefined) return '—';
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  return h > 0 ? `${h} h ${m} min` : `${m} min ${seconds % 60} s`;
}

export function number(value) {
  return value === null || value === undefined ? '—' : String(value);
}

// A payload exactly as exchanged (text is never re-formatted: reparsing
// would round its amounts), or a value the API gave, as JSON.
export function pre(value) {
  const shown = typeof value === 'string' ? value : JSON.stringify(value, null, 2);
  return el('pre', { class: 'payload' }, shown ?? '');
}

export function link(href, text) {
  return el('a', { href }, text);
}

export function section(title, ...children) {
  const id = `s-${title.toLowerCase().replace(/[^a-z0-9]+/g, '-')}`;
  return el('section', { 'aria-labelledby': id }, el('h2', { id }, title), children);
}

// An error shown in place, announced to screen readers.
export function errorBox(error) {
  const detail = error.field ? ` (field: ${error.field})` : '';
  const status = error.status ? `${error.status} ` : '';
  return el('p', { class: 'error', role: 'alert' }, `${status}${error.message}${detail}`);
}

// The polite status line under the header.
export function announce(message) {
  const status = document.getElementById('status');
  status.textContent = message;
}

export function button(label, handler, attributes = {}) {
  const node = el('button', { type: 'button', ...attributes }, label);
  node.addEventListener('click', handler);
  return node;
}

// A form field with its label; returns [wrapper, input].
export function field(label, name, attributes = {}) {
  const id = `f-${name}`;
  const input = attributes.tag === 'select'
    ? el('select', { id, name }, (attributes.options || []).map(([value, text]) => el('option', { value }, text)))
    : el(attributes.tag || 'input', { id, name, type: attributes.tag ? null : (attributes.type || 'text'),
      value: attributes.value, required: attributes.required, placeholder: attributes.placeholder,
      autocomplete: attributes.autocomplete || 'off', rows: attributes.rows });
  return [el('div', { class: 'field' }, el('label', { for: id }, label), input), input];
}

export function plural(count, word) {
  return `${count} ${word}${count === 1 ? '' : 's'}`;
}

// One line for an integration run: skipped, failed, or what it produced.
export function runOutcome(run) {
  if (run.skipped) return `skipped: ${run.skipped}`;
  if (run.error) return `failed: ${run.error}`;
  return `${plural(run.targets.length, 'target')}, ${run.held.length} held`;
}

// What conversion asked of Azure: units per (integration, resource, dimension).
export function targetsTable(caption, targets, empty) {
  return table(caption, [
    { label: 'Integration', value: (t) => t.integrationId },
    { label: 'Resource', value: (t) => t.resourceId },
    { label: 'Dimension', value: (t) => t.dimension },
    { label: 'Plan', value: (t) => t.planId },
    { label: 'Amount', value: (t) => number(t.amount), numeric: true },
    { label: 'Units', value: (t) => String(t.units), numeric: true },
  ], targets, empty);
}
