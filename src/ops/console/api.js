// The ops API as the console calls it. The API's base is the directory above
// the console's own ("/prefix/console/" calls "/prefix/bills/..."), so the
// console works under any path prefix a reverse proxy adds. The token lives
// in this tab's sessionStorage and goes out as a bearer header: no cookie,
// so no request can be forged from another site.

const TOKEN_KEY = 'meterbridge.opsToken';

export const apiBase = new URL('..', window.location.href);

export function token() {
  return window.sessionStorage.getItem(TOKEN_KEY);
}

export function setToken(value) {
  if (value) window.sessionStorage.setItem(TOKEN_KEY, value);
  else window.sessionStorage.removeItem(TOKEN_KEY);
}

// An answer other than 2xx: the API's {"error":{code,message,field}} when it
// sent one.
export class ApiError extends Error {
  constructor(status, code, message, field) {
    super(message);
    this.status = status;
    this.code = code;
    this.field = field;
  }
}

// path is relative ("bills/b-1"); query an object of parameters (empty ones
// are left out); body a value sent as JSON, or rawJson JSON text sent as it
// is (a pasted bill: its amounts keep their exact decimal text, which a
// round trip through JavaScript numbers would not).
export async function api(path, { method = 'GET', query = {}, body, rawJson } = {}) {
  const url = new URL(path, apiBase);
  for (const [name, value] of Object.entries(query)) {
    if (value !== undefined && value !== null && value !== '') url.searchParams.set(name, value);
  }
  const headers = { Accept: 'application/json' };
  const bearer = token();
  if (bearer) headers.Authorization = `Bearer ${bearer}`;
  const payload = rawJson !== undefined ? rawJson : (body === undefined ? undefined : JSON.stringify(body));
  if (payload !== undefined) headers['Content-Type'] = 'application/json';
  let response;
  try {
    response = await fetch(url, {
      method,
      headers,
      body: payload,
      credentials: 'omit',
      cache: 'no-store',
    });
  } catch (failure) {
    throw new ApiError(0, 'network', `meterbridge did not answer (${failure.message})`);
  }
  if (response.status === 204) return null;
  return readAnswer(response);
}

// Money arrives as exact JSON numbers (the decimal text meterbridge holds).
// A JavaScript number would round some of them (2.500000000000000001 is 2.5),
// so every number written with a fraction or an exponent, and any integer
// beyond 2^53, is kept as its source text; unit counts stay numbers.
function exactNumbers(key, value, context) {
  if (typeof value !== 'number' || !context || typeof context.source !== 'string') return value;
  return /[.eE]/.test(context.source) || !Number.isSafeInteger(value) ? context.source : value;
}

async function readAnswer(response) {
  const text = await response.text();
  let json = null;
  try {
    json = text ? JSON.parse(text, exactNumbers) : null;
  } catch {
    json = null;
  }
  if (!response.ok) {
    const error = json && json.error ? json.error : {};
    throw new ApiError(response.status, error.code || `http_${response.status}`,
      error.message || `HTTP ${response.status}`, error.field);
  }
  return json;
}
