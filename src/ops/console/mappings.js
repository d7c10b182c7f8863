// Mappings: list, add and delete the external mappings (SPEC §3), then
// reprocess the bills whose current version holds line items, so that the
// fix takes effect.
import { api } from './api.js';
import { announce, button, el, errorBox, field, section, table } from './ui.js';

function addForm(rerender, integrations) {
  const [entityField, entity] = field('m3ter entity', 'm3ter_entity', { tag: 'select',
    options: [['Product', 'Product'], ['Aggregation', 'Aggregation'], ['CompoundAggregation', 'CompoundAggregation'],
      ['Account', 'Account']] });
  const [idField, id] = field('m3ter id', 'm3ter_id', { required: true });
  const [tableField, tableInput] = field('External table', 'external_table', { tag: 'select',
    options: [['Dimension', 'Dimension (a product or aggregation)'], ['Subscription', 'Subscription (an account)']] });
  const [externalField, external] = field('External id (dimension or subscription GUID)', 'external_id', { required: true });
  const [planField, plan] = field('Plan id (accounts only, optional)', 'plan_id');
  const [integrationField, integration] = field('Integration id (optional: a linked mapping)', 'integration_id',
    { placeholder: integrations.join(', ') });
  const out = el('div', { 'aria-live': 'polite' });
  const form = el('form', { class: 'filters', 'aria-label': 'Add a mapping' }, entityField, idField, tableField,
    externalField, planField, integrationField, el('button', { type: 'submit' }, 'Add mapping'), out);
  entity.addEventListener('change', () => {
    tableInput.value = entity.value === 'Account' ? 'Subscription' : 'Dimension';
  });
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const mapping = { m3ter_entity: entity.value, m3ter_id: id.value.trim(), external_system: 'AzureMarketplace',
      external_table: tableInput.value, external_id: external.value.trim() };
    if (plan.value.trim()) mapping.plan_id = plan.value.trim();
    if (integration.value.trim()) mapping.integration_id = integration.value.trim();
    try {
      const added = await api('mappings', { method: 'POST', body: mapping });
      announce(`Mapping ${added.id} added: ${added.m3ter_entity} ${added.m3ter_id} → ${added.external_id}.`);
      await rerender();
    } catch (error) {
      out.replaceChildren(errorBox(error));
    }
  });
  return form;
}

function reprocessHeld(bills, rerender) {
  if (!bills.length) return el('p', { class: 'empty' }, 'No bill holds line items: nothing to reprocess.');
  const out = el('div', { 'aria-live': 'polite' });
  return [
    table('Bills holding line items', [
      { label: 'Bill', value: (b) => el('a', { href: `#/bill/${encodeURIComponent(b.billId)}` }, b.billId) },
      { label: 'Account', value: (b) => b.accountId },
      { label: 'Version', value: (b) => String(b.version), numeric: true },
      { label: 'Held items', value: (b) => String(b.heldItems), numeric: true },
    ], bills),
    button(`Reprocess ${bills.length} bill${bills.length > 1 ? 's' : ''}`, async (event) => {
      event.target.disabled = true;
      const failures = [];
      for (const bill of bills) {
        try {
          await api(`bills/${encodeURIComponent(bill.billId)}/reprocess`, { method: 'POST' });
        } catch (error) {
          failures.push(`${bill.billId}: ${error.message}`);
        }
      }
      if (failures.length) {
        out.replaceChildren(errorBox({ message: `Some bills were not reprocessed: ${failures.join('; ')}` }));
        event.target.disabled = false;
        return;
      }
      announce(`${bills.length} bill(s) queued for reprocessing with the current mappings.`);
      await rerender();
    }),
    out,
  ];
}

export async function mappingsPage(params, rerender) {
  const [mappings, held, runs] = await Promise.all([api('mappings'), api('bills', { query: { held: 'true' } }),
    api('integrationruns', { query: { limit: 100 } })]);
  const integrations = [...new Set(runs.data.map((r) => r.integrationId))].sort();
  return [
    el('h1', { tabindex: '-1' }, 'Mappings'),
    section('Add a mapping', addForm(rerender, integrations)),
    section('Reprocess the affected bills', el('p', {}, 'A mapping counts for bills converted after it: ',
      'reprocess the bills that hold line items so that they use it.'), reprocessHeld(held.data, rerender)),
    section('All mappings', table('External mappings', [
      { label: 'Id', value: (m) => m.id },
      { label: 'Entity', value: (m) => m.m3ter_entity },
      { label: 'm3ter id', value: (m) => m.m3ter_id },
      { label: 'Table', value: (m) => m.external_table },
      { label: 'External id', value: (m) => m.external_id },
      { label: 'Plan', value: (m) => m.plan_id || '—' },
      { label: 'Integration', value: (m) => m.integration_id || 'any' },
      { label: 'From', value: (m) => m.source },
      { label: 'Action', value: (m) => (m.source === 'api' ? button(`Delete mapping ${m.id}`, async (event) => {
        event.target.disabled = true;
        try {
          await api(`mappings/${encodeURIComponent(m.id)}`, { method: 'DELETE' });
          announce(`Mapping ${m.id} deleted.`);
          await rerender();
        } catch (error) {
          event.target.after(errorBox(error));
          event.target.disabled = false;
        }
      }) : 'config file') },
    ], mappings.data, 'No mapping yet.')),
  ];
}
