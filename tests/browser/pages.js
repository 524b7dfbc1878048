// What the browser tests share (tests/browser/run.sh runs them): the step a failure names,
// a free port, watching pages for CSP violations, dialogs and errors, axe-core, screenshots,
// reflow checks, fresh pages, and moving with the keyboard.
"use strict";
const fs = require("fs");
const net = require("net");
const path = require("path");

// The step under way (failures name it) and where screenshots go.
const state = { step: "start", artefacts: "." };

function check(cond, msg) {
  if (!cond) throw new Error(`[${state.step}] ${msg}`);
}

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.listen(0, "127.0.0.1", () => { const p = s.address().port; s.close(() => resolve(p)); });
    s.on("error", reject);
  });
}

// Every browser page of the test: CSP violations, dialogs, page errors and every request URL
// are recorded so the end can check none happened and no URL held the access code.
function watch(page, seen) {
  page.on("dialog", (d) => { seen.dialogs.push(d.message()); d.dismiss().catch(() => {}); });
  page.on("pageerror", (e) => seen.errors.push(String(e)));
  // A refused fetch (401, 404) is logged as a console error too: those are expected here.
  page.on("console", (m) => {
    if (m.type() === "error" && !m.text().startsWith("Failed to load resource")) seen.errors.push(m.text());
  });
  page.on("request", (r) => seen.urls.push(r.url()));
  page.on("framenavigated", (f) => seen.urls.push(f.url()));
}

const AXE = fs.readFileSync(require.resolve("axe-core/axe.min.js"), "utf8");
// axe-core through the DevTools protocol (page.evaluate), which the page's CSP does not govern.
async function axe(page, label) {
  await page.evaluate(AXE);
  const result = await page.evaluate(async () => {
    const r = await window.axe.run(document, { resultTypes: ["violations"] });
    return r.violations.map((v) => ({ id: v.id, impact: v.impact, nodes: v.nodes.map((n) => n.target.join(" ")) }));
  });
  const bad = result.filter((v) => v.impact === "serious" || v.impact === "critical");
  check(bad.length === 0, `axe on ${label}: ${JSON.stringify(bad)}`);
  const minor = result.filter((v) => !bad.includes(v));
  if (minor.length) console.log(`  axe on ${label}, minor: ${minor.map((v) => v.id).join(", ")}`);
}

async function shot(page, name) {
  await page.screenshot({ path: path.join(state.artefacts, `${name}.png`), fullPage: true });
}

async function noHorizontalScroll(page, label) {
  const w = await page.evaluate(() => document.documentElement.scrollWidth);
  const vw = page.viewportSize().width;
  if (w > vw) {
    // Name the innermost elements that stick out, to say what to fix.
    const wide = await page.evaluate((limit) => [...document.querySelectorAll("body *")]
      .filter((e) => (e.getBoundingClientRect().right > limit + 1 &&
                      ![...e.children].some((c) => c.getBoundingClientRect().right > limit + 1)) ||
                     (getComputedStyle(e).overflowX === "visible" && e.scrollWidth > e.clientWidth + 1 &&
                      e.clientWidth > 0 && ![...e.children].some((c) => c.scrollWidth > c.clientWidth + 1)))
      .slice(0, 5).map((e) => `${e.tagName.toLowerCase()}${e.id ? "#" + e.id : ""}.${e.className}`), vw);
    check(false, `${label}: content is ${w} px wide at a ${vw} px viewport (no reflow): ${wide.join(", ")}`);
  }
}

// A page in a fresh context `width` CSS px wide; `scale` 2 is a 1280 x 800 window at 200% zoom
// when `width` is 640 (the browser halves the CSS viewport and doubles every pixel).
async function newPage(browser, width, seen, baseURL, scale = 1) {
  const context = await browser.newContext({
    viewport: { width, height: scale === 1 ? 800 : 400 }, deviceScaleFactor: scale, locale: "id-ID", baseURL,
  });
  context.setDefaultTimeout(15000);
  await context.addInitScript(() => {
    window.__csp = [];
    document.addEventListener("securitypolicyviolation",
      (e) => window.__csp.push(`${e.violatedDirective} ${e.blockedURI}`));
  });
  const page = await context.newPage();
  watch(page, seen);
  return page;
}

// Presses Tab (Shift+Tab if `backwards`) until the element `id` has the focus (with `id` null:
// the first element whose text is `text`); each element Tab stops on must show its focus: an
// outline of at least 2 px.
async function tabTo(page, id, text, backwards = false) {
  for (let i = 0; i < 80; i++) {
    const here = await page.evaluate(([want, t]) => {
      const a = document.activeElement;
      return !!a && (want ? a.id === want : a.textContent === t);
    }, [id, text || null]);
    if (here) return;
    await page.keyboard.press(backwards ? "Shift+Tab" : "Tab");
    const visible = await page.evaluate(() => {
      const st = getComputedStyle(document.activeElement);
      return st.outlineStyle !== "none" && parseFloat(st.outlineWidth) >= 2;
    });
    check(visible, "no visible focus on " +
          await page.evaluate(() => document.activeElement.outerHTML.slice(0, 80)));
  }
  check(false, `Tab never reached ${id ? "#" + id : '"' + text + '"'}`);
}

// Chooses `value` in the <select> `id` with the arrow keys (it has the focus).
async function arrowTo(page, id, value) {
  for (let i = 0; i < 60; i++) {
    if (await page.inputValue(`#${id}`) === value) return;
    await page.keyboard.press("ArrowDown");
  }
  check(false, `arrow keys never chose ${value} in #${id}`);
}

module.exports = { state, check, freePort, watch, axe, shot, noHorizontalScroll, newPage, tabTo, arrowTo };
