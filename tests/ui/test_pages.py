"""The web pages in a real headless Chromium (Debian's ``chromium`` and ``chromium-driver``,
driven by Selenium) against ``fresco ui`` as its own process (tests/ui/conftest.py). One browser
for the module; each page's screenshot is written as a test artifact (its path printed)."""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import httpx
import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service as DriverService
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support import expected_conditions as shown
from selenium.webdriver.support.ui import Select, WebDriverWait

from tests.serving.conftest import serve
from tests.ui.conftest import TOKEN, Service, reported_and_checked, served_and_observed, suggested

TAG = "basket_value:production"


@pytest.fixture(scope="module")
def browser() -> Iterator[WebDriver]:
    """Headless Chromium; its console is kept to check that no page broke the security policy."""
    binary, driver = shutil.which("chromium"), shutil.which("chromedriver")
    if binary is None or driver is None:
        pytest.fail("the browser tests need Debian's chromium and chromium-driver: "
                    "apt-get install -y chromium chromium-driver (.ci/run installs them)")
    options = webdriver.ChromeOptions()
    options.binary_location = binary
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                     "--window-size=1280,1000", "--no-first-run", "--disable-extensions"):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    chrome = webdriver.Chrome(options=options, service=DriverService(executable_path=driver))
    try:
        yield chrome
    finally:
        chrome.quit()


