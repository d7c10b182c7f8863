// The console's shell: log in, route the hash ("#/bill/b-1?x=y") to a page,
// show its errors. Pages are functions (params, rerender) -> nodes.
import { ApiError, api, setToken, token } from './api.js';
import { billPage } from './bill.js';
import { eventsPage } from './events.js';
import { mappingsPage } from './mappings.js';
import { overviewPage } from './overview.js';
import { runsPage } from './runs.js';
import { simulatePage } from './simulate.js';
import { announce, el, errorBox } from './ui.js';

const PAGES = {
  overview: overviewPage,
  bill: billPage,
  events: eventsPage,
  mappings: mappingsPage,
  runs: runsPage,
  simulate: simulatePage,
};

const $ = (id) => document.getElementById(id);

// "#/bill/b-1?from=1" -> {page: 'bill', params: {id: 'b-1', from: '1'}}
function parseHash() {
  const hash = window.location.hash.replace(/^#\/?/, '');
  const [path, search = ''] = hash.split('?');
  const [page, ...rest] = path.split('/');
  const params = Object.fromEntries(new URLSearchParams(search));
  if (rest.length) params.id = decodeURIComponent(rest.join('/'));
  return { page: PAGES[page] ? page : 'overview', params };
}

function showLogin(message) {
  $('login').hidden = false;
  $('nav').hidden = true;
  $('logout').hidden = true;
  $('page').replaceChildren();
  const error = $('login-error');
  error.hidden = !message;
  error.textContent = message || '';
  $('token').focus();
}

function refusedMessage(error) {
  return `The ops token was refused (${error.status}): ${error.message}. Check ops.token in the daemon's config.`;
}

let rendering = 0;

async function render() {
  if (!token()) {
    showLogin();
    return;
  }
  $('login').hidden = true;
  $('nav').hidden = false;
  $('logout').hidden = false;
  const { page, params } = parseHash();
  for (const a of document.querySelectorAll('#nav a')) {
    if (a.getAttribute('href') === `#/${page}`) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  const mine = ++rendering;
  const container = $('page');
  container.setAttribute('aria-busy', 'true');
  let nodes;
  try {
    nodes = await PAGES[page](params, render);
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) {
      setToken(null);
      showLogin(refusedMessage(error));
      return;
    }
    nodes = [el('h1', { tabindex: '-1' }, 'Something went wrong'), errorBox(error)];
  }
  if (mine !== rendering) return;  // a newer navigation won
  container.replaceChildren(...[nodes].flat(Infinity).filter(Boolean));
  container.removeAttribute('aria-busy');
  document.title = `${container.querySelector('h1')?.textContent || 'Console'} · meterbridge`;
}

async function login(event) {
  event.preventDefault();
  const value = $('token').value.trim();
  if (!value) return;
  setToken(value);
  try {
    await api('overview', { query: { hours: 1 } });
  } catch (error) {
    setToken(null);
    showLogin(error instanceof ApiError && error.status === 401 ? refusedMessage(error) : `Cannot log in: ${error.message}`);
    return;
  }
  $('token').value = '';
  announce('Logged in.');
  await render();
  document.querySelector('#page h1')?.focus();
}

window.addEventListener('hashchange', async () => {
  await render();
  document.querySelector('#page h1')?.focus();
});
window.addEventListener('DOMContentLoaded', () => {
  $('login-form').addEventListener('submit', login);
  $('logout').addEventListener('click', () => {
    setToken(null);
    announce('Logged out.');
    showLogin();
  });
  render();
});
