// Browser.NationalDashboard: the dashboard in Debian's chromium (playwright-core) against a real
// federation this script starts with `deploy/federation.sh up 2 --detach` (a hub and members 32
// and 33, reporting their figures every 300 ms). Complaints are filed at both members and one is
// verified; then, at the hub: sign-in with the keyboard alone, every figure the page shows equals
// the API's (/national/v1/stats: totals, the table by province, the drill-down to regencies of
// Jawa Barat and back, a category filter, the weekly trend; /national/v1/alerts: each member's
// health), the CSV link, axe-core finds no serious or critical violation, no horizontal scroll at
// 360 px, no CSP violation or script error; and member 32's own view (/api/v1/stats, no trend).
// Screenshots go to ARTEFACTS.
//   node dashboard.test.js --node PATH/lapor-node --artefacts DIR
"use strict";
const { chromium } = require("playwright-core");
const { execFileSync } = require("child_process");
const fs = require("fs");
const net = require("net");
const os = require("os");
const path = require("path");
const { state, check, axe, shot, noHorizontalScroll, newPage, tabTo } = require("./pages");

const CHROMIUM = process.env.LAPOR_CHROMIUM || "/usr/bin/chromium";
const FEDERATION = path.join(__dirname, "..", "..", "deploy", "federation.sh");

function arg(name) {
  const i = process.argv.indexOf(name);
  if (i < 0 || i + 1 >= process.argv.length) throw new Error(`usage: missing ${name}`);
  return process.argv[i + 1];
}
const NODE_BIN = arg("--node");
const ARTEFACTS = arg("--artefacts");
state.artefacts = ARTEFACTS;

// The page's own formatting (web/assets/dashboard.js), applied to the API's figures.
const number = new Intl.NumberFormat("id-ID");
const fmt = (v) => (v === null || v === undefined ? "belum ada" : number.format(v));
const pct = (v) => (v === null || v === undefined ? "belum ada" : number.format(Math.round(v * 1000) / 10) + "%");

// Three consecutive free ports for the hub and the two members.
async function freePorts(n) {
  const free = (p) => new Promise((resolve) => {
    const s = net.createServer();
    s.once("error", () => resolve(false));
    s.listen(p, "127.0.0.1", () => s.close(() => resolve(true)));
  });
  for (let tries = 0; tries < 50; tries++) {
    const base = 20000 + Math.floor(Math.random() * 30000);
    let ok = true;
    for (let i = 0; i < n && ok; i++) ok = await free(base + i);
    if (ok) return base;
  }
  throw new Error("no free ports");
}