@pytest.fixture(scope="module")
def screenshots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where the pages' screenshots go: ``$FRESCO_UI_SCREENSHOTS`` or the test's temporary folder."""
    folder = Path(os.environ.get("FRESCO_UI_SCREENSHOTS") or tmp_path_factory.mktemp("screenshots"))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _shoot(browser: WebDriver, folder: Path, name: str) -> None:
    path = folder / f"{name}.png"
    browser.save_screenshot(str(path))
    print(f"screenshot: {path}")


def _open(browser: WebDriver, service: Service, page: str) -> None:
    browser.get(f"{service.url}/#/{page}")


def _wait(browser: WebDriver, css: str, text: str | None = None, timeout: float = 15) -> WebElement:
    """The element ``css`` once shown (holding ``text`` when given)."""
    wait = WebDriverWait(browser, timeout)
    if text is not None:
        wait.until(shown.text_to_be_present_in_element((By.CSS_SELECTOR, css), text))
    return wait.until(shown.visibility_of_element_located((By.CSS_SELECTOR, css)))


def _no_policy_violations(browser: WebDriver) -> None:
    """No script error and nothing the security policy refused since the last look at the console
    (an API's error answer, logged as a failed load, is a page's to show, not a problem here)."""
    problems = [e["message"] for e in browser.get_log("browser")
                if e["level"] == "SEVERE" and "Failed to load resource" not in e["message"]]
    assert not problems, problems


def test_the_catalog_finds_a_feature_and_opens_its_page(browser: WebDriver, service: Service,
                                                       screenshots: Path) -> None:
    browser.get(service.url + "/")  # the root opens the catalog
    _wait(browser, "#features tbody", "customer_segments:segment")
    _shoot(browser, screenshots, "catalog")
    search = browser.find_element(By.CSS_SELECTOR, "input[name=q]")
    search.send_keys("order_value")
    search.submit()
    _wait(browser, "#features tbody", "customer_stats:avg_order_value_30d")
    WebDriverWait(browser, 10).until(lambda b: len(b.find_elements(By.CSS_SELECTOR, "#features tbody tr")) == 1)
    assert "q=order_value" in browser.current_url
    _shoot(browser, screenshots, "catalog-search")
    browser.find_element(By.LINK_TEXT, "customer_stats:avg_order_value_30d").click()
    facts = _wait(browser, "table.facts", "within SLA").text
    assert "Mean order value, same window." in browser.find_element(By.ID, "page").text
    assert "basket_value_v1" in facts and service.model_a[:8] in facts and "2d" in facts  # TTL
    _shoot(browser, screenshots, "feature")
    _no_policy_violations(browser)


def test_a_features_page_draws_its_distribution_and_its_views_history(browser: WebDriver, service: Service,
                                                                      screenshots: Path) -> None:
    base = f"{service.url}/api/catalog"
    for feature, kind in (("avg_order_value_30d", "number"), ("segment", "category")):
        answer = httpx.get(f"{base}/features/customer_stats/{feature}/distribution", timeout=30).json()
        assert answer["kind"] == kind
        _open(browser, service, f"feature/customer_stats/{feature}")
        _wait(browser, "h1", f"customer_stats:{feature}")  # this feature's page, not the one before
        about = _wait(browser, "#distribution-about", "rows sampled").text
        assert f"{answer['sampled']} rows sampled of {answer['source_rows']} in customer_stats_source" in about
        bars = browser.find_elements(By.CSS_SELECTOR, "#distribution-chart svg.chart rect.bar")
        shown = answer["bins"] if kind == "number" else answer["values"] + ([1] if answer["other"] else [])
        assert len(bars) == len(shown) > 1
        labels = [t.text for t in browser.find_elements(By.CSS_SELECTOR, "#distribution-chart svg text.label")]
        if kind == "category":
            assert labels[:len(answer["values"])] == [v["value"] for v in answer["values"]]
        history = httpx.get(f"{base}/views/customer_stats/history", timeout=30).json()
        (row,) = browser.find_elements(By.CSS_SELECTOR, "#history tbody tr")
        (registered,) = history["changes"]
        assert sorted(registered["added"]) == ["avg_order_value_30d", "orders_30d", "segment"]
        assert ", ".join(registered["added"]) in row.text and registered["source"] in row.text
        assert row.find_element(By.TAG_NAME, "strong").text == feature  # the page's feature stands out
        browser.execute_script("arguments[0].scrollIntoView()", browser.find_element(By.ID, "distribution-about"))
        _shoot(browser, screenshots, f"feature-{kind}")
    _no_policy_violations(browser)


def test_a_models_page_opens_its_tree_viewer(browser: WebDriver, service: Service, screenshots: Path) -> None:
    _open(browser, service, f"model/{service.model_a}")
    page = _wait(browser, "#page", "Held-out metrics against the baseline")
    assert TAG in page.text and "rmse" in page.text
    assert browser.find_elements(By.CSS_SELECTOR, "svg.chart rect.bar")  # the importance bars
    _shoot(browser, screenshots, "model")
    browser.find_element(By.ID, "tree-link").click()
    split = _wait(browser, "#tree details.split > summary")
    inputs = httpx.get(f"{service.url}/api/models/{service.model_a}", timeout=30).json()["inputs"]
    assert split.find_element(By.TAG_NAME, "strong").text in inputs
    assert " < " in split.text and "gain" in split.text and "cover" in split.text
    assert browser.find_elements(By.CSS_SELECTOR, "#tree .leaf")
    _shoot(browser, screenshots, "tree")
    browser.find_element(By.XPATH, "//button[contains(., 'next')]").click()
    _wait(browser, "h1", "Tree 1")
    _open(browser, service, f"model/{service.by_segment}")
    _wait(browser, "#partitions", "segment=regular")
    _open(browser, service, f"model/{service.by_segment}/tree/0?partition=segment%3Dregular")
    _wait(browser, "h1", "Tree 0 of partition segment=regular")
    assert browser.find_elements(By.CSS_SELECTOR, "#tree .leaf")
    _open(browser, service, f"model/{service.linear}")
    _wait(browser, "#page", "linear")
    assert not browser.find_elements(By.ID, "tree-link")  # no trees
    _no_policy_violations(browser)


def _scroll_to(browser: WebDriver, element: WebElement) -> None:
    """``element`` at the top of the window (for the screenshot)."""
    browser.execute_script("arguments[0].scrollIntoView()", element)


def _title_number(element: WebElement) -> float:
    """The value a chart's point or cell states last in its title (``...: 12.34``)."""
    return float(element.find_element(By.TAG_NAME, "title").get_attribute("textContent").rsplit(" ", 1)[1])


