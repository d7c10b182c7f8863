// Bill: "explain this charge". Every version with its line items and where
// each went (held, and why; or the integration's targets), the target per
// dimension, the events and hours that carry the bill's units, Azure's
// answer and payload for each, and the diff between two versions.
import { api } from './api.js';
import { announce, button, dl, el, errorBox, field, link, number, pre, runOutcome, section, table, targetsTable, time } from './ui.js';

// The newest run of each integration on one bill version (runs come newest first).
function latestRuns(runs, versionId) {
  const seen = new Map();
  for (const run of runs) {
    if (run.billVersionId === versionId && !seen.has(run.integrationId)) seen.set(run.integrationId, run);
  }
  return [...seen.values()];
}

function destination(runs, index) {
  if (!runs.length) return 'not converted yet';
  return runs.map((run) => {
    if (run.skipped) return `${run.integrationId}: integration skipped (${run.skipped})`;
    if (run.error) return `${run.integrationId}: run failed (${run.error})`;
    const held = run.held.find((h) => h.lineItemIndex === index);
    if (held) return el('span', { class: 'held' }, `${run.integrationId}: held — ${held.reason}: ${held.message}`);
    const target = run.targets.find((t) => (t.lineItems || []).includes(index));
    if (target) return `${run.integrationId}: → ${target.dimension} on ${target.resourceId}`;
    // Runs stored before targets named their line items (an empty list) cannot say which.
    if (run.targets.some((t) => !t.lineItems || !t.lineItems.length)) return `${run.integrationId}: included in its targets`;
    return `${run.integrationId}: excluded by the integration's config`;
  }).map((text) => el('div', {}, text));
}

function itemGroup(item) {
  return [item.productId && `product ${item.productId}`, item.aggregationId && `aggregation ${item.aggregationId}`,
    item.compoundAggregationId && `compound ${item.compoundAggregationId}`].filter(Boolean).join(', ') || '—';
}

function versionView(detail, version) {
  const bill = version.bill || {};
  const items = (bill.lineItems || []).map((item, index) => ({ item, index }));
  const runs = latestRuns(detail.runs, version.id);
  const targets = runs.flatMap((run) => run.targets);
  return el('details', { open: version.current ? true : null, class: 'version' },
    el('summary', {}, `Version ${version.version}${version.current ? ' (current)' : ''}${version.deleted ? ' — deleted' : ''}`),
    dl([
      ['Received', time(version.receivedAt)], ['Status', version.status], ['Event', version.eventName],
      ['Processed', version.processed ? time(version.processedAt) : 'not yet'],
      ['Currency', bill.currency || '—'],
    ]),
    table(`Line items of version ${version.version}`, [
      { label: '#', value: (r) => String(r.index), numeric: true },
      { label: 'Id', value: (r) => r.item.id || '—' },
      { label: 'Type', value: (r) => r.item.lineItemType || '—' },
      { label: 'Product / aggregation', value: (r) => itemGroup(r.item) },
      { label: 'Subtotal', value: (r) => number(r.item.subtotal), numeric: true },
      { label: 'Went to', value: (r) => destination(runs, r.index) },
    ], items, 'This version has no line items.'),
    targetsTable(`Targets of version ${version.version} (per dimension)`, targets,
      runs.length ? 'No target: nothing of this version goes to Azure.' : 'Not converted yet.'));
}

function shareOf(event, billId) {
  return event.shares.filter((s) => s.billId === billId).reduce((sum, s) => sum + s.units, 0);
}

function azureAnswer(event) {
  if (event.usageEventId) return `accepted: ${event.usageEventId} at ${event.messageTime}`;
  if (event.errorCode) return `${event.errorCode}: ${event.errorMessage || ''}`;
  return event.maybeSent ? 'no answer yet (Azure may hold it)' : 'not answered yet';
}

