// Tags and where the prediction service routes them; moving a tag, and starting, changing or
// stopping an experiment (an A/B split of a tag's requests by weight), ask for the API token
// (token.js) and for a confirmation that states the change before anything is sent.

import { del, enc, get, put } from "./api.js";
import { fmt, h, modelLink, short, table, when } from "./dom.js";
import { changeFailed, tokenInput, tokenOf } from "./token.js";

function route(tag) {
  const r = tag.route;
  if (!r.experiment) return r.uuid === tag.uuid ? "its model" : modelLink(r.uuid);
  const total = r.experiment.arms.reduce((sum, a) => sum + a.weight, 0);  // weights are any positive numbers
  return [`experiment ${r.experiment.name}: `,
    r.experiment.arms.map((a, i) => [i ? ", " : "", modelLink(a.uuid), ` ${fmt((a.weight / total) * 100)}%`])];
}

export async function tagsPage() {
  const [{ tags }, { models }] = await Promise.all([get("/api/tags"), get("/api/models")]);
  const names = Object.fromEntries(models.map((m) => [m.uuid, m.name]));
  const label = (uuid) => (uuid ? `${short(uuid)} ${names[uuid] || ""}`.trim() : "no model");
  const status = h("div", { id: "move-status", "aria-live": "polite" });
  const token = tokenInput();
  const form = h("form", { class: "filters", id: "move-form" },
    h("label", {}, "Tag", h("input", { name: "tag", list: "tag-names", required: true })),
    h("datalist", { id: "tag-names" }, tags.map((t) => h("option", { value: t.tag }))),
    h("label", {}, "To model", h("select", { name: "model", required: true },
      models.map((m) => h("option", { value: m.uuid }, `${label(m.uuid)} ${m.tags.join(" ")}`)))),
    h("label", {}, "API token", token),
    h("button", { type: "submit" }, "Move…"));
  const tagTable = (list) => table([["Tag", (t) => t.tag], ["Model", (t) => [modelLink(t.uuid), ` ${t.model || ""}`]],
    ["Requests go to", route], ["Moved", (t) => (t.moved_at ? `${when(t.moved_at)} by ${t.moved_by}` : "—")],
    ["", (t) => h("button", { type: "button", onclick: () => pickTag(t.tag) }, "Move…")]],
  list, { id: "tags" });
  function pickTag(tag) {
    form.elements.tag.value = tag;
    form.elements.model.focus();
  }
  const rows = h("div", {}, tagTable(tags));

  // The confirmation states the change as it is now (the tag may have moved since the page opened).
  async function confirmMove(tag, model) {
    const { tags: now } = await get("/api/tags");
    const from = (now.find((t) => t.tag === tag) || {}).uuid;
    rows.replaceChildren(tagTable(now));
    const box = h("div", { class: "confirm", id: "move-confirm", role: "dialog" },
      h("p", {}, `Tag ${tag}: from model ${label(from)} to model ${label(model)}.`),
      from === model ? h("p", { class: "muted" }, "It points there already.") : "",
      h("p", {}, "Prediction services follow within a second; the move is recorded in the audit log."));
    const send = h("button", { type: "button", id: "move-confirm-yes" }, "Move the tag");
    const cancel = h("button", { type: "button" }, "Cancel");
    cancel.addEventListener("click", () => status.replaceChildren());
    send.addEventListener("click", async () => {
      send.disabled = true;
      try {
        const moved = await put(`/api/tags/${enc(tag)}`, { model }, tokenOf(token));
        status.replaceChildren(h("p", { class: "ok", id: "move-done" },
          `Tag ${moved.tag} moved from ${label(moved.from)} to ${label(moved.to)} by ${moved.moved_by}.`));
        rows.replaceChildren(tagTable((await get("/api/tags")).tags));
      } catch (error) {
        status.replaceChildren(changeFailed(error, "move-error"));
      }
    });
    box.append(h("p", {}, send, " ", cancel));
    status.replaceChildren(box);
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const data = new FormData(form);
    confirmMove(String(data.get("tag")).trim(), String(data.get("model")))
      .catch((error) => status.replaceChildren(h("p", { class: "error", role: "alert" }, error.message)));
  });

  return h("section", {}, h("h1", {}, "Tags"), rows, h("h2", {}, "Move a tag"), form, status,
    await experimentsPart(models, label, () => get("/api/tags").then(({ tags: now }) => rows.replaceChildren(tagTable(now)))));
}

const percent = (arms) => {
  const total = Object.values(arms).reduce((a, b) => a + b, 0);
  return (label) => Object.entries(arms).map(([arm, w]) => `${label(arm)} ${fmt((w / total) * 100)}%`).join(", ");
};

