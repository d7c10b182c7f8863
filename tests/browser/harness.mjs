// What the console's browser test needs besides the browser: the real daemon
// as a child process on 127.0.0.1, m3ter's signed webhook, the sandbox's
// record of what Azure accepted, a path-prefixing reverse proxy, and clean-up
// of all of them (run in order by runCleanups).
import { spawn } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';

const cleanups = [];

// `cleanup` runs at the end; `first` puts it before the others (the browser
// closes before the daemon it talks to stops).
export function atEnd(cleanup, first = false) {
  if (first) cleanups.unshift(cleanup);
  else cleanups.push(cleanup);
}

export async function runCleanups() {
  for (const cleanup of cleanups.splice(0)) {
    try {
      await cleanup();
    } catch (error) {
      console.error('cleanup:', error.message);
    }
  }
}

// Starts `meterbridge serve` with `config` (written into `dir`) and `env`;
// resolves with its port and the built-in sandbox's URL once both are logged.
// Stopped with SIGTERM at the end (SIGKILL after 10 s).
export function startDaemon(binary, dir, config, env) {
  const configPath = path.join(dir, 'config.json');
  writeFileSync(configPath, JSON.stringify(config, null, 2));
  const child = spawn(binary, ['serve', '--config', configPath], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  atEnd(() => new Promise((resolve) => {
    if (child.exitCode !== null) return resolve();
    child.once('exit', resolve);
    child.kill('SIGTERM');
    setTimeout(() => child.kill('SIGKILL'), 10000).unref();
  }));
  let log = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the daemon did not start:\n${log}`)), 20000);
    child.stderr.on('data', (chunk) => {
      log += chunk;
      const port = /listening on 127\.0\.0\.1:(\d+)/.exec(log);
      const sandbox = /built-in sandbox at (\S+)/.exec(log);
      if (port && sandbox) {
        clearTimeout(timer);
        resolve({ port: Number(port[1]), sandbox: sandbox[1].replace(/\/$/, '') });
      }
    });
    child.once('exit', (code) => reject(new Error(`the daemon exited with ${code}:\n${log}`)));
  });
}

// Posts `body` (text) to the daemon's webhook signed as m3ter's
// M3TER_SIGNED_REQUEST does it (scripts/send-bill): HMAC-SHA256 over
// "{public_base_url}{path}|{api_key}|{timestamp}|{body}", hex.
export async function postSigned(base, publicUrl, { apiKey, apiSecret }, body, webhookPath = '/webhooks/m3ter') {
  const timestamp = String(Math.floor(Date.now() / 1000));
  const signature = createHmac('sha256', apiSecret)
    .update(`${publicUrl}${webhookPath}|${apiKey}|${timestamp}|${body}`).digest('hex');
  return fetch(`${base}${webhookPath}`, {
    method: 'POST', body,
    headers: { 'Content-Type': 'application/json', 'X-m3ter-apikey': apiKey, 'X-m3ter-timestamp': timestamp,
      'X-m3ter-signature': signature },
  });
}

// The units the sandbox (Azure's side) accepted for (resource, dimension).
export async function sandboxUnits(sandbox, resourceId, dimension) {
  const answer = await fetch(`${sandbox}/_sandbox/events`);
  const { events } = await answer.json();
  return events.filter((e) => e.dimension === dimension && e.resourceId === resourceId)
    .reduce((sum, e) => sum + Number(e.quantity), 0);
}

// A proxy on a free loopback port serving the daemon under `prefix` (e.g.
// "/ops"), as nginx does with `location /ops/ { proxy_pass http://daemon/; }`.
export function startPrefixProxy(port, prefix) {
  const server = http.createServer((request, response) => {
    if (!request.url.startsWith(`${prefix}/`)) {
      response.writeHead(404).end();
      return;
    }
    const upstream = http.request({ host: '127.0.0.1', port, path: request.url.slice(prefix.length),
      method: request.method, headers: request.headers }, (answer) => {
      response.writeHead(answer.statusCode, answer.headers);
      answer.pipe(response);
    });
    upstream.on('error', () => response.writeHead(502).end());
    request.pipe(upstream);
  });
  atEnd(() => new Promise((resolve) => server.close(resolve)));
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server.address().port)));
}

// Reloads the page (re-rendering its route) until `check` passes, for what
// the daemon does in the background (conversion, sending).
export async function eventually(page, what, check, seconds = 20) {
  const deadline = Date.now() + seconds * 1000;
  for (;;) {
    try {
      await check();
      return;
    } catch (error) {
      if (Date.now() > deadline) throw new Error(`${what}: ${error.message}`);
    }
    await page.waitForTimeout(500);
    await page.reload();
    await page.locator('#page h1').waitFor();
  }
}
