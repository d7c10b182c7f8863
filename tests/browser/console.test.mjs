// The ops console in headless Chromium against the real daemon (issue 19):
// log in (a wrong token first), post a signed bill, see it on the overview
// and in the bill view with its hours, fix its unmapped product on the
// mappings page, reprocess, and see the units accepted by the built-in Azure
// sandbox; the same console behind a path-prefixing proxy; phone width.
// Screenshots of each page go to the directory given (docs/console/ when
// refreshing the committed ones).
//   node console.test.mjs METERBRIDGE_BINARY SCREENSHOT_DIR
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';
import { atEnd, eventually, postSigned, runCleanups, sandboxUnits, startDaemon, startPrefixProxy } from './harness.mjs';

const [binary, shots] = process.argv.slice(2);
if (!binary || !shots) {
  console.error('usage: node console.test.mjs METERBRIDGE_BINARY SCREENSHOT_DIR');
  process.exit(2);
}
mkdirSync(shots, { recursive: true });

const API_KEY = 'console-api-key';
const API_SECRET = 'console-api-secret';
const OPS_TOKEN = 'console-ops-token-3f9a';
const PUBLIC_URL = 'https://bridge.console.test';
const SUBSCRIPTION = '0b6f0f5e-6f6e-4a3f-9a7e-2f1d3c4b5a69';
const BILL_ID = 'bill-console-1';
const TYPO_BILL_ID = 'bill-console-2';
// 19 significant digits: a JavaScript number would show 2.5. Sent as this
// text; 250 units either way (half_up).
const STORAGE_SUBTOTAL = '2.500000000000000001';

const work = mkdtempSync(path.join(tmpdir(), 'mb-console-'));
const step = (text) => console.log(`[console] ${text}`);

function config() {
  return {
    listen: { address: '127.0.0.1', port: 0 },
    public_base_url: PUBLIC_URL,
    storage: { sqlite_path: path.join(work, 'meterbridge.db') },
    log: { level: 'info' },
    webhook: { api_key: 'env:MB_CONSOLE_API_KEY', api_secret: 'env:MB_CONSOLE_API_SECRET' },
    ops: { token: 'env:MB_CONSOLE_OPS_TOKEN' },
    // A catalog, so that the sandbox rejects an unknown dimension as Azure does.
    azure: { mode: 'sandbox', request_timeout_s: 5, sandbox_catalog: {
      subscriptions: [{ resourceId: SUBSCRIPTION, planId: 'standard', status: 'Subscribed' }],
      plans: [{ planId: 'standard', dimensions: ['compute', 'storage'] }] } },
    scheduler: { policy: 'eager', flush_delay_s: 0, tick_s: 1 },
    integrations: [{ id: 'per-product', split_usage_line_items: 'ITEM_PER_PRODUCT', plan_id: 'standard' }],
    external_mappings: [
      { m3ter_entity: 'Account', m3ter_id: 'acc-console', external_table: 'Subscription', external_id: SUBSCRIPTION },
      { m3ter_entity: 'Product', m3ter_id: 'prod-compute', external_table: 'Dimension', external_id: 'compute' },
      // A typo Azure answers with InvalidDimension: the events page retries the event.
      { m3ter_entity: 'Product', m3ter_id: 'prod-network', external_table: 'Dimension', external_id: 'netwrok' },
    ],
    reconciliation: { daily_at: null },
  };
}

// An m3ter bill event for `bill`; the storage subtotal goes in as its exact text.
async function postBill(base, bill) {
  const body = JSON.stringify({ id: `evt-${bill.id}-${bill.version}`, eventName: 'billing.bill.updated',
    m3terEvent: { eventData: { new: bill } } }).replace('"STORAGE_SUBTOTAL"', STORAGE_SUBTOTAL);
  const answer = await postSigned(base, PUBLIC_URL, { apiKey: API_KEY, apiSecret: API_SECRET }, body);
  assert.equal(answer.status, 202, `the webhook answered ${answer.status}: ${await answer.text()}`);
}

