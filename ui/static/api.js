// The JSON API, as the pages call it. An error answer has the service's shape
// {error, message, field}: thrown as an ApiError carrying it and the HTTP status.

export class ApiError extends Error {
  constructor(status, body) {
    super(body.message || `HTTP ${status}`);
    this.status = status;
    this.kind = body.error || "error";
    this.field = body.field || null;
  }
}

function url(path, params = {}) {
  const query = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    for (const one of [].concat(value)) {
      if (one !== undefined && one !== null && one !== "") query.append(key, one);
    }
  }
  const text = query.toString();
  return text ? `${path}?${text}` : path;
}

async function answer(response) {
  const body = await response.json().catch(() => ({ message: `HTTP ${response.status}` }));
  if (!response.ok) throw new ApiError(response.status, body);
  return body;
}

export async function get(path, params) {
  return answer(await fetch(url(path, params), { headers: { Accept: "application/json" } }));
}

// A change: the token goes in the Authorization header only (no cookie is ever used).
async function change(method, path, body, token) {
  const headers = { Accept: "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (token) headers.Authorization = `Bearer ${token}`;
  const sent = body === undefined ? undefined : JSON.stringify(body);
  return answer(await fetch(url(path), { method, headers, body: sent, credentials: "omit" }));
}

export const put = (path, body, token) => change("PUT", path, body, token);
export const post = (path, body, token) => change("POST", path, body, token);
export const del = (path, token) => change("DELETE", path, undefined, token);

export const enc = encodeURIComponent;