def test_a_models_page_draws_its_curves_and_partial_dependence(browser: WebDriver, service: Service,
                                                               screenshots: Path) -> None:
    evaluation = httpx.get(f"{service.url}/api/models/{service.model_a}/evaluation", timeout=60).json()
    _open(browser, service, f"model/{service.model_a}")
    _wait(browser, "h1", service.model_a[:8])  # this model's page, not the one before
    versus = _wait(browser, "#curve-predicted-vs-actual svg")
    shown = len(evaluation["curves"]["predicted_vs_actual"]["predicted"])
    assert len(versus.find_elements(By.CSS_SELECTOR, "circle.series-0")) == shown  # every row of the sample drawn
    deciles = versus.find_elements(By.CSS_SELECTOR, "circle.series-1")
    means = evaluation["curves"]["predicted_vs_actual"]["deciles"]["mean_predicted"]
    assert [_title_number(d) for d in deciles] == pytest.approx(means, rel=1e-3)
    assert browser.find_elements(By.CSS_SELECTOR, "#curve-residuals svg circle")
    assert f"{evaluation['sample_rows']} rows of the test split" in _wait(browser, "#evaluation").text
    line = _wait(browser, "#dependence-chart svg polyline")
    first = Select(browser.find_element(By.CSS_SELECTOR, "#dependence-form select[name=first]")).first_selected_option
    answer = httpx.get(f"{service.url}/api/models/{service.model_a}/partial-dependence",
                       params={"feature": first.text}, timeout=60).json()
    dots = line.find_elements(By.XPATH, "../*[local-name()='circle']")
    assert [_title_number(d) for d in dots] == pytest.approx(answer["mean_prediction"], rel=1e-3)
    _scroll_to(browser, versus)
    _shoot(browser, screenshots, "model-curves")
    second = "hour" if first.text != "hour" else "orders"
    Select(browser.find_element(By.CSS_SELECTOR, "#dependence-form select[name=second]")).select_by_value(second)
    browser.find_element(By.CSS_SELECTOR, "#dependence-form button").click()
    _scroll_to(browser, _wait(browser, "#dependence-form"))
    _wait(browser, "#dependence-chart svg.heatmap rect.cell")
    two = httpx.get(f"{service.url}/api/models/{service.model_a}/partial-dependence", timeout=60,
                    params=[("feature", first.text), ("feature", second)]).json()
    cells = browser.find_elements(By.CSS_SELECTOR, "#dependence-chart rect.cell")
    assert len(cells) == len(two["grids"][0]) * len(two["grids"][1])
    assert _title_number(cells[0]) == pytest.approx(two["mean_prediction"][0][0], rel=1e-3)
    _shoot(browser, screenshots, "model-dependence-two-way")
    _open(browser, service, f"model/{service.binary}")
    _wait(browser, "h1", service.binary[:8])
    for curve in ("roc", "precision-recall", "calibration"):
        assert _wait(browser, f"#curve-{curve} svg polyline")
    _scroll_to(browser, browser.find_element(By.ID, "curve-roc"))
    _shoot(browser, screenshots, "model-curves-binary")
    _no_policy_violations(browser)


