// Training from the pages: pick a config of the repository, edit its hyperparameters (fields
// made from the trainer's JSON schema) and its feature service, start it with the API token;
// then the job's page polls its progress until the new model (a link) or the error.

import { enc, get, post } from "./api.js";
import { h, modelLink, table, when } from "./dom.js";
import { changeFailed, tokenInput, tokenOf } from "./token.js";

// One field of a JSON schema property: its HTML input and how its text is read back.
function field(path, label, schema, value) {
  const types = [schema.type, ...(schema.anyOf || []).map((s) => s.type)].filter(Boolean);
  const nullable = types.includes("null");
  if (types.includes("boolean")) {
    const box = h("input", { type: "checkbox", name: path, checked: Boolean(value) });
    return [h("label", {}, label, box), () => box.checked];
  }
  const numeric = types.includes("integer") || types.includes("number");
  const bounds = (schema.anyOf || []).find((s) => s.type === "integer" || s.type === "number") || schema;
  const input = h("input", {
    name: path, value: value === null || value === undefined ? "" : String(value),
    type: numeric ? "number" : "text", step: types.includes("integer") ? "1" : "any",
    min: bounds.minimum, max: bounds.maximum, placeholder: nullable ? "none" : undefined,
  });
  const read = () => {
    const text = input.value.trim();
    if (text === "" && nullable) return null;
    return numeric && text !== "" ? Number(text) : text;
  };
  return [h("label", {}, label, input), read];
}

export async function trainPage(params) {
  const { configs } = await get("/api/configs");
  if (!configs.length) {
    return h("section", {}, h("h1", {}, "Train"), h("p", {}, "No model configs: this repository's models/ folder holds none."));
  }
  const chosen = params.get("config") || configs[0].name;
  const detail = await get(`/api/configs/${enc(chosen)}`);
  const { jobs } = await get("/api/train");
  const picker = h("select", { name: "config", id: "train-config" },
    configs.map((c) => h("option", { value: c.name, selected: c.name === chosen }, `${c.name} (${c.type || "?"} ${c.task || ""})`)));
  picker.addEventListener("change", () => { location.hash = `#/train?config=${enc(picker.value)}`; });

  const current = detail.config;
  const fields = [];  // [path, read, original]
  const hyper = (detail.hyperparameters_schema || {}).properties || {};
  for (const [name, schema] of Object.entries(hyper)) {
    const value = current.model.hyperparameters[name] ?? schema.default;
    const [element, read] = field(`model.hyperparameters.${name}`, name, schema, value);
    fields.push([`model.hyperparameters.${name}`, read, value, element]);
  }
  const service = field("features.service", "feature service", { type: "string" }, current.features.service);
  fields.push(["features.service", service[1], current.features.service, service[0]]);
  const token = tokenInput();
  const status = h("div", { id: "train-status", "aria-live": "polite" });
  const form = h("form", { class: "filters", id: "train-form" },
    h("fieldset", {}, h("legend", {}, "Hyperparameters"), fields.filter(([p]) => p.startsWith("model.")).map((f) => f[3])),
    h("fieldset", {}, h("legend", {}, "Inputs"), service[0]),
    h("label", {}, "API token", token),
    h("button", { type: "submit", id: "train-start" }, "Train"));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const overrides = {};
    for (const [path, read, original] of fields) {
      const value = read();
      if (JSON.stringify(value) !== JSON.stringify(original ?? null)) overrides[path] = value;
    }
    try {
      const job = await post("/api/train", { config: chosen, overrides }, tokenOf(token));
      location.hash = `#/train/${enc(job.id)}`;
    } catch (error) {
      status.replaceChildren(changeFailed(error, "train-error"));
    }
  });
  return h("section", {}, h("h1", {}, "Train a model"),
    h("label", {}, "Config ", picker), h("p", { class: "muted" }, detail.path), form, status,
    h("h2", {}, "Trainings started here"), jobTable(jobs));
}

function jobTable(jobs) {
  return table([["Job", (j) => h("a", { href: `#/train/${enc(j.id)}` }, j.id)], ["Config", (j) => j.config],
    ["Started", (j) => `${when(j.started_at)} by ${j.started_by}`], ["Status", (j) => j.status],
    ["Model", (j) => (j.model ? modelLink(j.model) : "—")]], jobs, { id: "train-jobs" });
}

export async function jobPage(_, id) {
  const state = h("p", { id: "job-status" });
  const lines = h("pre", { id: "job-progress" });
  const outcome = h("div", { id: "job-outcome" });
  const section = h("section", {}, h("h1", {}, `Training ${id}`), state, outcome, h("h2", {}, "Progress"), lines);
  const shown = location.hash;
  async function poll() {
    const job = await get(`/api/train/${enc(id)}`);
    state.textContent = `${job.status}: ${job.config}, started ${when(job.started_at)} by ${job.started_by}`;
    state.dataset.status = job.status;
    lines.textContent = job.progress.join("\n");
    if (job.status === "succeeded") {
      outcome.replaceChildren(h("p", { class: "ok", id: "job-model" }, "New model: ", modelLink(job.model, job.model),
        " (", h("a", { href: "#/models" }, "all models"), ")"));
    } else if (job.status === "failed") {
      outcome.replaceChildren(h("p", { class: "error", role: "alert", id: "job-error" }, job.error));
    } else if (location.hash === shown) {
      setTimeout(() => poll().catch((error) => outcome.replaceChildren(changeFailed(error, "job-error"))), 1000);
    }
  }
  await poll();
  return section;
}
