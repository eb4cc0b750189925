//! The dashboard in a real browser (headless Chromium) against the real
//! `aiopt serve` on 127.0.0.1 with a temp database: every tab loads with no
//! console error, running an optimization (after the page asks for the
//! token) shows proposals, applying one adds a configuration version, and a
//! screenshot of each tab lands in `target/dashboard/` for review.

use std::time::Duration;

use serde_json::json;

use crate::api::upload;
use crate::browser::Browser;
use crate::http::Server;
use crate::util::{repo_file, Env};

const TOKEN: &str = "dashboard-test-token";
const TABS: [&str; 5] = ["optimize", "benchmark", "config", "recommendations", "plugins"];

/// Enough feasible trials for knob importance (21, see
/// `study::importance::MIN_TRIALS`).
const STUDY_TRIALS: usize = 24;

/// A server with two example models, a config change and a small TPE
/// study, so every tab has something to show. Reads are open; writes
/// need [`TOKEN`], which the page must ask for.
fn server(env: &Env) -> Server {
    let server = Server::start(env, &["--open-reads"], Some(TOKEN));
    for example in ["code-review", "semantic-search"] {
        server
            .call("POST", "/api/v1/profiles", Some(&upload(example)))
            .expect(201);
    }
    // A plugin failure for the plugins page: no latency data in code-review.
    server
        .call("POST", "/api/v1/performance/code-review", None)
        .expect(422);
    let study = json!({ "model": "semantic-search", "name": "hnsw", "strategy": "tpe" });
    server.call("POST", "/api/v1/studies", Some(&study)).expect(201);
    for _ in 0..STUDY_TRIALS {
        let asked = server
            .call("POST", "/api/v1/studies/hnsw/ask", Some(&json!({})))
            .json();
        let knob = |name: &str| asked[0]["config"][name].as_f64().expect("an integer knob");
        let (m, ef_search) = (knob("m"), knob("ef_search"));
        // A wider search recalls more and answers slower, mostly through
        // `ef_search`; every trial keeps the profile's constraints (recall
        // >= 0.99, p95 <= 0.25 ms), so all of them count for importance.
        let metrics = json!({
            "recall_at_10": 0.99 + 0.009 * ef_search / 400.0 + m / 100_000.0,
            "latency_p95_ms": 0.05 + ef_search / 4000.0 + m / 2000.0,
        });
        let told = json!({ "trial": asked[0]["number"], "metrics": metrics });
        server
            .call("POST", "/api/v1/studies/hnsw/tell", Some(&told))
            .expect(200);
    }
    server
}

fn ready(browser: &Browser, tab: &str) {
    browser.wait_for(
        &format!("the {tab} tab to be ready"),
        &format!(
            "const p = document.getElementById('panel-{tab}');
             if (p && p.dataset.state === 'error') throw new Error('the {tab} tab failed: ' + p.innerText.slice(0, 500));
             return !!p && p.dataset.state === 'ready' && !p.hidden;"
        ),
        Duration::from_secs(90),
    );
}

/// Console errors and warnings (the browser logs failed requests as
/// SEVERE too).
fn assert_quiet_console(browser: &Browser, when: &str) {
    let loud: Vec<String> = browser
        .console()
        .into_iter()
        .filter(|line| line.starts_with("SEVERE") || line.starts_with("WARNING"))
        .collect();
    assert!(loud.is_empty(), "console {when}: {loud:#?}");
}

