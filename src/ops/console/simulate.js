// Paste a bill: what it would produce (POST /simulate, the same answer as
// `meterbridge simulate --format json`), touching neither the database nor
// Azure.
import { api } from './api.js';
import { el, errorBox, field, pre, section } from './ui.js';

export async function simulatePage() {
  const [billField, bill] = field('Bill JSON (an m3ter bill or event envelope)', 'bill', { tag: 'textarea', rows: 12 });
  const out = el('div', { 'aria-live': 'polite' });
  const form = el('form', { 'aria-label': 'Simulate a bill' }, billField, el('button', { type: 'submit' }, 'Simulate'));
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    try {
      JSON.parse(bill.value);
    } catch (error) {
      out.replaceChildren(errorBox({ message: `This is not JSON: ${error.message}`, field: 'bill' }));
      return;
    }
    out.replaceChildren(el('p', {}, 'Simulating…'));
    try {
      const answer = await api('simulate', { method: 'POST', rawJson: bill.value });
      out.replaceChildren(section('What this bill would produce', pre(answer)));
    } catch (error) {
      out.replaceChildren(errorBox(error.status === 404
        ? { message: 'This daemon has no POST /simulate yet: use meterbridge simulate.' } : error));
    }
  });
  return [el('h1', { tabindex: '-1' }, 'Paste a bill'),
    el('p', {}, 'A dry run under the current config and mappings: nothing is stored, nothing is sent.'), form, out];
}