function bill(version, computeSubtotal) {
  return { id: BILL_ID, version, accountId: 'acc-console', status: 'APPROVED', currency: 'USD', lineItems: [
    { id: 'li-compute', lineItemType: 'USAGE', productId: 'prod-compute', subtotal: computeSubtotal },
    { id: 'li-storage', lineItemType: 'USAGE', productId: 'prod-storage', subtotal: 'STORAGE_SUBTOTAL' },
  ] };
}

// A link of the page's navigation landmark (pages link to each other too).
function nav(page, name) {
  return page.getByRole('navigation', { name: 'Pages' }).getByRole('link', { name, exact: true });
}

async function shot(page, name) {
  await page.screenshot({ path: path.join(shots, `${name}.png`), fullPage: true });
}

async function main() {
  const daemon = await startDaemon(binary, work, config(), { MB_CONSOLE_API_KEY: API_KEY,
    MB_CONSOLE_API_SECRET: API_SECRET, MB_CONSOLE_OPS_TOKEN: OPS_TOKEN });
  const base = `http://127.0.0.1:${daemon.port}`;
  step(`daemon on ${base}, sandbox at ${daemon.sandbox}`);

  const profile = mkdtempSync(path.join(tmpdir(), 'mb-chromium-'));
  atEnd(() => rmSync(profile, { recursive: true, force: true }));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.MB_CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    viewport: { width: 1280, height: 900 },
  });
  atEnd(() => context.close(), true);
  context.setDefaultTimeout(10000);
  const page = context.pages()[0] || await context.newPage();
  const problems = [];
  page.on('console', (message) => {
    if (message.type() === 'error' && !/status of 401/.test(message.text())) problems.push(message.text());
  });
  page.on('pageerror', (error) => problems.push(error.message));

  // The console is public; /console redirects to console/ (relative URLs).
  const asset = await fetch(`${base}/console/app.js`);
  assert.equal(asset.status, 200);
  assert.match(asset.headers.get('content-type'), /^text\/javascript/);
  assert.match(asset.headers.get('content-security-policy'), /script-src 'self'/);
  const unauthorised = await fetch(`${base}/overview`);
  assert.equal(unauthorised.status, 401, 'the API behind the console needs the token');

  step('a wrong token shows a clear error');
  await page.goto(`${base}/console`);
  assert.equal(new URL(page.url()).pathname, '/console/');
  await page.getByLabel('Ops token').fill('not-the-token');
  await page.getByRole('button', { name: 'Log in' }).click();
  const refused = page.locator('#login-error');
  await refused.waitFor({ state: 'visible' });
  assert.match(await refused.textContent(), /ops token was refused \(401\).*wrong/);
  await shot(page, 'login-refused');

  step('log in with the keyboard');
  await page.getByLabel('Ops token').fill(OPS_TOKEN);
  await page.keyboard.press('Enter');
  await page.getByRole('heading', { name: 'Overview', level: 1 }).waitFor();
  assert.equal(await page.evaluate(() => window.sessionStorage.getItem('meterbridge.opsToken')), OPS_TOKEN);
  assert.equal((await context.cookies()).length, 0, 'no cookie is ever set');

  step('post a bill: compute is mapped, storage is not; and a bill whose dimension Azure rejects');
  await postBill(base, bill(1, 4));
  await postBill(base, { id: TYPO_BILL_ID, version: 1, accountId: 'acc-console', status: 'APPROVED', currency: 'USD',
    lineItems: [{ id: 'li-network', lineItemType: 'USAGE', productId: 'prod-network', subtotal: 1.5 }] });
  await eventually(page, 'the overview shows the bill and 400 units accepted', async () => {
    await page.getByRole('link', { name: BILL_ID, exact: true }).waitFor({ timeout: 1000 });
    const chart = await page.locator('svg.chart').getAttribute('aria-label');
    assert.match(chart, / 400 in total/);
    const errors = page.getByRole('table', { name: 'Last Azure errors' });
    assert.match(await errors.textContent({ timeout: 1000 }), /InvalidDimension/);
  });
  assert.match(await page.locator('.card', { hasText: 'Rejected units' }).textContent(), /150/);
  const pendingCard = page.locator('.card', { hasText: 'Oldest pending' });
  assert.ok(await pendingCard.isVisible());
  await shot(page, 'overview');

  step('the bill view: hours, events, the held item');
  await page.getByRole('link', { name: BILL_ID, exact: true }).click();
  await page.getByRole('heading', { name: `Bill ${BILL_ID}`, level: 1 }).waitFor();
  const events = page.getByRole('region', { name: 'Events and hours carrying this bill' });
  // Eager policy: the current hour's slot (the previous one if the hour just turned).
  const hours = [0, 3600e3].map((ago) => `${new Date(Date.now() - ago).toISOString().slice(0, 13).replace('T', ' ')}:00:00 UTC`);
  const row = events.getByRole('row').filter({ hasText: 'compute' });
  const rowText = await row.textContent();
  assert.ok(hours.some((h) => rowText.includes(h)), `the compute event's hour: ${rowText}`);
  assert.match(rowText, /accepted/);
  const held = page.getByRole('region', { name: 'Held line items', exact: true });
  assert.match(await held.textContent(), /unmapped_product/);
  assert.match(await held.textContent(), /2\.500000000000000001/, 'amounts are shown exactly as held');
  const lineItems = page.getByRole('region', { name: 'Line items of version 1' });
  assert.match(await lineItems.getByRole('row').filter({ hasText: 'li-storage' }).textContent(), /held — unmapped_product/);
  assert.match(await lineItems.getByRole('row').filter({ hasText: 'li-compute' }).textContent(), /→ compute on /);
  await shot(page, 'bill');

  step('fix the mapping on the mappings page and reprocess');
  await nav(page, 'Mappings').click();
  await page.getByRole('heading', { name: 'Mappings', level: 1 }).waitFor();
  // Keyboard and screen-reader users land on the new page's heading.
  await page.waitForFunction(() => document.activeElement?.tagName === 'H1');
  await page.getByLabel('m3ter entity').selectOption('Product');
  await page.getByLabel('m3ter id').fill('prod-storage');
  await page.getByLabel('External table').selectOption('Dimension');
  await page.getByLabel(/^External id/).fill('storage');
  await page.getByRole('button', { name: 'Add mapping' }).click();
  const all = page.getByRole('region', { name: 'External mappings' });
  await all.getByRole('row').filter({ hasText: 'prod-storage' }).waitFor();
  await shot(page, 'mappings');
  await page.getByRole('button', { name: 'Reprocess 1 bill' }).click();
  await page.locator('#status', { hasText: 'queued for reprocessing' }).waitFor();

  step('the units of the fixed item are sent and accepted');
  await page.goto(`${base}/console/#/bill/${BILL_ID}`);
  await eventually(page, 'the bill view shows 250 storage units accepted', async () => {
    const units = page.getByRole('region', { name: 'Units per integration, resource and dimension', exact: true });
    const storage = units.getByRole('row').filter({ hasText: 'storage' });
    const cells = await storage.getByRole('cell').allTextContents();
    assert.deepEqual(cells.slice(2, 5), ['storage', '250', '250'], `storage row: ${cells.join(' | ')}`);
  });
  assert.equal(await sandboxUnits(daemon.sandbox, SUBSCRIPTION, 'storage'), 250);
  assert.equal(await sandboxUnits(daemon.sandbox, SUBSCRIPTION, 'compute'), 400);
  await page.getByText('Nothing is held.').waitFor();

  step('a second version and the diff between them');
  await postBill(base, bill(2, 3));
  await eventually(page, 'version 2 is converted', async () => {
    const runs = page.getByRole('region', { name: 'Integration runs of this bill' });
    assert.ok(await runs.getByRole('row').filter({ hasText: /per-product\s*2/ }).count() > 0);
  });
  await page.getByLabel('From version').selectOption('1');
  await page.getByLabel('To version').selectOption('2');
  await page.getByRole('button', { name: 'Compare' }).click();
  const targetDiff = page.getByRole('region', { name: 'Targets, version 1 → 2' });
  await targetDiff.waitFor();
  const compute = await targetDiff.getByRole('row').filter({ hasText: 'compute' }).getByRole('cell').allTextContents();
  assert.deepEqual(compute.slice(3, 5), ['400', '300']);
  await shot(page, 'bill-diff');

  step('events, runs and the simulate form');
  await nav(page, 'Events').click();
  await page.getByLabel('State').selectOption('accepted');
  await page.getByLabel('Dimension').fill('storage');
  await page.getByRole('button', { name: 'Filter' }).click();
  await page.waitForURL(/dimension=storage/);
  const filtered = page.getByRole('region', { name: 'Events', exact: true });
  await filtered.getByRole('row').nth(1).waitFor();
  const states = await filtered.locator('tbody tr td:nth-child(5)').allTextContents();
  assert.ok(states.length > 0 && states.every((d) => d === 'storage'), `dimensions shown: ${states}`);

  await page.getByLabel('State').selectOption('rejected');
  await page.getByLabel('Dimension').fill('');
  await page.getByRole('button', { name: 'Filter' }).click();
  await page.waitForURL(/status=rejected$/);
  const rejected = filtered.getByRole('row').filter({ hasText: 'InvalidDimension' });
  await rejected.waitFor();
  await shot(page, 'events');
  await rejected.getByRole('button', { name: /^Retry event \d+$/ }).click();
  await page.locator('#status', { hasText: /Event \d+ requeued/ }).waitFor();
  await nav(page, 'Runs').click();
  await page.getByRole('heading', { name: 'Integration runs', level: 1, exact: true }).waitFor();
  await shot(page, 'runs');
  // The oldest run: the first conversion, whose events Azure answered (a newer run may have sent nothing).
  await page.getByRole('region', { name: 'Integration runs, newest first' }).getByRole('row').last().getByRole('link').first().click();
  await page.getByRole('heading', { name: /^Integration run \d+/ }).waitFor();
  await page.locator('details.payload-box summary').first().click();
  await shot(page, 'run');
  await nav(page, 'Paste a bill').click();
  await page.getByLabel(/^Bill JSON/).fill(JSON.stringify(bill(3, 1), null, 2));
  await shot(page, 'simulate');

  step('delete the run-time mapping');
  await nav(page, 'Mappings').click();
  const storageMapping = page.getByRole('region', { name: 'External mappings' }).getByRole('row')
    .filter({ hasText: 'prod-storage' });
  await storageMapping.getByRole('button', { name: /^Delete mapping \d+$/ }).click();
  await page.locator('#status', { hasText: /Mapping \d+ deleted/ }).waitFor();
  await storageMapping.waitFor({ state: 'detached' });
  assert.equal(await page.getByRole('region', { name: 'External mappings' }).getByRole('row')
    .filter({ hasText: 'prod-compute' }).getByRole('button').count(), 0, 'a mapping of the config file has no delete');

  step('phone width: nothing overflows');
  await page.setViewportSize({ width: 375, height: 800 });
  await page.goto(`${base}/console/#/overview`);
  await page.getByRole('heading', { name: 'Overview', level: 1 }).waitFor();
  const width = await page.evaluate(() => document.documentElement.scrollWidth);
  assert.ok(width <= 375, `the overview is ${width} px wide at 375 px`);
  await shot(page, 'overview-phone');
  await page.setViewportSize({ width: 1280, height: 900 });

  step('behind a reverse proxy under /ops/');
  const proxyPort = await startPrefixProxy(daemon.port, '/ops');
  const prefixed = await context.newPage();
  await prefixed.goto(`http://127.0.0.1:${proxyPort}/ops/console`);
  assert.equal(new URL(prefixed.url()).pathname, '/ops/console/');
  await prefixed.getByLabel('Ops token').fill(OPS_TOKEN);
  await prefixed.getByRole('button', { name: 'Log in' }).click();
  await prefixed.getByRole('link', { name: BILL_ID, exact: true }).waitFor();

  assert.deepEqual(problems, [], 'no script error and no Content-Security-Policy violation');
  step('all passed');
}

let failed = false;
try {
  await main();
} catch (error) {
  failed = true;
  console.error(error);
} finally {
  await runCleanups();
  rmSync(work, { recursive: true, force: true });
}
process.exit(failed ? 1 : 0);