async function api(base, p, token, body) {
  const r = await fetch(base + p, {
    method: body ? "POST" : "GET",
    headers: { ...(token ? { Authorization: `Bearer ${token}` } : {}), ...(body ? { "Content-Type": "application/json" } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await r.text();
  let json = null;
  try { json = JSON.parse(text); } catch (e) { json = null; }
  return { status: r.status, json, text };
}

async function eventually(what, fn, ms = 60000) {
  const deadline = Date.now() + ms;
  for (;;) {
    if (await fn()) return;
    check(Date.now() < deadline, `timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

// The figures a region table shows, by code: {cases, backlog, overdue}.
async function tableRows(page) {
  return page.$$eval("#wilayah-isi tr[data-kode]", (rows) => rows.map((r) => ({
    code: r.getAttribute("data-kode"),
    cases: r.querySelector('[data-angka="cases"]').textContent,
    backlog: r.querySelector('[data-angka="backlog"]').textContent,
    overdue: r.querySelector('[data-angka="overdue"]').textContent,
    verified: r.querySelector('[data-angka="verified_on_time_share"]').textContent,
  })));
}
function expectRows(shown, rows, label) {
  check(shown.length === rows.length, `${label}: ${shown.length} rows shown, the API has ${rows.length}`);
  rows.forEach((r) => {
    const s = shown.find((x) => x.code === r.code);
    check(s, `${label}: no row for ${r.code}`);
    check(s.cases === fmt(r.cases) && s.backlog === fmt(r.backlog) && s.overdue === fmt(r.overdue) &&
          s.verified === pct(r.verified_on_time_share),
          `${label} ${r.code}: shows ${JSON.stringify(s)}, the API has ${JSON.stringify(r)}`);
  });
}

async function expectTotals(page, totals, label) {
  for (const key of ["cases", "filed", "backlog", "overdue", "escalated", "reopened", "auto_completed"]) {
    const shown = await page.textContent(`#ringkasan [data-angka="${key}"]`);
    check(shown === fmt(totals[key]), `${label}: ${key} shows "${shown}", the API has ${totals[key]}`);
  }
  const share = await page.textContent('#ringkasan [data-angka="verified_on_time_share"]');
  check(share.startsWith(pct(totals.verified_on_time_share) + " (" + fmt(totals.verified_on_time) + " dari " +
                         fmt(totals.verified) + ")"),
        `${label}: verified on time shows "${share}"`);
}

// A page of `base`'s dashboard signed in with `token` (mouse), once its figures are shown.
async function signedInPage(browser, width, seen, base, token) {
  const page = await newPage(browser, width, seen, base);
  await page.goto("/dashboard/");
  await page.fill("#token", token);
  await page.click("#form-masuk button[type=submit]");
  await page.waitForSelector("#dasbor:not([hidden])");
  await loaded(page);
  return page;
}

// Waits until the page has finished a load (its status line says "Angka per ...").
async function loaded(page) {
  await page.waitForFunction(() => document.getElementById("status-muat").textContent.startsWith("Angka per"));
}

async function main() {
  fs.mkdirSync(ARTEFACTS, { recursive: true });
  check(fs.existsSync(CHROMIUM), `no chromium at ${CHROMIUM}: install Debian's chromium (deploy/install-deps.sh)`);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "lapor-dashboard-"));
  const env = {
    ...process.env, LAPOR_FED_DIR: dir, LAPOR_NODE_BIN: path.resolve(NODE_BIN),
    BASE_PORT: String(await freePorts(3)), STATS_INTERVAL_MS: "300", READY_TIMEOUT: "90",
  };
  state.step = "federation.sh up";
  try {
    execFileSync("bash", [FEDERATION, "up", "2", "--detach"], { env, stdio: ["ignore", "pipe", "pipe"] });
  } catch (e) {
    check(false, `federation.sh up failed: ${e.stderr}\n${e.stdout}`);
  }
  const seen = { dialogs: [], errors: [], urls: [] };
  let browser;
  try {
    const ports = Object.fromEntries(fs.readFileSync(path.join(dir, "nodes.txt"), "utf8").trim().split("\n")
      .map((l) => l.trim().split(/\s+/)).map(([code, port]) => [code, `http://127.0.0.1:${port}`]));
    const tokens = {};
    fs.readFileSync(path.join(dir, "tokens.txt"), "utf8").trim().split("\n").forEach((l) => {
      const [code, role, token] = l.trim().split(/\s+/);
      tokens[`${code} ${role}`] = token;
    });
    const hub = ports["00"], hubAdmin = tokens["00 admin"];

    state.step = "complaints at both members";
    const complaint = (region, title, category) => ({
      title, description: "Keluhan untuk uji dasbor.", category, report_type: "pengaduan", region_code: region,
    });
    const a = await api(ports["32"], "/api/v1/complaints", null, complaint("32.04", "Jalan rusak di Cibinong", "infrastruktur"));
    check(a.status === 201, `filing at 32: ${a.text}`);
    check((await api(ports["32"], "/api/v1/complaints", null, complaint("32", "Puskesmas tutup", "kesehatan"))).status === 201, "filing at 32");
    check((await api(ports["33"], "/api/v1/complaints", null, complaint("33", "Lampu jalan mati", "infrastruktur"))).status === 201, "filing at 33");
    const v = await api(ports["32"], `/api/v1/complaints/${a.json.tracking_id}/actions`, tokens["32 admin"],
                        { action: "verify", agency: "dinas-pu" });
    check(v.status === 200, `verify at 32: ${v.text}`);
    // The sample complaint federation.sh filed (at 32 about 33, owned by 33) makes four.
    await eventually("the hub's figures to count 4 cases, 1 verified", async () => {
      const r = await api(hub, "/national/v1/stats", hubAdmin);
      return r.status === 200 && r.json.totals.cases === 4 && r.json.totals.verified === 1 &&
             r.json.members_reporting === 2;
    });

    browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox"] });
    const page = await newPage(browser, 1280, seen, hub);
    state.step = "the dashboard's sign-in, keyboard only";
    await page.goto("/dashboard/");
    await page.waitForLoadState("networkidle");
    await axe(page, "/dashboard (sign-in)");
    await tabTo(page, "token");
    await page.keyboard.type(hubAdmin);
    await page.keyboard.press("Enter");
    await page.waitForSelector("#dasbor:not([hidden])");
    await loaded(page);
    check(await page.evaluate(() => document.activeElement.id) === "dasbor-judul", "focus did not move to the figures");
    check(await page.inputValue("#token") === "", "the token stays in the sign-in field");
    check((await page.textContent("#cakupan")).startsWith("Simpul nasional"), "not the national view");

    state.step = "the national figures equal the API's";
    const stats = (await api(hub, "/national/v1/stats", hubAdmin)).json;
    await expectTotals(page, stats.totals, "totals");
    expectRows(await tableRows(page), stats.provinces, "provinces");
    const league = await page.$$eval("#liga-isi tr", (rows) => rows.map((r) => r.getAttribute("data-kode")));
    check(JSON.stringify(league) === JSON.stringify(stats.league.map((r) => r.code)),
          `the league shows ${league}, the API ${stats.league.map((r) => r.code)}`);
    check(await page.$$eval("#grafik-tren rect", (r) => r.length) === stats.weekly.length,
          "the chart has not one bar per week");
    const weekly = await page.$$eval('#tren-isi [data-angka="filed"]', (c) => c.map((x) => x.textContent));
    check(JSON.stringify(weekly) === JSON.stringify(stats.weekly.map((w) => fmt(w.filed))),
          `weekly shows ${weekly}, the API ${stats.weekly.map((w) => w.filed)}`);
    const alerts = (await api(hub, "/national/v1/alerts", hubAdmin)).json;
    check(await page.$$eval("#kesehatan-isi tr", (r) => r.length) === alerts.members.length,
          "the federation's health does not list every member");
    const csv = await page.getAttribute("#unduh-csv", "href");
    check(csv === "/national/v1/stats?format=csv", `CSV link ${csv}`);
    const csvText = await page.evaluate(async (href) => (await fetch(href, { credentials: "same-origin" })).text(), csv);
    check(csvText.startsWith("code,name,cases,"), `the CSV reads ${csvText.slice(0, 80)}`);
    await axe(page, "/dashboard (national)");
    await shot(page, "dasbor-nasional-1280");

    state.step = "drill down to Jawa Barat's regencies and back, keyboard only";
    await tabTo(page, null, "Jawa Barat");
    await page.keyboard.press("Enter");
    await page.waitForFunction(() => document.getElementById("wilayah-judul").textContent.startsWith("Per kabupaten/kota"));
    await loaded(page);
    await page.waitForFunction(() => document.activeElement.id === "wilayah-judul");
    const jabar = (await api(hub, "/national/v1/stats?province=32", hubAdmin)).json;
    await expectTotals(page, jabar.totals, "Jawa Barat");
    expectRows(await tableRows(page), jabar.regencies, "regencies of 32");
    check(jabar.regencies.some((r) => r.code === "32.04"), "the API has no 32.04");
    await axe(page, "/dashboard (regencies)");
    await shot(page, "dasbor-jawa-barat-1280");
    await tabTo(page, "kembali");
    await page.keyboard.press("Enter");
    await page.waitForFunction(() => document.getElementById("wilayah-judul").textContent === "Per provinsi");
    await loaded(page);
    // The focus goes back to the table's heading once the page has loaded the figures again.
    await page.waitForFunction(() => document.activeElement.id === "wilayah-judul", null, { timeout: 5000 })
      .catch(() => check(false, "focus did not return to the table"));

    state.step = "a category filter, keyboard only";
    await tabTo(page, "kategori", null, true);  // the form is above the table
    await page.keyboard.type("kesehatan");
    await page.keyboard.press("Enter");
    await page.waitForFunction(() => document.querySelector('#ringkasan [data-angka="cases"]').textContent === "1");
    const health = (await api(hub, "/national/v1/stats?category=kesehatan", hubAdmin)).json;
    await expectTotals(page, health.totals, "category kesehatan");
    expectRows(await tableRows(page), health.provinces, "provinces, kesehatan");

    state.step = "a phone";
    const phone = await signedInPage(browser, 360, seen, hub, hubAdmin);
    await noHorizontalScroll(phone, "/dashboard at 360 px");
    await shot(phone, "dasbor-nasional-360");

    state.step = "member 32's own view";
    const own = await signedInPage(browser, 1280, seen, ports["32"], tokens["32 admin"]);
    check((await own.textContent("#cakupan")).startsWith("Simpul daerah"), "32 is not shown its own view");
    check(await own.isHidden("#bagian-tren") && await own.isHidden("#bagian-peringatan"), "a member shows trends or alerts");
    const mine = (await api(ports["32"], "/api/v1/stats", tokens["32 admin"])).json;
    check(mine.totals.cases === 2, `32 owns ${mine.totals.cases} cases, not 2`);
    await expectTotals(own, mine.totals, "32's own");
    await axe(own, "/dashboard (member 32)");
    await shot(own, "dasbor-simpul-32-1280");

    state.step = "a liaison is refused";
    const liaison = await newPage(browser, 1280, seen, ports["32"]);
    await liaison.goto("/dashboard");
    await liaison.fill("#token", tokens["32 liaison"]);
    await liaison.click("#form-masuk button[type=submit]");
    await liaison.waitForSelector("#token-galat:not([hidden])");
    check((await liaison.textContent("#token-galat")).includes("hanya untuk admin dan auditor"), "no refusal said");

    state.step = "no CSP violation, dialog or script error";
    for (const p of [page, phone, own, liaison]) {
      const csp = await p.evaluate(() => window.__csp);
      check(csp.length === 0, `CSP violations: ${csp}`);
    }
    check(seen.dialogs.length === 0, `dialogs: ${seen.dialogs}`);
    check(seen.errors.length === 0, `script errors: ${seen.errors}`);
    console.log(`Browser.NationalDashboard: passed; screenshots in ${ARTEFACTS}`);
  } finally {
    if (browser) await browser.close();
    try {
      execFileSync("bash", [FEDERATION, "down"], { env, stdio: "pipe" });
    } catch (e) {
      console.error(`federation.sh down: ${e.stderr}`);
    }
  }
}

main().catch((e) => {
  console.error(`Browser.NationalDashboard FAILED: ${e.message}`);
  process.exit(1);
});