#[test]
fn every_tab_loads_and_an_applied_proposal_changes_the_config_history() {
    let env = Env::new();
    let server = server(&env);
    let browser = Browser::start();
    let shots = repo_file("target/dashboard");
    browser.open(&format!("http://127.0.0.1:{}/#optimize", server.port));
    ready(&browser, "optimize");
    assert_quiet_console(&browser, "on load");

    // Optimize: run cost on code-review, see proposals with before/after.
    browser.choose("#optimize-model", "code-review");
    browser.choose("#optimize-type", "cost");
    browser.click("#optimize-run");
    // Running stores a report, a write: the page asks for the token first
    // (the health probe says writes need one), once for the session.
    browser.wait_for(
        "the token dialog",
        "const d = document.getElementById('token-dialog'); return !!d && d.open;",
        Duration::from_secs(30),
    );
    browser.type_into("#token-input", TOKEN);
    browser.click("#token-save");
    ready(&browser, "optimize");
    let proposals = browser.run(
        "return document.querySelectorAll('#optimize-results .proposal').length",
        json!([]),
    );
    assert!(proposals.as_u64().unwrap_or(0) >= 1, "no proposals shown");
    let shown = browser.run(
        "return document.getElementById('optimize-results').innerText",
        json!([]),
    );
    let shown = shown.as_str().unwrap_or_default();
    assert!(shown.contains("FuseChat-Llama-3.1-8B-Instruct"), "{shown}");
    assert!(
        shown.contains("-99.3%") || shown.contains("−99.3%"),
        "the % change is shown: {shown}"
    );
    browser.screenshot(&shots.join("optimize.png"));

    // Apply the first proposal, with the token the page kept.
    browser.click("#optimize-results .proposal .apply");
    browser.wait_for(
        "the applied proposal",
        "return !!document.querySelector('#optimize-results .proposal[data-applied=\"true\"]');",
        Duration::from_secs(60),
    );
    let stored = browser.run("return sessionStorage.getItem('aiopt-token')", json!([]));
    assert_eq!(stored, TOKEN, "the token is kept in the page session");
    let history = server
        .call("GET", "/api/v1/config/code-review/history", None)
        .json();
    assert_eq!(history.as_array().map(Vec::len), Some(2), "{history}");
    assert_quiet_console(
        &browser,
        "after applying (a 401 before the token is expected by design)",
    );

    // Every other tab, by keyboard-reachable tab buttons.
    for tab in &TABS[1..] {
        browser.click(&format!("#tab-{tab}"));
        ready(&browser, tab);
        if *tab == "config" {
            browser.choose("#config-model", "code-review");
            ready(&browser, tab);
            let versions = browser.run(
                "return document.querySelectorAll('#config-history .version').length",
                json!([]),
            );
            assert_eq!(versions, 2, "the applied proposal is in the config history");
        }
        if *tab == "benchmark" {
            browser.choose("#benchmark-model", "semantic-search");
            ready(&browser, tab);
            let bars = browser.run(
                "return document.querySelectorAll('#benchmark-chart rect').length",
                json!([]),
            );
            assert!(
                bars.as_u64().unwrap_or(0) >= 96,
                "a bar per configuration: {bars}"
            );
        }
        if *tab == "recommendations" {
            browser.choose("#recommendations-model", "semantic-search");
            ready(&browser, tab);
            browser.choose("#study-select", "hnsw");
            ready(&browser, tab);
            let points = browser.run(
                "return document.querySelectorAll('#study-history circle.point:not(.legend *)').length",
                json!([]),
            );
            assert_eq!(points, STUDY_TRIALS, "a point per complete trial");
            let pareto = browser.run(
                "return document.querySelectorAll('#study-pareto circle.point:not(.legend *)').length",
                json!([]),
            );
            assert_eq!(
                pareto, STUDY_TRIALS,
                "two objectives: every trial on the Pareto chart"
            );
            // One importance table per objective, a bar per knob; recall
            // depends mostly on `ef_search`.
            let tables = browser.run(
                "return [...document.querySelectorAll('#study-importance table')].map((t) => ({
                   caption: t.caption.textContent,
                   knobs: [...t.querySelectorAll('tbody tr')].map((r) => r.querySelector('th').textContent),
                   bars: t.querySelectorAll('rect.bar').length }))",
                json!([]),
            );
            assert_eq!(
                tables[0]["caption"],
                format!("recall_at_10 (↑ better), {STUDY_TRIALS} trials"),
                "{tables}"
            );
            assert_eq!(tables[0]["knobs"][0], "ef_search", "{tables}");
            for table in tables.as_array().expect("a list") {
                assert_eq!(
                    (table["knobs"].as_array().map(Vec::len), &table["bars"]),
                    (Some(3), &json!(3)),
                    "{tables}"
                );
            }
            assert_eq!(tables.as_array().map(Vec::len), Some(2), "{tables}");
            browser.run(
                "document.getElementById('study-select').scrollIntoView()",
                json!([]),
            );
            browser.screenshot(&shots.join("recommendations-study.png"));
            browser.run(
                "document.getElementById('study-importance-heading').scrollIntoView()",
                json!([]),
            );
            browser.screenshot(&shots.join("recommendations-importance.png"));
            browser.run("window.scrollTo(0, 0)", json!([]));
        }
        if *tab == "plugins" {
            let rows = browser.run(
                "return document.querySelectorAll('#plugins-table .plugin').length",
                json!([]),
            );
            assert!(rows.as_u64().unwrap_or(0) >= 5, "the built-in strategies: {rows}");
            let text = browser.run(
                "return document.getElementById('panel-plugins').textContent",
                json!([]),
            );
            let text = text.as_str().unwrap_or_default();
            assert!(text.contains("tpe"), "{text}");
            assert!(
                text.contains("strategy-error"),
                "the recent failure is listed: {text}"
            );
        }
        assert_quiet_console(&browser, &format!("on the {tab} tab"));
        browser.screenshot(&shots.join(format!("{tab}.png")));
    }

    // Arrow keys move between tabs (keyboard navigation).
    browser.click("#tab-plugins");
    browser.run("document.getElementById('tab-plugins').focus()", json!([]));
    let moved = browser.run(
        "const t = document.getElementById('tab-plugins');
         t.dispatchEvent(new KeyboardEvent('keydown', { key: 'ArrowLeft', bubbles: true }));
         return document.activeElement && document.activeElement.id;",
        json!([]),
    );
    assert_eq!(moved, "tab-recommendations");
}

#[test]
fn api_errors_are_shown_in_words() {
    let env = Env::new();
    let server = server(&env);
    let browser = Browser::start();
    // A model that does not exist: the API's problem, shown in the panel.
    browser.open(&format!("http://127.0.0.1:{}/#benchmark", server.port));
    ready(&browser, "benchmark");
    browser.run(
        "const s = document.getElementById('benchmark-model');
         const o = document.createElement('option'); o.value = 'no-such-model'; o.textContent = 'no-such-model';
         s.appendChild(o); s.value = 'no-such-model'; s.dispatchEvent(new Event('change', { bubbles: true }));",
        json!([]),
    );
    browser.wait_for(
        "the error",
        "const p = document.getElementById('panel-benchmark'); return p.dataset.state === 'error';",
        Duration::from_secs(30),
    );
    let error = browser.run(
        "const e = document.querySelector('#panel-benchmark .error'); return e ? e.innerText : '';",
        json!([]),
    );
    let error = error.as_str().unwrap_or_default();
    assert!(
        error.contains("no-such-model"),
        "the problem's detail is shown: {error}"
    );
}
