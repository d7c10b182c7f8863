// Overview: what waits, what failed, what Azure accepted lately.
import { api } from './api.js';
import { hourlyChart } from './chart.js';
import { age, el, errorBox, link, number, section, table, time } from './ui.js';

function card(title, value, note, warn) {
  return el('div', { class: warn ? 'card warn' : 'card' }, el('p', { class: 'card-title' }, title),
    el('p', { class: 'card-value' }, value), note ? el('p', { class: 'card-note' }, note) : null);
}

async function reconciliations() {
  try {
    const runs = await api('reconciliations');
    return table('Reconciliation runs', [
      { label: 'Run', value: (r) => String(r.id) },
      { label: 'Days', value: (r) => `${r.from} – ${r.to}` },
      { label: 'Status', value: (r) => r.status + (r.error ? `: ${r.error}` : '') },
      { label: 'Outcomes', value: (r) => Object.entries(r.totals).map(([k, v]) => `${k} ${v}`).join(', ') || '—' },
      { label: 'Started', value: (r) => time(r.startedAt) },
    ], runs.data.slice(0, 10), 'No reconciliation has run yet.');
  } catch (error) {
    if (error.status === 404) return el('p', { class: 'empty' }, 'Reconciliation is not configured on this daemon.');
    return errorBox(error);
  }
}

export async function overviewPage() {
  const [overview, bills] = await Promise.all([api('overview'), api('bills', { query: { limit: 20 } })]);
  const pending = overview.pending;
  const window = pending.azureWindowSeconds;
  const oldest = pending.oldestAgeSeconds;
  const late = oldest !== null && oldest > window / 2;
  const cards = el('div', { class: 'cards' },
    card('Pending units', number(pending.units), `${pending.entries} queued entries`),
    card('Oldest pending', age(oldest),
      oldest === null ? 'nothing waits' : `${Math.round((oldest / window) * 100)} % of Azure's 24 h window`, late),
    card('Rejected units', number(overview.rejectedUnits), 'retry them on Events once fixed', overview.rejectedUnits > 0),
    card('Unresolved units', number(overview.unresolvedUnits), 'Azure may hold them: settle on Events',
      overview.unresolvedUnits > 0),
    card('Over-reported units', number(overview.overReportedUnits), 'sent, then the bill went down',
      overview.overReportedUnits > 0),
    card('Bill versions to process', number(overview.unprocessedBillVersions),
      overview.versionsWaitingOnM3ter ? `${overview.versionsWaitingOnM3ter} wait on m3ter` : null));

  return [
    el('h1', { tabindex: '-1' }, 'Overview'),
    el('p', { class: 'muted' }, 'As of ', time(overview.now)),
    cards,
    section('Units accepted per hour', hourlyChart(overview.acceptedPerHour)),
    section('Recent bills', table('Recent bills', [
      { label: 'Bill', value: (b) => link(`#/bill/${encodeURIComponent(b.billId)}`, b.billId) },
      { label: 'Account', value: (b) => b.accountId },
      { label: 'Version', value: (b) => String(b.version), numeric: true },
      { label: 'Processed', value: (b) => (b.processed ? 'yes' : 'not yet') },
      { label: 'Held items', value: (b) => String(b.heldItems), numeric: true },
      { label: 'Updated', value: (b) => time(b.updatedAt) },
    ], bills.data, 'No bill has been received yet.')),
    section('Held line items (money waiting on a fix)', table('Held line items', [
      { label: 'Integration', value: (h) => h.integrationId },
      { label: 'Reason', value: (h) => h.reason },
      { label: 'Line items', value: (h) => String(h.lineItems), numeric: true },
      { label: 'Amount', value: (h) => `${h.amount ?? 'out of range'} ${h.currency}`, numeric: true },
    ], overview.held, 'No line item is held.')),
    section('Last Azure errors', table('Last Azure errors', [
      { label: 'Event', value: (e) => link(`#/events?id=${e.eventId}`, String(e.eventId)) },
      { label: 'State', value: (e) => e.state },
      { label: 'Resource', value: (e) => e.resourceId },
      { label: 'Dimension', value: (e) => e.dimension },
      { label: 'Hour', value: (e) => time(e.effectiveStartTime) },
      { label: 'Azure said', value: (e) => `${e.errorCode}: ${e.errorMessage}` },
      { label: 'When', value: (e) => time(e.updatedAt) },
    ], overview.lastErrors, 'No event has an error.'),
    el('p', { class: 'muted' }, 'Calls to Azure by HTTP status (0: no answer): ',
      Object.entries(overview.azureHttpStatus).map(([status, count]) => `${status} × ${count}`).join(', ') || 'none yet')),
    section('Reconciliation', await reconciliations()),
  ];
}
