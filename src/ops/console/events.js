// Events: the outbox, filtered by state, resource, dimension, bill and
// hour; retry a rejected event, settle an unresolved one.
import { api } from './api.js';
import { announce, button, el, errorBox, field, link, section, table, time } from './ui.js';

const STATES = ['', 'planned', 'sending', 'accepted', 'conflict', 'expired', 'rejected', 'requeued', 'cancelled',
  'unresolved'];

function actions(event, rerender) {
  const act = (label, path, body, message) => button(label, async (click) => {
    click.target.disabled = true;
    try {
      await api(path, { method: 'POST', body });
      announce(message);
      await rerender();
    } catch (error) {
      click.target.disabled = false;
      click.target.after(errorBox(error));
    }
  });
  if (event.state === 'rejected') {
    return act(`Retry event ${event.id}`, `events/${event.id}/retry`, undefined,
      `Event ${event.id} requeued: its units go out again.`);
  }
  if (event.state === 'unresolved') {
    return el('div', { class: 'buttons' },
      act('Settle: Azure recorded it', `events/${event.id}/settle`, { as: 'recorded' },
        `Event ${event.id} settled as recorded by Azure.`),
      act('Settle: Azure did not', `events/${event.id}/settle`, { as: 'not_recorded' },
        `Event ${event.id} settled as not recorded: its units are queued again.`));
  }
  return '—';
}

function filterForm(params) {
  const [stateField, state] = field('State', 'status', { tag: 'select', options: STATES.map((s) => [s, s || 'any']) });
  state.value = params.status || '';
  const [resourceField, resource] = field('Resource id', 'resourceId', { value: params.resourceId });
  const [dimensionField, dimension] = field('Dimension', 'dimension', { value: params.dimension });
  const [billField, bill] = field('Bill id', 'billId', { value: params.billId });
  const [fromField, from] = field('Hour from (UTC, ISO-8601)', 'from', { value: params.from, placeholder: '2026-01-01T00:00:00Z' });
  const [toField, to] = field('Hour to (exclusive)', 'to', { value: params.to, placeholder: '2026-01-02T00:00:00Z' });
  const form = el('form', { class: 'filters', 'aria-label': 'Filter events' }, stateField, resourceField, dimensionField,
    billField, fromField, toField, el('button', { type: 'submit' }, 'Filter'));
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const query = new URLSearchParams();
    for (const input of [state, resource, dimension, bill, from, to]) {
      if (input.value.trim()) query.set(input.name, input.value.trim());
    }
    window.location.hash = `#/events?${query}`;
  });
  return form;
}

export async function eventsPage(params, rerender) {
  const query = { status: params.status, resourceId: params.resourceId, dimension: params.dimension,
    billId: params.billId, from: params.from, to: params.to, afterId: params.afterId, limit: 100 };
  let results;
  try {
    const page = await api('events', { query });
    let rows = page.data;
    if (params.id) rows = rows.filter((e) => String(e.id) === params.id);
    const next = new URLSearchParams(Object.entries(params).filter(([k, v]) => v && k !== 'afterId'));
    if (page.nextAfterId) next.set('afterId', page.nextAfterId);
    results = [
      table('Events', [
        { label: 'Event', value: (e) => String(e.id), numeric: true },
        { label: 'State', value: (e) => el('span', { class: `state state-${e.state}` }, e.state) },
        { label: 'Hour (UTC)', value: (e) => time(e.effectiveStartTime) },
        { label: 'Resource', value: (e) => e.resourceId },
        { label: 'Dimension', value: (e) => e.dimension },
        { label: 'Units', value: (e) => String(e.quantity), numeric: true },
        { label: 'Bills', value: (e) => [...new Set(e.shares.map((s) => s.billId))]
          .map((id) => link(`#/bill/${encodeURIComponent(id)}`, id)).flatMap((a, i) => (i ? [', ', a] : [a])) },
        { label: "Azure's answer", value: (e) => e.usageEventId || (e.errorCode ? `${e.errorCode}: ${e.errorMessage || ''}` : '—') },
        { label: 'Action', value: (e) => actions(e, rerender) },
      ], rows, 'No event matches.'),
      page.nextAfterId ? el('p', {}, link(`#/events?${next}`, 'Next page')) : null,
    ];
  } catch (error) {
    if (error.status === 400) results = errorBox(error);
    else throw error;
  }
  return [el('h1', { tabindex: '-1' }, 'Events'), filterForm(params), section('Results', results)];
}