def test_two_models_are_compared_side_by_side(browser: WebDriver, service: Service, screenshots: Path) -> None:
    _open(browser, service, "models")
    _wait(browser, "#models tbody", service.model_b[:8])
    _shoot(browser, screenshots, "models")
    for uuid in (service.model_a, service.model_b):
        browser.find_element(By.CSS_SELECTOR, f"input[name=compare][value='{uuid}']").click()
    browser.find_element(By.ID, "compare-selected").click()
    metrics = _wait(browser, "#compare-metrics")
    header = metrics.find_element(By.TAG_NAME, "thead").text
    assert service.model_a[:8] in header and service.model_b[:8] in header
    assert "test.rmse" in metrics.text
    diff = browser.find_element(By.ID, "config-diff")
    columns = [c.text for c in diff.find_elements(By.CSS_SELECTOR, "thead th")][1:]  # the list's order
    (row,) = [r for r in diff.find_elements(By.CSS_SELECTOR, "tbody tr") if "n_estimators" in r.text]
    trees = {service.model_a[:8]: "30", service.model_b[:8]: "10"}
    assert [c.text for c in row.find_elements(By.TAG_NAME, "td")] == [
        "model.hyperparameters.n_estimators", *(trees[column[:8]] for column in columns)]
    assert browser.find_elements(By.CSS_SELECTOR, "svg.chart rect.series-1")  # the second model's bars
    _shoot(browser, screenshots, "compare")
    _no_policy_violations(browser)


def test_compared_models_curves_are_overlaid_one_series_each(browser: WebDriver, service: Service,
                                                              screenshots: Path) -> None:
    models = (service.model_a, service.model_b, service.linear)
    _open(browser, service, "compare?" + "&".join(f"ref={uuid}" for uuid in models))
    legend = _wait(browser, "#compare-curves #curve-predicted-vs-actual .legend", service.linear[:8]).text
    versus = browser.find_element(By.CSS_SELECTOR, "#compare-curves #curve-predicted-vs-actual svg")
    assert all(f"{uuid[:8]} basket_value" in legend for uuid in models)  # the legend names each model
    for series, uuid in enumerate(models):  # each series is its model's deciles, from its own sample
        deciles = httpx.get(f"{service.url}/api/models/{uuid}/evaluation", timeout=60).json()[
            "curves"]["predicted_vs_actual"]["deciles"]["mean_predicted"]
        dots = versus.find_elements(By.CSS_SELECTOR, f"circle.series-{series}")
        assert [_title_number(d) for d in dots] == pytest.approx(deciles, rel=1e-3)
    assert len(browser.find_elements(By.CSS_SELECTOR, "#curve-residual-distribution svg polyline")) == 3
    _scroll_to(browser, browser.find_element(By.ID, "compare-curves"))
    _shoot(browser, screenshots, "compare-curves")
    _open(browser, service, f"compare?ref={service.model_a}&ref={service.binary}")
    assert "differ by task" in _wait(browser, "#page .error").text  # the metrics still compared above it
    assert browser.find_element(By.ID, "compare-metrics")
    _no_policy_violations(browser)


def _current(service: Service) -> str:
    (tag,) = [t for t in httpx.get(f"{service.url}/api/tags", timeout=30).json()["tags"] if t["tag"] == TAG]
    return tag["uuid"]


def _ask_to_move(browser: WebDriver, service: Service, token: str) -> None:
    _open(browser, service, "tags")
    _wait(browser, "#tags", TAG)
    form = browser.find_element(By.ID, "move-form")
    (row,) = [r for r in browser.find_elements(By.CSS_SELECTOR, "#tags tbody tr") if TAG in r.text]
    row.find_element(By.TAG_NAME, "button").click()  # the row's Move… fills in its tag
    assert form.find_element(By.NAME, "tag").get_attribute("value") == TAG
    Select(form.find_element(By.NAME, "model")).select_by_value(service.model_b)
    secret = form.find_element(By.NAME, "token")
    secret.clear()
    secret.send_keys(token)
    form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    confirmation = _wait(browser, "#move-confirm").text
    assert f"Tag {TAG}: from model {service.model_a[:8]} basket_value to model {service.model_b[:8]} basket_value" \
        in confirmation
    assert _current(service) == service.model_a  # nothing sent before the confirmation