function payloads(exchanges) {
  if (!exchanges || !exchanges.length) return '—';
  return exchanges.map((x) => el('details', { class: 'payload-box' },
    el('summary', {}, `${x.method} ${x.status || 'no answer'} at ${x.startedAt}`),
    el('p', {}, 'Request'), pre(x.requestBody), el('p', {}, 'Response'), pre(x.responseBody)));
}

async function eventsView(detail) {
  const [events, ...runDetails] = await Promise.all([
    api('events', { query: { billId: detail.billId, limit: 1000 } }),
    ...detail.runs.slice(0, 10).map((run) => api(`integrationruns/${run.id}`)),
  ]);
  const byEvent = new Map();
  for (const runDetail of runDetails) {
    for (const exchange of runDetail.exchanges) {
      for (const id of exchange.links.eventIds) {
        const list = byEvent.get(id) || [];
        if (!list.some((x) => x.id === exchange.id)) list.push(exchange);
        byEvent.set(id, list);
      }
    }
  }
  return table('Events and hours carrying this bill', [
    { label: 'Event', value: (e) => String(e.id), numeric: true },
    { label: 'Hour (UTC)', value: (e) => time(e.effectiveStartTime) },
    { label: 'Resource', value: (e) => e.resourceId },
    { label: 'Dimension', value: (e) => e.dimension },
    { label: 'Event units', value: (e) => String(e.quantity), numeric: true },
    { label: 'This bill', value: (e) => String(shareOf(e, detail.billId)), numeric: true },
    { label: 'State', value: (e) => el('span', { class: `state state-${e.state}` }, e.state) },
    { label: "Azure's answer", value: azureAnswer },
    { label: 'Payloads', value: (e) => payloads(byEvent.get(e.id)) },
  ], events.data, 'No event carries this bill yet.');
}

function diffView(detail) {
  const versions = detail.versions.map((v) => [String(v.version), `version ${v.version}`]);
  const [fromField, fromInput] = field('From version', 'diff-from', { tag: 'select', options: versions });
  const [toField, toInput] = field('To version', 'diff-to', { tag: 'select', options: versions });
  if (versions.length > 1) {
    fromInput.value = versions[versions.length - 2][0];
    toInput.value = versions[versions.length - 1][0];
  }
  const out = el('div', { 'aria-live': 'polite' });
  const form = el('form', { class: 'inline-form' }, fromField, toField, el('button', { type: 'submit' }, 'Compare'));
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    out.replaceChildren(el('p', {}, 'Comparing…'));
    try {
      const diff = await api(`bills/${encodeURIComponent(detail.billId)}/diff`,
        { query: { from: fromInput.value, to: toInput.value } });
      const money = (item) => (item ? `${item.lineItemType} ${itemGroup(item)} ${item.subtotal}` : '—');
      out.replaceChildren(
        table(`Line items, version ${diff.from.version} → ${diff.to.version}`, [
          { label: 'Change', value: (c) => c.change },
          { label: 'Id', value: (c) => (c.after || c.before).id || `#${c.toIndex ?? c.fromIndex}` },
          { label: 'Before', value: (c) => money(c.before) },
          { label: 'After', value: (c) => money(c.after) },
        ], diff.lineItems, 'No line item changed.'),
        table(`Targets, version ${diff.from.version} → ${diff.to.version}`, [
          { label: 'Integration', value: (t) => t.integrationId },
          { label: 'Resource', value: (t) => t.resourceId },
          { label: 'Dimension', value: (t) => t.dimension },
          { label: 'Units before', value: (t) => String(t.fromUnits), numeric: true },
          { label: 'Units after', value: (t) => String(t.toUnits), numeric: true },
          { label: 'Amount before', value: (t) => number(t.fromAmount), numeric: true },
          { label: 'Amount after', value: (t) => number(t.toAmount), numeric: true },
        ], diff.targets, 'No target changed.'));
    } catch (error) {
      out.replaceChildren(errorBox(error));
    }
  });
  return [form, out];
}

