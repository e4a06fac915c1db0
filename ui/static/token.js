// The API token of changes: typed once, kept in this tab's sessionStorage, sent as
// Authorization: Bearer (never a cookie); a 401 forgets it and says how to set it on the server.

import { ApiError } from "./api.js";
import { h } from "./dom.js";

const TOKEN_KEY = "fresco-api-token";

// The token's field, filled in with the tab's token.
export function tokenInput() {
  return h("input", { type: "password", name: "token", autocomplete: "off", value: sessionStorage.getItem(TOKEN_KEY) || "" });
}

// The token typed in `input`, kept for the tab.
export function tokenOf(input) {
  const secret = input.value.trim();
  if (secret) sessionStorage.setItem(TOKEN_KEY, secret);
  return secret;
}

// A failed change, shown with the element id `id`: a 401 says how to allow changes.
export function changeFailed(error, id) {
  if (!(error instanceof ApiError && error.status === 401)) {
    return h("p", { class: "error", role: "alert", id }, error.message);
  }
  sessionStorage.removeItem(TOKEN_KEY);
  return h("div", { class: "error", role: "alert", id },
    h("p", {}, error.message),
    h("p", {}, "To allow changes, start the server with a token and enter the same token here:"),
    h("pre", {}, "export FRESCO_API_TOKEN=$(openssl rand -hex 24)\nfresco ui"));
}