def test_a_tag_is_moved_from_the_page_with_the_token(browser: WebDriver, service: Service, screenshots: Path) -> None:
    assert _current(service) == service.model_a
    _ask_to_move(browser, service, TOKEN)
    _shoot(browser, screenshots, "tags-confirm")
    try:
        browser.find_element(By.ID, "move-confirm-yes").click()
        _wait(browser, "#move-done", f"moved from {service.model_a[:8]}")
        assert _current(service) == service.model_b  # what the API reports now
        _wait(browser, "#tags", service.model_b[:8])
        _shoot(browser, screenshots, "tags")
        assert browser.get_cookies() == []
    finally:
        httpx.put(f"{service.url}/api/tags/{TAG}", json={"model": service.model_a}, timeout=30,
                  headers={"Authorization": f"Bearer {TOKEN}"}).raise_for_status()
    _no_policy_violations(browser)


def test_a_move_without_the_token_shows_how_to_set_it(browser: WebDriver, service: Service, screenshots: Path) -> None:
    _open(browser, service, "tags")
    browser.execute_script("sessionStorage.clear()")
    _ask_to_move(browser, service, "")
    browser.find_element(By.ID, "move-confirm-yes").click()
    error = _wait(browser, "#move-error", "FRESCO_API_TOKEN").text
    assert "no bearer token" in error and "export FRESCO_API_TOKEN=" in error
    assert _current(service) == service.model_a
    _shoot(browser, screenshots, "tags-401")


def _predicted_by(server: Any, customer: int) -> tuple[str, float]:
    """The model that answers ``TAG`` for one customer's request, and its prediction."""
    answer = server.post("/predict", {"model": TAG, "rows": [
        {"customer_id": customer, "ordered_at": datetime.now(timezone.utc).isoformat(), "channel": "app"}]})
    assert answer.status_code == 200, answer.text
    (row,) = answer.json()["predictions"]
    return row["model_uuid"], row["prediction"]


def test_a_tag_moved_on_the_page_is_answered_by_the_new_model(browser: WebDriver, service: Service,
                                                              screenshots: Path, tmp_path: Path) -> None:
    """The real prediction service (``bentoml serve``, tests/serving's helper) over the project:
    the tag's requests are answered by the model the page moved it to."""
    env = {**service.env(), "FRESCO_FEATURE_REPO": str(service.project),
           "FEAST_FS_YAML_FILE_PATH": str(service.project / "feature_store.yaml")}
    started = time.monotonic()
    with serve(env, TAG, tmp_path, FRESCO_PREDICTION_LOG_DIR=str(tmp_path / "predictions")) as server:
        print(f"prediction service ready in {time.monotonic() - started:.1f} s")
        before, old_answer = _predicted_by(server, 3)
        assert before == service.model_a
        _ask_to_move(browser, service, TOKEN)
        try:
            browser.find_element(By.ID, "move-confirm-yes").click()
            _wait(browser, "#move-done", f"moved from {service.model_a[:8]}")
            deadline = time.monotonic() + 10  # the service re-reads the tags every 0.2 s
            while (answered := _predicted_by(server, 3))[0] != service.model_b and time.monotonic() < deadline:
                time.sleep(0.2)
            after, new_answer = answered
            assert after == service.model_b
            assert new_answer != old_answer  # another model's answer (30 trees of depth 3 then, 10 of depth 2)
            _shoot(browser, screenshots, "tags-moved-and-served")
        finally:
            httpx.put(f"{service.url}/api/tags/{TAG}", json={"model": service.model_a}, timeout=30,
                      headers={"Authorization": f"Bearer {TOKEN}"}).raise_for_status()
    _no_policy_violations(browser)