// Running experiments, and the form that starts one or changes its weights (two arms).
async function experimentsPart(models, label, refreshTags) {
  const status = h("div", { id: "experiment-status", "aria-live": "polite" });
  const token = tokenInput();
  const modelSelect = (name) => h("select", { name, required: true },
    models.map((m) => h("option", { value: m.uuid }, `${label(m.uuid)} ${m.tags.join(" ")}`)));
  const weight = (name) => h("input", { type: "number", name, min: "0", step: "any", value: "50", required: true });
  const form = h("form", { class: "filters", id: "experiment-form" },
    h("label", {}, "Experiment", h("input", { name: "name", required: true })),
    h("label", {}, "Tag", h("input", { name: "tag", list: "tag-names", required: true })),
    h("label", {}, "Arm A", modelSelect("model_a")), h("label", {}, "weight", weight("weight_a")),
    h("label", {}, "Arm B", modelSelect("model_b")), h("label", {}, "weight", weight("weight_b")),
    h("label", {}, "API token", token),
    h("button", { type: "submit" }, "Start or change…"));
  const list = h("div", {});

  async function refresh() {
    const { experiments } = await get("/api/experiments");
    list.replaceChildren(experiments.length ? table([["Experiment", (e) => e.name], ["Tag", (e) => e.tag],
      ["Arms", (e) => percent(e.arms)(label)], ["Sticky by", (e) => (e.key || ["entity keys"]).join(", ")],
      ["Changed", (e) => `${when(e.changed_at)} by ${e.changed_by}`],
      ["", (e) => [h("button", { type: "button", onclick: () => pick(e) }, "Change…"), " ",
        h("button", { type: "button", class: "stop", onclick: () => confirmStop(e) }, "Stop…")]]],
    experiments, { id: "experiments" }) : h("p", { class: "muted", id: "experiments" }, "No experiment is running."));
    return experiments;
  }

  function pick(e) {
    const [[a, wa], [b, wb] = [a, 0]] = Object.entries(e.arms);
    form.elements.name.value = e.name;
    form.elements.tag.value = e.tag;
    form.elements.model_a.value = a;
    form.elements.weight_a.value = wa;
    form.elements.model_b.value = b;
    form.elements.weight_b.value = wb;
  }

  function ask(text, yes, send) {
    const button = h("button", { type: "button", id: "experiment-confirm-yes" }, yes);
    const cancel = h("button", { type: "button", onclick: () => status.replaceChildren() }, "Cancel");
    button.addEventListener("click", async () => {
      button.disabled = true;
      try {
        status.replaceChildren(h("p", { class: "ok", id: "experiment-done" }, await send(tokenOf(token))));
        await Promise.all([refresh(), refreshTags()]);
      } catch (error) {
        status.replaceChildren(changeFailed(error, "experiment-error"));
      }
    });
    status.replaceChildren(h("div", { class: "confirm", id: "experiment-confirm", role: "dialog" },
      text.map((line) => h("p", {}, line)),
      h("p", {}, "Prediction services follow within a second; the change is recorded in the audit log."),
      h("p", {}, button, " ", cancel)));
  }

  // The confirmation states the change against the experiments as they are now.
  async function confirmSplit(name, tag, arms) {
    const now = (await refresh()).find((e) => e.name === name);
    const { tags } = await get("/api/tags");
    const model = (tags.find((t) => t.tag === tag) || {}).uuid;
    const before = now ? `arms ${percent(now.arms)(label)}` : `model ${label(model)} (the tag's own)`;
    ask([`Experiment ${name} on tag ${tag}: from ${before} to arms ${percent(arms)(label)}.`],
      now ? "Change the weights" : "Start the experiment",
      async (secret) => {
        const done = await put(`/api/experiments/${enc(name)}`, { tag, arms }, secret);
        return `Experiment ${done.name} ${done.action === "start" ? "started" : "changed"} by ${done.changed_by}: ${done.tag} splits ${percent(done.arms)(label)}.`;
      });
  }

  function confirmStop(e) {
    ask([`Experiment ${e.name} stops: tag ${e.tag} goes from arms ${percent(e.arms)(label)} back to its own model.`],
      "Stop the experiment", async (secret) => {
        const done = await del(`/api/experiments/${enc(e.name)}`, secret);
        return `Experiment ${done.name} stopped by ${done.changed_by}: ${done.tag} routes to its own model.`;
      });
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const data = new FormData(form);
    const arms = {};
    for (const side of ["a", "b"]) {
      const model = String(data.get(`model_${side}`));
      arms[model] = (arms[model] || 0) + Number(data.get(`weight_${side}`));
    }
    confirmSplit(String(data.get("name")).trim(), String(data.get("tag")).trim(), arms)
      .catch((error) => status.replaceChildren(changeFailed(error, "experiment-error")));
  });
  await refresh();
  return h("div", {}, h("h2", {}, "Experiments (A/B splits)"), list, form, status);
}