function reprocessButton(billId, rerender) {
  return button('Reprocess with current mappings', async (event) => {
    event.target.disabled = true;
    try {
      const answer = await api(`bills/${encodeURIComponent(billId)}/reprocess`, { method: 'POST' });
      announce(`Bill ${billId} version ${answer.version} queued for reprocessing.`);
      await rerender();
    } catch (error) {
      event.target.after(errorBox(error));
    } finally {
      event.target.disabled = false;
    }
  });
}

export async function billPage(params, rerender) {
  const billId = params.id;
  if (!billId) return billSearch();
  const detail = await api(`bills/${encodeURIComponent(billId)}`);
  const current = detail.versions.find((v) => v.current);
  return [
    el('h1', { tabindex: '-1' }, `Bill ${detail.billId}`),
    dl([['Account', detail.accountId], ['Current version', current ? String(current.version) : '—'],
      ['Deleted', detail.deleted ? 'yes' : 'no']]),
    el('p', {}, reprocessButton(detail.billId, rerender)),
    section('Where the units are', table('Units per integration, resource and dimension', [
      { label: 'Integration', value: (k) => k.integrationId },
      { label: 'Resource', value: (k) => k.resourceId },
      { label: 'Dimension', value: (k) => k.dimension },
      { label: 'Target', value: (k) => String(k.target), numeric: true },
      { label: 'Accepted', value: (k) => String(k.accepted), numeric: true },
      { label: 'Pending', value: (k) => String(k.pending), numeric: true },
      { label: 'Planned', value: (k) => String(k.planned), numeric: true },
      { label: 'In flight', value: (k) => String(k.inFlight), numeric: true },
      { label: 'Rejected', value: (k) => String(k.rejected), numeric: true },
      { label: 'Over-reported', value: (k) => String(k.overReported), numeric: true },
    ], detail.keys, 'No units yet: nothing of this bill is mapped to Azure.')),
    section('Held line items (current version)', table('Held line items', [
      { label: 'Integration', value: (h) => h.integrationId },
      { label: 'Line item', value: (h) => (h.lineItemIndex < 0 ? 'whole bill' : `#${h.lineItemIndex} ${h.lineItemId || ''}`) },
      { label: 'Reason', value: (h) => h.reason },
      { label: 'Why', value: (h) => h.message },
      { label: 'Amount', value: (h) => number(h.amount), numeric: true },
    ], detail.held, 'Nothing is held.'),
    detail.held.some((h) => h.reason.startsWith('unmapped') || h.reason === 'no_account_mapping')
      ? el('p', {}, 'A mapping is missing: add it on ', link('#/mappings', 'Mappings'), ', then reprocess.') : null),
    section('Events and hours', await eventsView(detail)),
    section('Versions', [...detail.versions].reverse().map((v) => versionView(detail, v))),
    section('Compare two versions', diffView(detail)),
    section('Integration runs', table('Integration runs of this bill', [
      { label: 'Run', value: (r) => link(`#/runs/${r.id}`, String(r.id)) },
      { label: 'Integration', value: (r) => r.integrationId },
      { label: 'Version', value: (r) => String(r.billVersion), numeric: true },
      { label: 'Outcome', value: runOutcome },
      { label: 'Started', value: (r) => time(r.startedAt) },
    ], detail.runs, 'No run yet.')),
  ];
}

function billSearch() {
  const [wrapper, input] = field('Bill id', 'bill-id', { required: true });
  const form = el('form', { class: 'inline-form' }, wrapper, el('button', { type: 'submit' }, 'Open'));
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    window.location.hash = `#/bill/${encodeURIComponent(input.value.trim())}`;
  });
  return [el('h1', { tabindex: '-1' }, 'Bill'), el('p', {}, 'Open a bill by its m3ter id, or pick one on the Overview.'), form];
}