def test_an_experiment_is_started_and_stopped_from_the_tags_page(browser: WebDriver, service: Service,
                                                                 screenshots: Path) -> None:
    from fresco.serving.routing import current_route
    from fresco.training import ModelRepository

    repository = ModelRepository(service.home / "models")
    _open(browser, service, "tags")
    form = _wait(browser, "#experiment-form")
    _wait(browser, "#experiments", "No experiment")
    for name, value in (("name", "ab"), ("tag", TAG), ("weight_a", "25"), ("weight_b", "75"), ("token", TOKEN)):
        field = form.find_element(By.NAME, name)
        field.clear()
        field.send_keys(value)
    Select(form.find_element(By.NAME, "model_a")).select_by_value(service.model_a)
    Select(form.find_element(By.NAME, "model_b")).select_by_value(service.model_b)
    form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    confirmation = _wait(browser, "#experiment-confirm").text
    assert f"Experiment ab on tag {TAG}: from model {service.model_a[:8]} basket_value (the tag's own) to arms " \
        f"{service.model_a[:8]} basket_value 25%, {service.model_b[:8]} basket_value 75%" in confirmation
    assert current_route(repository, TAG).experiment is None  # nothing sent before the confirmation
    _shoot(browser, screenshots, "experiment-confirm")
    try:
        browser.find_element(By.ID, "experiment-confirm-yes").click()
        _wait(browser, "#experiment-done", "started by alice")
        route = current_route(repository, TAG)
        assert route.experiment.arms == {service.model_a: 25.0, service.model_b: 75.0}
        _wait(browser, "#experiments", "75%")
        (row,) = [r for r in browser.find_elements(By.CSS_SELECTOR, "#tags tbody tr") if TAG in r.text]
        assert f"experiment ab: {service.model_a[:8]} 25%, {service.model_b[:8]} 75%" in row.text
        _shoot(browser, screenshots, "experiments")
        browser.find_element(By.CSS_SELECTOR, "#experiments button.stop").click()
        assert "Experiment ab stops" in _wait(browser, "#experiment-confirm").text
        browser.find_element(By.ID, "experiment-confirm-yes").click()
        _wait(browser, "#experiment-done", "stopped by alice")
    finally:
        if current_route(repository, TAG).experiment is not None:
            httpx.delete(f"{service.url}/api/experiments/ab", timeout=30, headers={"Authorization": f"Bearer {TOKEN}"})
    assert current_route(repository, TAG).experiment is None
    _wait(browser, "#experiments", "No experiment")
    _open(browser, service, "audit")
    newest = _wait(browser, "#audit tbody tr").text  # newest first: who, what, from what to what
    assert "alice" in newest and "experiment.stop" in newest and "experiment: ab" in newest and service.model_b in newest
    _shoot(browser, screenshots, "audit")
    _no_policy_violations(browser)


def test_the_accuracy_chart_shows_after_outcomes_are_logged(browser: WebDriver, service: Service,
                                                            screenshots: Path) -> None:
    _open(browser, service, "monitoring")
    _wait(browser, "#monitoring-empty", "no logged predictions")
    served_and_observed(service, TAG)
    browser.refresh()
    _wait(browser, "#accuracy-chart svg circle")
    assert "12 predictions, 8 outcomes: 8 matched" in _wait(browser, "#monitoring-counts").text
    (row,) = browser.find_elements(By.CSS_SELECTOR, "#accuracy tbody tr")
    assert service.model_a[:8] in row.text and TAG in row.text and " 12 8 " in f" {row.text} "
    _shoot(browser, screenshots, "monitoring")
    _no_policy_violations(browser)


def test_the_monitoring_page_shows_the_latest_drift_report_and_the_breaches(browser: WebDriver, service: Service,
                                                                            screenshots: Path) -> None:
    figures, results = reported_and_checked(service, TAG)
    _open(browser, service, "monitoring")
    browser.refresh()  # the page may be open already (the same address is no new page)
    drift = _wait(browser, "#drift tbody tr", service.model_a[:8]).text
    share = figures["drift"]
    assert f"{share['drifted']} of {share['inputs']}" in drift
    assert (", ".join(share["drifted_inputs"]) or "none") in drift
    (breach,) = [r for r in results if r.status == "breach"]
    row = _wait(browser, "#breaches tbody tr", "too-quiet").text
    assert f"tag {TAG}" in row and " ".join(breach.line().split()) in row  # the evidence, as the page lays it out
    totals = browser.find_element(By.ID, "monitoring-totals").text
    assert service.model_a[:8] in totals and TAG in totals
    browser.execute_script("arguments[0].scrollIntoView()", browser.find_element(By.ID, "drift"))
    _shoot(browser, screenshots, "monitoring-drift")
    _no_policy_violations(browser)
    link = browser.find_element(By.LINK_TEXT, "report")
    assert link.get_attribute("target") == "_blank"
    browser.get(link.get_attribute("href"))  # Evidently's page: its own scripts run, in their sandbox
    WebDriverWait(browser, 30).until(lambda b: "Drift" in b.find_element(By.TAG_NAME, "body").text)
    _shoot(browser, screenshots, "drift-report")


