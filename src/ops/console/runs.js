// Runs: integration runs (one per bill version per integration), each with
// the config in force, the webhook delivery and every payload exchanged.
import { api } from './api.js';
import { dl, el, field, link, pre, runOutcome, section, table, targetsTable, time } from './ui.js';

function filterForm(params) {
  const [billField, bill] = field('Bill id', 'billId', { value: params.billId });
  const [accountField, account] = field('Account id', 'accountId', { value: params.accountId });
  const form = el('form', { class: 'inline-form', 'aria-label': 'Filter runs' }, billField, accountField,
    el('button', { type: 'submit' }, 'Filter'));
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const query = new URLSearchParams();
    if (bill.value.trim()) query.set('billId', bill.value.trim());
    if (account.value.trim()) query.set('accountId', account.value.trim());
    window.location.hash = `#/runs?${query}`;
  });
  return form;
}

async function runList(params) {
  const runs = await api('integrationruns', { query: { billId: params.billId, accountId: params.accountId, limit: 100 } });
  return [
    el('h1', { tabindex: '-1' }, 'Integration runs'),
    filterForm(params),
    section('Runs', table('Integration runs, newest first', [
      { label: 'Run', value: (r) => link(`#/runs/${r.id}`, String(r.id)) },
      { label: 'Integration', value: (r) => r.integrationId },
      { label: 'Bill', value: (r) => link(`#/bill/${encodeURIComponent(r.billId)}`, r.billId) },
      { label: 'Version', value: (r) => String(r.billVersion), numeric: true },
      { label: 'Account', value: (r) => r.accountId },
      { label: 'Outcome', value: runOutcome },
      { label: 'Started', value: (r) => time(r.startedAt) },
    ], runs.data, 'No run matches.')),
  ];
}

async function runDetail(id) {
  const detail = await api(`integrationruns/${encodeURIComponent(id)}`);
  const run = detail.run;
  const delivery = detail.delivery;
  return [
    el('h1', { tabindex: '-1' }, `Integration run ${run.id}`),
    dl([['Integration', run.integrationId], ['Bill', link(`#/bill/${encodeURIComponent(run.billId)}`, run.billId)],
      ['Version', String(run.billVersion)], ['Account', run.accountId], ['Skipped', run.skipped || 'no'],
      ['Error', run.error || 'none'], ['Started', time(run.startedAt)], ['Finished', time(run.finishedAt)],
      ['Events', detail.eventIds.join(', ') || 'none']]),
    section('Targets', targetsTable('Targets of this run', run.targets, 'No target.')),
    section('Held line items', table('Held by this run', [
      { label: 'Line item', value: (h) => (h.lineItemIndex < 0 ? 'whole bill' : `#${h.lineItemIndex}`) },
      { label: 'Reason', value: (h) => h.reason },
      { label: 'Why', value: (h) => h.message },
      { label: 'Amount', value: (h) => String(h.amount), numeric: true },
    ], run.held, 'Nothing held.')),
    section('Config in force (secrets masked)', pre(run.config)),
    section('Webhook delivery', delivery ? [
      dl([['Received', time(delivery.receivedAt)], ['From', delivery.remoteAddr], ['Result', delivery.result],
        ['Event', delivery.eventName || '—'], ['Bytes', String(delivery.bodyBytes)]]),
      delivery.bodyRetained ? pre(delivery.body) : el('p', {}, 'The body is past payload_retention_days.'),
    ] : el('p', { class: 'empty' }, 'No delivery stored.')),
    section('Exchanges (every payload, oldest first)', detail.exchanges.length ? detail.exchanges.map((x) =>
      el('details', { class: 'payload-box' },
        el('summary', {}, `${x.kind}: ${x.method} ${x.url} → ${x.status || 'no answer'} (${x.durationMs} ms)`
          + `${x.links.eventIds.length ? `, events ${x.links.eventIds.join(', ')}` : ''}`),
        dl([['Started', x.startedAt], ['Request id', x.requestId || '—'], ['Correlation id', x.correlationId || '—'],
          ['Error', x.error || 'none']]),
        el('p', {}, 'Request body'), pre(x.requestBody), el('p', {}, 'Response body'), pre(x.responseBody)))
      : el('p', { class: 'empty' }, 'No exchange logged for this run.')),
  ];
}

export async function runsPage(params) {
  return params.id ? runDetail(params.id) : runList(params);
}