def test_a_feature_suggestion_is_listed_and_shows_its_ranking(browser: WebDriver, service: Service,
                                                            screenshots: Path) -> None:
    stored = suggested(service)
    _open(browser, service, "suggestions")
    browser.refresh()
    _wait(browser, "#suggestions tbody tr", "basket_value")
    browser.find_element(By.LINK_TEXT, "basket_value").click()
    ranked = _wait(browser, "#ranked tbody tr", stored["features"][0]["score"]["ref"])
    rows = browser.find_elements(By.CSS_SELECTOR, "#ranked tbody tr")
    assert [r.find_elements(By.TAG_NAME, "td")[1].text.split(" ")[0] for r in rows] == \
        [f["score"]["ref"] for f in stored["features"]]
    assert ranked.find_elements(By.TAG_NAME, "td")[0].text == "1"
    helping = [f for f in stored["features"] if f["score"]["permutation"] > 0]
    assert len(browser.find_elements(By.CSS_SELECTOR, "svg.chart rect.bar")) == len(helping[:20]) > 0
    _shoot(browser, screenshots, "suggestion")
    _no_policy_violations(browser)


def test_a_model_is_trained_from_the_form_and_listed(browser: WebDriver, service: Service, screenshots: Path) -> None:
    _open(browser, service, "train")
    form = _wait(browser, "#train-form")
    for name, value in (("n_estimators", "5"), ("max_depth", "2"), ("nthread", "1"), ("token", TOKEN)):
        field = form.find_element(By.NAME, name if name == "token" else f"model.hyperparameters.{name}")
        field.clear()
        field.send_keys(value)
    _shoot(browser, screenshots, "train-form")
    form.find_element(By.ID, "train-start").click()
    _wait(browser, "#job-status", "succeeded", timeout=120)
    link = _wait(browser, "#job-model a")
    _shoot(browser, screenshots, "train-job")
    model = link.text
    (job,) = [j for j in httpx.get(f"{service.url}/api/train", timeout=30).json()["jobs"] if j["model"] == model]
    assert job["overrides"] == {"model.hyperparameters.n_estimators": 5, "model.hyperparameters.max_depth": 2,
                                "model.hyperparameters.nthread": 1}
    link.click()
    _wait(browser, "h1", model[:8])
    _open(browser, service, "models")
    _wait(browser, "#models", model[:8])
    _no_policy_violations(browser)


def test_the_pages_allow_scripts_of_their_own_origin_only(service: Service) -> None:
    home = httpx.get(service.url + "/", timeout=30)
    assert home.status_code == 200 and "text/html" in home.headers["content-type"]
    policy = home.headers["content-security-policy"]
    assert "default-src 'self'" in policy and "script-src 'self';" in policy and "unsafe" not in policy
    assert "<script>" not in home.text and 'src="/static/app.js"' in home.text  # no inline script
    script = httpx.get(service.url + "/static/app.js", timeout=30)
    assert "javascript" in script.headers["content-type"] and "content-security-policy" in script.headers
    assert httpx.get(service.url + "/static/nothing.js", timeout=30).json()["error"] == "not_found"
    refused = httpx.get(service.url + "/", headers={"Host": "evil.example"}, timeout=30)
    assert refused.status_code == 400  # the pages answer loopback names only, like the API
