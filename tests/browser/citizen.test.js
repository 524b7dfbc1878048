// Browser.CitizenFilesAndTracks: a citizen files and tracks a complaint in Debian's chromium
// (playwright-core) against a real lapor-node this script starts. Checks: the pages' security
// headers and that they work under their Content-Security-Policy (no violation reported);
// filing with the mouse and with the keyboard alone; the receipt (tracking id, access code, never
// in a URL); an XSS title and notes shown as text; tracking; the operators' workbench (an admin
// verifies and dispositions, then signs out; a liaison, keyboard only, responds, then answers the
// reporter's reply and completes: HttpOnly session cookie, no token kept or in a URL, the page
// cleared on sign-out, reflow at 320 px); the reporter's reply, rating and reopening; the error summary;
// axe-core finds no serious or critical violation in any state of any page; reflow at 320 CSS
// px and at 200% zoom (640 CSS px at 2 device pixels); each page under 150 KB gzip. Screenshots
// at 360 and 1280 px (and one at 200% zoom) go to ARTEFACTS.
//   node citizen.test.js --node PATH/lapor-node --artefacts DIR
//   node citizen.test.js --node PATH/lapor-node --artefacts DIR --base URL --admin TOKEN --liaison TOKEN
// The second form runs the same walk-through against a node that is already running (deploy/
// smoke.sh: a member of the README's first command's federation whose jurisdiction holds
// regency 32.04), with its admin's token and the token of a liaison of dinas-pu; it leaves that
// node running.
"use strict";
const { chromium } = require("playwright-core");
const { execFileSync, spawn } = require("child_process");
const fs = require("fs");
const os = require("os");
const path = require("path");
const zlib = require("zlib");

const CHROMIUM = process.env.LAPOR_CHROMIUM || "/usr/bin/chromium";
const EXIFTOOL = process.env.LAPOR_EXIFTOOL || "/usr/bin/exiftool";
// A photo of the problem, as a phone would send it: an 8x8 JPEG to which the test adds a GPS
// position, a camera and an owner with Debian's exiftool.
const PHOTO_SOURCE = path.join(__dirname, "foto-jalan.jpg");
const PRIVATE_TAGS = ["GPSLatitude", "GPSLongitude", "GPSPosition", "Make", "Model", "Artist"];
const CSP = "default-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";
const PAGES = ["/", "/lapor", "/lacak", "/kerja"];
const XSS_TITLE = `Jalan <img src=x onerror="window.__xss=1"> rusak <script>window.__xss=2</script>`;
const XSS_DESC = `Lubang besar.\n<script>window.__xss=3</script><b onmouseover="window.__xss=4">tebal</b>`;
const XSS_NOTE = `Sudah diperbaiki <img src=x onerror="window.__xss=5">`;

function arg(name, optional) {
  const i = process.argv.indexOf(name);
  if (i < 0 || i + 1 >= process.argv.length) {
    if (optional) return null;
    throw new Error(`usage: missing ${name}`);
  }
  return process.argv[i + 1];
}
const NODE_BIN = arg("--node");
// lapor-audit verifies the receipt the page downloads: beside lapor-node in the build tree.
const AUDIT_BIN = path.join(path.dirname(NODE_BIN), "..", "audit", "lapor-audit");
const ARTEFACTS = arg("--artefacts");
const { state, check, freePort, axe, shot, noHorizontalScroll, newPage, tabTo, arrowTo } = require("./pages");
state.artefacts = ARTEFACTS;

async function startNode() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "lapor-browser-"));
  const data = path.join(dir, "data");
  const port = await freePort();
  execFileSync(NODE_BIN, ["init", "--data-dir", data, "--jurisdiction", "32",
                          "--listen", `127.0.0.1:${port}`], { stdio: "pipe" });
  const token = (role, extra) => {
    const out = execFileSync(NODE_BIN, ["operator", "add", "--data-dir", data, "--name", role,
                                        "--role", role, ...extra]).toString().trim();
    return out.split("\n").pop().trim();
  };
  const admin = token("admin", []);
  const liaison = token("liaison", ["--agency", "dinas-pu"]);
  const log = fs.openSync(path.join(ARTEFACTS, "lapor-node.log"), "w");
  const proc = spawn(NODE_BIN, ["run", "--data-dir", data], { stdio: ["ignore", log, log] });
  const base = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 60000;
  for (;;) {
    check(proc.exitCode === null, `lapor-node exited (${proc.exitCode}); see lapor-node.log`);
    try {
      if ((await fetch(base + "/healthz")).status === 200) break;
    } catch (e) { /* not listening yet */ }
    check(Date.now() < deadline, "lapor-node did not answer /healthz within 60 s");
    await new Promise((r) => setTimeout(r, 100));
  }
  const vkey = execFileSync(NODE_BIN, ["vkey", "--data-dir", data]).toString().trim();
  return { base, admin, liaison, proc, dir, vkey, id: "32" };
}

// A node someone else runs (--base): its id and log key from its own public endpoints.
async function externalNode(base) {
  const health = await (await fetch(base + "/healthz")).json();
  check(health.status === "ok", `${base}/healthz: ${JSON.stringify(health)}`);
  const vkey = (await (await fetch(base + "/log/vkey")).text()).trim();
  return { base, admin: arg("--admin"), liaison: arg("--liaison"), proc: null, dir: null, vkey, id: health.node_id };
}

// The tracking id a node hands out: its jurisdiction's digits, "-", 10 base32 characters.
const trackingId = (nodeId) => new RegExp(`^${nodeId.replace(".", "")}-[A-Z2-7]{10}$`);
let NODE_ID = "32";

// The headers every page and asset must carry, each asset's type, and each page's weight: the
// gzip size of the page and everything it loads.
async function checkHeaders(base) {
  state.step = "headers";
  const types = { ".css": "text/css", ".js": "text/javascript", ".csv": "text/csv", ".svg": "image/svg+xml" };
  for (const p of PAGES) {
    const r = await fetch(base + p);
    check(r.status === 200, `GET ${p}: ${r.status}`);
    const h = (n) => r.headers.get(n) || "";
    check(h("content-type").startsWith("text/html"), `${p}: Content-Type ${h("content-type")}`);
    check(h("content-security-policy") === CSP, `${p}: Content-Security-Policy "${h("content-security-policy")}"`);
    check(h("x-content-type-options") === "nosniff", `${p}: X-Content-Type-Options`);
    check(h("referrer-policy") === "no-referrer", `${p}: Referrer-Policy`);
    check(h("cache-control") === "no-cache", `${p}: Cache-Control ${h("cache-control")}`);
    const etag = h("etag");
    check(etag, `${p}: no ETag`);
    const again = await fetch(base + p, { headers: { "If-None-Match": etag } });
    check(again.status === 304, `${p} with its ETag: ${again.status}, not 304`);
    const html = await r.text();
    check(!/<script(?![^>]*\bsrc=)[^>]*>/i.test(html), `${p}: an inline <script>`);
    check(!/\sstyle=|<style/i.test(html), `${p}: an inline style`);
    check(!/\son[a-z]+=/i.test(html), `${p}: an inline event handler`);
    check(!/(src|href)="(https?:)?\/\//i.test(html), `${p}: a resource from another origin`);
    const assets = [...html.matchAll(/(?:src|href)="(\/assets\/[^"]+)"/g)].map((m) => m[1]);
    if (p === "/lapor" || p === "/lacak") assets.push("/assets/provinces.csv", "/assets/regencies.csv");
    let gz = zlib.gzipSync(html).length;
    for (const a of assets) {
      const ar = await fetch(base + a);
      check(ar.status === 200, `${a}: ${ar.status}`);
      const want = types[path.extname(a)];
      check(ar.headers.get("content-type").startsWith(want), `${a}: Content-Type ${ar.headers.get("content-type")}`);
      check(ar.headers.get("x-content-type-options") === "nosniff", `${a}: nosniff`);
      check(ar.headers.get("content-security-policy") === CSP, `${a}: Content-Security-Policy`);
      gz += zlib.gzipSync(Buffer.from(await ar.arrayBuffer())).length;
    }
    check(gz < 150 * 1024, `${p} weighs ${gz} bytes gzip, over 150 KB`);
    console.log(`  ${p}: ${gz} bytes gzip with its assets`);
  }
  const post = await fetch(base + "/lapor", {
    method: "POST", body: "{}", headers: { "Content-Type": "application/json" },
  });
  check(post.status === 405, `POST /lapor: ${post.status}, not 405`);
}

async function fileWithMouse(page) {
  state.step = "file (mouse)";
  await page.goto("/lapor");
  await page.waitForSelector("#province option[value='32']", { state: "attached" });
  await page.check("#jenis-pengaduan");
  await page.selectOption("#category", "infrastruktur");
  await page.selectOption("#province", "32");
  await page.selectOption("#regency", "32.04");
  await page.fill("#title", XSS_TITLE);
  await page.fill("#description", XSS_DESC);
  await page.fill("#lat", "-6.5971");
  await page.fill("#lon", "106.8060");
  await page.fill("#address", "Jl. Pajajaran dekat pasar");
  await page.check("#anonymous");
  await page.fill("#name", "Siti Aminah");
  await page.fill("#nik", "3201010101010001");
  await page.fill("#email", "siti@contoh.id");
  await page.setInputFiles("#lampiran", PHOTO);
  await page.click("#kirim");
  await page.waitForSelector("#tanda-terima:not([hidden])");
  const id = (await page.textContent("#nomor-pelacakan")).trim();
  const code = (await page.textContent("#kode-akses")).trim();
  check(trackingId(NODE_ID).test(id), `tracking id "${id}"`);
  check(code.length >= 16, `access code "${code}"`);
  check(await page.evaluate(() => document.activeElement.id) === "tanda-terima-judul",
        "focus did not move to the receipt");
  check(await page.isHidden("#form-lapor"), "the form is still shown after filing");
  check((await page.textContent("#tanda-terima")).includes("simpan kode akses"), "no advice to keep the code");
  await page.waitForFunction(() => document.getElementById("terima-lampiran").textContent === "1 berkas tersimpan");
  return { id, code };
}

async function errorSummary(page) {
  state.step = "error summary";
  await page.goto("/lapor");
  await page.click("#kirim");
  await page.waitForSelector("#ringkasan-galat:not([hidden])");
  check(await page.evaluate(() => document.activeElement.id) === "ringkasan-galat",
        "focus is not on the error summary");
  check((await page.title()).startsWith("Galat: "), "the page title does not say Galat:");
  const links = await page.$$eval("#ringkasan-daftar a", (as) => as.map((a) => a.getAttribute("href")));
  for (const f of ["#report_type", "#category", "#province", "#title", "#description"]) {
    check(links.includes(f), `the summary does not link to ${f}: ${links}`);
  }
  check(await page.isVisible("#title-galat"), "no message next to the title");
  check(await page.getAttribute("#title", "aria-invalid") === "true", "title not aria-invalid");
  const described = await page.getAttribute("#title", "aria-describedby");
  check(described.split(" ").includes("title-galat"), "the title's error is not tied to it");
  await page.click("#ringkasan-daftar a[href='#title']");
  check(await page.evaluate(() => document.activeElement.id) === "title", "summary link does not focus its field");
}

// Filing with Tab, Space, Enter, arrow keys and typing only.
async function fileWithKeyboard(page) {
  state.step = "file (keyboard only)";
  await page.goto("/lapor");
  await page.waitForSelector("#province option[value='32']", { state: "attached" });
  const tabToId = (id) => tabTo(page, id);
  await page.keyboard.press("Tab");
  check(await page.evaluate(() => document.activeElement.className) === "lewati", "the first Tab is not the skip link");
  await tabToId("jenis-pengaduan");
  await page.keyboard.press("ArrowDown");  // radio group: to "aspirasi"
  check(await page.isChecked("#jenis-aspirasi"), "arrow key did not choose aspirasi");
  await tabToId("category");
  await arrowTo(page, "category", "kesehatan");
  await tabToId("province");
  await arrowTo(page, "province", "32");
  await tabToId("title");
  await page.keyboard.type("Antrean puskesmas terlalu panjang");
  await tabToId("description");
  await page.keyboard.type("Setiap pagi antrean lebih dari tiga jam.");
  await tabToId("confidential");
  await page.keyboard.press("Space");
  check(await page.isChecked("#confidential"), "Space did not tick Rahasia");
  await tabToId("kirim");
  await page.keyboard.press("Enter");
  await page.waitForSelector("#tanda-terima:not([hidden])");
  const id = (await page.textContent("#nomor-pelacakan")).trim();
  check(trackingId(NODE_ID).test(id), `keyboard filing: tracking id "${id}"`);
  return { id, code: (await page.textContent("#kode-akses")).trim() };
}

async function track(page, id, code) {
  await page.goto("/lacak#" + id);
  check(await page.inputValue("#tracking_id") === id, "the tracking id from the receipt link is not filled in");
  await page.fill("#access_code", code);
  await page.click("#form-lacak button[type=submit]");
  await page.waitForSelector("#laporan:not([hidden])");
}

// The operators' workbench (/kerja): sign in with the token, with the mouse or the keyboard alone.
// The session cookie is HttpOnly (no script of the page reads it) and the token is kept nowhere.
async function signIn(page, token, keyboard) {
  await page.goto("/kerja");
  await page.waitForLoadState("networkidle");
  if (keyboard) {
    await tabTo(page, "token");
    await page.keyboard.type(token);
    await page.keyboard.press("Enter");
  } else {
    await page.fill("#token", token);
    await page.click("#form-masuk button[type=submit]");
  }
  await page.waitForSelector("#meja:not([hidden])");
  check(await page.evaluate(() => document.activeElement.id) === "meja-judul", "focus did not move to the queue");
  check(await page.inputValue("#token") === "", "the token stays in the sign-in field");
  const cookie = (await page.context().cookies()).find((c) => c.name === "lapor_session");
  check(cookie && cookie.httpOnly && cookie.sameSite === "Strict", `session cookie ${JSON.stringify(cookie)}`);
  check(!(await page.evaluate(() => document.cookie)).includes("lapor_session"), "the page's script reads the session cookie");
  const stored = await page.evaluate(() => JSON.stringify(localStorage) + JSON.stringify(sessionStorage));
  check(!stored.includes(token), "the token is kept in web storage");
}

// Opens case `id` from the queue, after choosing the status filter `status` (if given).
async function openFromQueue(page, id, status, keyboard) {
  if (status) {
    await page.selectOption("#saring-status", status);
    await page.click("#form-saring button[type=submit]");
  }
  await page.waitForSelector(`#antrean-isi button:text-is("${id}")`);
  if (keyboard) {
    await tabTo(page, null, id);
    await page.keyboard.press("Enter");
  } else {
    await page.click(`#antrean-isi button:text-is("${id}")`);
  }
  await page.waitForSelector("#kasus:not([hidden])");
  await page.waitForFunction(() => document.activeElement && document.activeElement.id === "kasus-judul");
}

// Carries out `action` on the case shown, with `fields` (element id -> text).
async function actInWorkbench(page, action, fields, keyboard) {
  await page.waitForSelector(`#aksi option[value='${action}']`, { state: "attached" });
  if (keyboard) {
    await tabTo(page, "aksi");
    await arrowTo(page, "aksi", action);
    for (const [field, value] of Object.entries(fields)) {
      await tabTo(page, field);
      await page.keyboard.type(value);
    }
    await tabTo(page, null, "Kirim tindakan");
    await page.keyboard.press("Enter");
  } else {
    await page.selectOption("#aksi", action);
    for (const [field, value] of Object.entries(fields)) await page.fill(`#${field}`, value);
    await page.click("#form-tindakan button[type=submit]");
  }
  await page.waitForFunction(() => document.getElementById("tindakan-status").textContent === "Tindakan tercatat.");
}

// exiftool's tags of `file` (JSON), as a record.
function exifTags(file) {
  return JSON.parse(execFileSync(EXIFTOOL, ["-j", "-n", file]).toString())[0];
}

let PHOTO = "";
// The photo with the metadata a phone adds (and the orientation of a phone held sideways);
// checks that exiftool sees it there.
function preparePhoto() {
  PHOTO = path.join(ARTEFACTS, "foto-dengan-gps.jpg");
  fs.copyFileSync(PHOTO_SOURCE, PHOTO);
  execFileSync(EXIFTOOL, ["-q", "-overwrite_original", "-GPSLatitude=6.5971", "-GPSLatitudeRef=S",
                          "-GPSLongitude=106.806", "-GPSLongitudeRef=E", "-Make=Canon",
                          "-Model=EOS 80D", "-Artist=Siti Aminah", "-Orientation#=6", PHOTO]);
  const tags = exifTags(PHOTO);
  for (const t of PRIVATE_TAGS.filter((x) => x !== "GPSPosition")) {
    check(tags[t] !== undefined, `exiftool did not write ${t} into the test photo`);
  }
  check(tags.Orientation === 6, `exiftool did not write the orientation: ${tags.Orientation}`);
}

async function main() {
  fs.mkdirSync(ARTEFACTS, { recursive: true });
  check(fs.existsSync(EXIFTOOL), `no exiftool at ${EXIFTOOL}: install Debian's libimage-exiftool-perl (deploy/install-deps.sh)`);
  preparePhoto();
  check(fs.existsSync(CHROMIUM), `no chromium at ${CHROMIUM}: install Debian's chromium (deploy/install-deps.sh)`);
  const started = Date.now();
  const external = arg("--base", true);
  const node = external ? await externalNode(external) : await startNode();
  NODE_ID = node.id;
  // Chromium reports a CSP violation as a console error too, so `errors` catches those of pages
  // navigated away from before the end's check of window.__csp.
  const seen = { dialogs: [], errors: [], urls: [] };
  let browser;
  try {
    await checkHeaders(node.base);
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox"] });
    const desk = await newPage(browser, 1280, seen, node.base);
    const phone = await newPage(browser, 360, seen, node.base);

    state.step = "pages";
    for (const [page, w] of [[desk, 1280], [phone, 360]]) {
      for (const p of PAGES) {
        await page.goto(p);
        await page.waitForLoadState("networkidle");
        const name = p === "/" ? "beranda" : p.slice(1);
        await shot(page, `${name}-${w}`);
        if (w === 1280) await axe(page, p);
      }
    }

    await errorSummary(desk);
    await axe(desk, "/lapor with errors");
    await shot(desk, "lapor-galat-1280");

    const filed = await fileWithMouse(desk);
    await axe(desk, "/lapor receipt");
    await shot(desk, "lapor-tanda-terima-1280");

    const kb = await fileWithKeyboard(phone);
    await shot(phone, "lapor-tanda-terima-360");
    await noHorizontalScroll(phone, "receipt at 360 px");

    state.step = "track";
    await track(desk, filed.id, filed.code);
    const heading = await desk.textContent("#laporan-judul");
    check(heading === XSS_TITLE, `the title is not shown as text: "${heading}"`);
    check(await desk.textContent("#r-isi") === XSS_DESC, "the description is not shown as text");
    check(await desk.$$eval("#laporan img, #laporan script, #laporan b", (e) => e.length) === 0,
          "markup from the complaint became elements");

    state.step = "the reporter downloads the filing receipt and lapor-audit verifies it offline";
    await desk.waitForSelector("#unduh-bukti:not([hidden])");
    const proofText = await desk.textContent("#bukti-teks");
    check(proofText.includes(`tercatat di log publik simpul ${node.id}`) && proofText.includes("entri nomor"),
          `the proof in plain words reads "${proofText}"`);
    const [download] = await Promise.all([desk.waitForEvent("download"), desk.click("#unduh-bukti")]);
    check(download.suggestedFilename() === `tanda-terima-${filed.id}.json`,
          `receipt file named "${download.suggestedFilename()}"`);
    const receiptFile = path.join(ARTEFACTS, download.suggestedFilename());
    await download.saveAs(receiptFile);
    check(!fs.readFileSync(receiptFile, "utf8").includes(filed.code), "the receipt holds the access code");
    let verified = "";
    try {
      verified = execFileSync(AUDIT_BIN, ["verify-receipt", receiptFile, "--vkey", node.vkey],
                              { stdio: "pipe" }).toString();
    } catch (e) {
      check(false, `lapor-audit verify-receipt refused the downloaded receipt: ${e.stderr || e.message}`);
    }
    check(verified.includes(filed.id), `lapor-audit verify-receipt said: ${verified}`);
    const status = await desk.textContent("#r-status");
    check(status === "Belum terverifikasi (menunggu pemeriksaan admin)", `status "${status}"`);
    check((await desk.textContent("#r-batas")).includes("verifikasi"), "no verification deadline");
    check(await desk.$$eval("#r-riwayat li", (l) => l.length) === 1, "history is not one event");
    check(await desk.isHidden("#balas"), "the reply form is offered before the agency works on it");
    await axe(desk, "/lacak with a case");
    await shot(desk, "lacak-laporan-1280");

    state.step = "the admin verifies and dispositions in the workbench";
    const work = await newPage(browser, 1280, seen, node.base);
    await signIn(work, node.admin, false);
    check((await work.textContent("#petugas")).includes("Admin pengelola"), "the role is not shown");
    await openFromQueue(work, filed.id, "belum_terverifikasi", false);
    check(await work.textContent("#kasus-judul") === XSS_TITLE, "the workbench does not show the title as text");
    check(await work.textContent("#kasus-isi") === XSS_DESC, "the workbench does not show the description as text");
    check(await work.$$eval("#kasus img, #kasus script, #kasus b", (e) => e.length) === 0,
          "markup from the complaint became elements in the workbench");

    state.step = "the admin downloads the citizen's photo: its GPS position, camera and owner are gone";
    const [photoDownload] = await Promise.all([
      work.waitForEvent("download"), work.click("#kasus-lampiran button"),
    ]);
    const photoFile = path.join(ARTEFACTS, "foto-diunduh-petugas.jpg");
    await photoDownload.saveAs(photoFile);
    const kept = exifTags(photoFile);
    check(kept.FileType === "JPEG" && kept.ImageWidth === 8 && kept.ImageHeight === 8,
          `the downloaded photo is not the 8x8 JPEG sent: ${JSON.stringify(kept)}`);
    for (const t of PRIVATE_TAGS) {
      check(kept[t] === undefined, `the downloaded photo still has ${t}: ${JSON.stringify(kept)}`);
    }
    // Taken with the phone turned: the orientation stays, so viewers show it upright.
    check(kept.Orientation === 6, `the downloaded photo lost its orientation: ${JSON.stringify(kept)}`);
    await actInWorkbench(work, "verify", { agency: "dinas-kesehatan" }, false);
    check((await work.textContent("#kasus-rincian")).includes("Terdisposisi"), "the case is not dispositioned");
    check((await work.textContent("#kasus-riwayat")).includes("Diverifikasi"), "the verification is not in the history");
    // The wrong agency: the admin dispositions it again, to the one responsible.
    check(await work.inputValue("#agency") === "", "the form keeps the last action's agency");
    await actInWorkbench(work, "dispose", { agency: "dinas-pu" }, false);
    check((await work.textContent("#kasus-rincian")).includes("dinas-pu"), "the case is not with dinas-pu");
    await axe(work, "/kerja with a case (admin)");
    await shot(work, "kerja-admin-1280");

    state.step = "the admin signs out: the node ends the session and the page forgets the case";
    await work.click("#form-keluar button[type=submit]");
    await work.waitForSelector("#masuk:not([hidden])");
    check(await work.isHidden("#meja") && await work.isHidden("#kasus"), "the desk is still shown");
    check(await work.textContent("#antrean-isi") === "" && await work.textContent("#kasus-rincian") === "" &&
          await work.textContent("#kasus-isi") === "", "the queue or the case stays in the page");
    check(!(await work.context().cookies()).some((c) => c.name === "lapor_session"), "the cookie stays");
    check(await work.evaluate(() => fetch("/api/v1/session").then((r) => r.status)) === 401,
          "the session still answers after signing out");

    state.step = "the liaison responds in the workbench with the keyboard alone";
    await signIn(work, node.liaison, true);
    check(await work.inputValue("#saring-status") === "terdisposisi", "a liaison's queue does not start at its dispositioned cases");
    await openFromQueue(work, filed.id, null, true);
    await actInWorkbench(work, "respond", { catatan: XSS_NOTE }, true);
    check((await work.textContent("#kasus-riwayat")).includes(XSS_NOTE), "the response is not in the history as text");
    check(await work.$$eval("#kasus img", (e) => e.length) === 0, "markup from the response became an element");
    await axe(work, "/kerja with a case (liaison)");
    await shot(work, "kerja-penghubung-1280");

    state.step = "citizen sees the response and replies";
    await desk.click("#form-lacak button[type=submit]");
    await desk.waitForFunction(() => document.getElementById("r-status").textContent.startsWith("Diproses"));
    const history = await desk.textContent("#r-riwayat");
    check(history.includes("Diverifikasi") && history.includes("Instansi memberi tanggapan"),
          `history: ${history}`);
    check(history.includes(XSS_NOTE), "the agency's response is not shown as text");
    check(await desk.textContent("#r-instansi") === "dinas-pu", "agency not shown");
    check((await desk.textContent("#r-batas")).includes("selesai otomatis"), "no auto-complete date");
    check(await desk.isVisible("#balas"), "no reply form while the agency works on the case");
    await desk.fill("#note", "Lubang di sisi utara belum ditambal.");
    await desk.click("#form-balas button[type=submit]");
    await desk.waitForFunction(() => document.getElementById("aksi-status").textContent.includes("Balasan terkirim"));
    check((await desk.textContent("#r-riwayat")).includes("Pelapor membalas"), "the reply is not in the history");
    check((await desk.textContent("#r-batas")).includes("tanggapan instansi"), "no new response deadline");
    await axe(desk, "/lacak after a reply");
    await shot(desk, "lacak-balasan-1280");

    state.step = "the liaison finds the case by words inside its description, with the keyboard alone";
    await work.bringToFront();
    await work.focus("#meja-judul");
    await tabTo(work, "saring-kata");
    await work.keyboard.type("ab");
    await work.keyboard.press("Enter");
    await work.waitForSelector("#saring-kata-galat:not([hidden])");
    check(await work.getAttribute("#saring-kata", "aria-invalid") === "true", "a too-short word is not marked on its field");
    check((await work.textContent("#saring-kata-galat")).includes("3 huruf"), "the error does not say what a word needs");
    await tabTo(work, "saring-kata");
    await work.keyboard.press("Control+A");
    await work.keyboard.type("UBANG bes");  // inside "Lubang besar.", in another case
    await tabTo(work, "saring-status");
    await arrowTo(work, "saring-status", "diproses");
    await tabTo(work, null, "Tampilkan");
    await work.keyboard.press("Enter");
    await work.waitForSelector(`#antrean-isi button:text-is("${filed.id}")`);
    check(await work.isHidden("#saring-kata-galat"), "the word's error stays after a good search");
    check(await work.isHidden("#berikutnya"), "\"Halaman berikutnya\" shows under a one-row result");
    check((await work.textContent("#antrean-status")).includes("UBANG bes"), "the status does not say what was searched");
    const csvHref = await work.getAttribute("#unduh-csv", "href");
    check(await work.isVisible("#unduh-csv") && csvHref.includes("format=csv"), `no CSV link: ${csvHref}`);
    const csv = await work.evaluate((href) => fetch(href).then(async (r) => [r.status, r.headers.get("content-type"), await r.text()]), csvHref);
    check(csv[0] === 200 && csv[1].startsWith("text/csv") && csv[2].startsWith("tracking_id,") && csv[2].includes(filed.id),
          `the CSV export: ${JSON.stringify(csv).slice(0, 300)}`);
    await axe(work, "/kerja search results");
    await shot(work, "kerja-cari-1280");
    for (let i = 0; i < 5 && await work.evaluate(() => document.activeElement.id) !== "saring-kata"; i++) {
      await work.keyboard.press("Shift+Tab");  // back from "Tampilkan" to the words
    }
    await work.keyboard.press("Control+A");
    await work.keyboard.type("zzzqqq");
    await work.keyboard.press("Enter");
    await work.waitForFunction(() => document.getElementById("antrean-status").textContent.includes("Tidak ada laporan yang memuat"));
    check(await work.textContent("#antrean-isi") === "", "rows stay after a search that finds nothing");

    state.step = "the liaison answers the reply and completes the case in the workbench";
    await work.fill("#saring-kata", "");
    await openFromQueue(work, filed.id, "diproses", false);
    check((await work.textContent("#kasus-riwayat")).includes("Lubang di sisi utara belum ditambal."),
          "the reporter's reply is not in the workbench's history");
    check(!(await work.$$eval("#aksi option", (o) => o.map((x) => x.value))).includes("complete"),
          "complete is offered before the reply is answered");
    await actInWorkbench(work, "respond", { catatan: "Sisi utara sudah ditambal." }, false);
    await actInWorkbench(work, "complete", {}, false);
    check((await work.textContent("#kasus-rincian")).includes("Selesai"), "the case is not done");
    check(await work.isVisible("#tanpa-tindakan"), "actions are offered to a liaison on a completed case");
    await work.setViewportSize({ width: 320, height: 800 });
    await noHorizontalScroll(work, "the workbench with a case at 320 px");
    await shot(work, "kerja-selesai-320");
    await desk.click("#form-lacak button[type=submit]");
    await desk.waitForFunction(() => document.getElementById("r-status").textContent === "Selesai");
    check(await desk.isHidden("#balas"), "a reply form on a completed case");
    check(await desk.isVisible("#buka-kembali"), "no reopen form on a completed case");
    check(await desk.textContent("#r-penilaian") === "Belum dinilai", "a fresh case shows a rating");

    state.step = "the citizen rates the handling";
    check(await desk.isVisible("#nilai"), "no rating form on a completed case");
    await desk.click("#form-nilai button[type=submit]");
    await desk.waitForSelector("#ringkasan-galat:not([hidden])");
    check((await desk.textContent("#rating-galat")).includes("Pilih nilai"),
          "no message next to the rating when none is chosen");
    await desk.check("#rating-4");
    await desk.fill("#rating_note", "Cepat ditangani. <b>Terima kasih</b>");
    await desk.click("#form-nilai button[type=submit]");
    await desk.waitForFunction(() => document.getElementById("aksi-status").textContent.includes("penilaian Anda tercatat"));
    check((await desk.textContent("#r-penilaian")).startsWith("4 dari 5 (Baik)"),
          `rating shown as "${await desk.textContent("#r-penilaian")}"`);
    check(await desk.isHidden("#nilai"), "the rating form is offered a second time");
    const rated = await desk.textContent("#r-riwayat");
    check(rated.includes("Pelapor memberi penilaian") && rated.includes("<b>Terima kasih</b>"),
          "the rating and its comment (as text) are not in the history");
    await axe(desk, "/lacak after rating");
    await shot(desk, "lacak-nilai-1280");

    state.step = "the citizen reopens";
    check(await desk.isVisible("#buka-kembali"), "no reopen form on a rated completed case");
    await desk.fill("#reopen_note", "Tambalan sudah berlubang lagi.");
    await desk.click("#form-buka button[type=submit]");
    await desk.waitForFunction(() => document.getElementById("aksi-status").textContent.includes("dibuka kembali"));
    check((await desk.textContent("#r-riwayat")).includes("Dibuka kembali"), "the reopening is not in the history");
    check((await desk.textContent("#r-status")).startsWith("Diproses"), "a reopened case is not back with the agency");
    await axe(desk, "/lacak after reopening");

    state.step = "wrong access code";
    await phone.goto("/lacak#" + kb.id);
    await phone.fill("#access_code", "salahkode1234567890");
    await phone.click("#form-lacak button[type=submit]");
    await phone.waitForSelector("#ringkasan-galat:not([hidden])");
    check(await phone.isHidden("#laporan"), "a wrong access code showed the case");
    check((await phone.textContent("#access_code-galat")).includes("Kode akses tidak cocok"),
          "no message next to the access code");
    await axe(phone, "/lacak with a wrong code");
    await shot(phone, "lacak-galat-360");

    state.step = "the reporter reads a confidential case, code typed in lower case";
    await phone.fill("#access_code", kb.code.toLowerCase());
    await phone.click("#form-lacak button[type=submit]");
    await phone.waitForSelector("#laporan:not([hidden])");
    check(await phone.textContent("#laporan-judul") === "Antrean puskesmas terlalu panjang",
          `the reporter does not see the confidential title: "${await phone.textContent("#laporan-judul")}"`);
    check(await phone.textContent("#r-perlindungan") === "Rahasia", "not marked confidential");
    check(await phone.textContent("#r-jenis") === "Aspirasi", "the report type chosen by keyboard is not kept");
    await shot(phone, "lacak-laporan-360");
    await noHorizontalScroll(phone, "a case at 360 px");

    state.step = "the public sees a confidential case's status only";
    await phone.fill("#access_code", "");
    await phone.click("#form-lacak button[type=submit]");
    await phone.waitForFunction(() => document.getElementById("laporan-judul").textContent === "Laporan rahasia");
    check(await phone.textContent("#r-isi") === "Isi laporan hanya dapat dibaca dengan kode akses.",
          "the public sees a confidential description");

    state.step = "reflow at 320 px";
    await phone.setViewportSize({ width: 320, height: 800 });
    for (const p of PAGES) {
      await phone.goto(p);
      await phone.waitForLoadState("networkidle");
      await noHorizontalScroll(phone, `${p} at 320 px`);
    }

    state.step = "200% zoom (a 1280 x 800 window at 200%: 640 x 400 CSS px at 2 device pixels each)";
    const zoomed = await newPage(browser, 640, seen, node.base, 2);
    for (const p of PAGES) {
      await zoomed.goto(p);
      await zoomed.waitForLoadState("networkidle");
      await noHorizontalScroll(zoomed, `${p} at 200% zoom`);
    }
    await track(zoomed, filed.id, filed.code);
    await noHorizontalScroll(zoomed, "a case with its history at 200% zoom");
    check(await zoomed.isVisible("#buka-kembali button[type=submit]") ||
          await zoomed.isVisible("#balas button[type=submit]"),
          "the reporter's action is not reachable at 200% zoom");
    await shot(zoomed, "lacak-laporan-200persen");

    state.step = "after";
    for (const page of [desk, phone, zoomed, work]) {
      const v = await page.evaluate(() => window.__csp);
      check(Array.isArray(v) && v.length === 0, `CSP violations: ${v}`);
      check(await page.evaluate(() => window.__xss) === undefined, "a script from the complaint ran");
    }
    check(seen.dialogs.length === 0, `dialogs opened: ${seen.dialogs}`);
    check(seen.errors.length === 0, `page errors or CSP violations: ${seen.errors.join(" | ")}`);
    check(seen.urls.length > 10, "requests were not recorded");
    const leak = seen.urls.filter((u) => u.includes(filed.code) || u.includes(node.admin) || u.includes(node.liaison));
    check(leak.length === 0, `a URL held an access code or an operator token: ${leak}`);
  } finally {
    if (browser) await browser.close();
    if (node.proc) {
      node.proc.kill("SIGTERM");
      await new Promise((r) => (node.proc.exitCode !== null ? r() : node.proc.on("exit", r)));
      fs.rmSync(node.dir, { recursive: true, force: true });
    }
  }
  console.log(`Browser.CitizenFilesAndTracks${external ? " (against " + external + ", node " + node.id + ")" : ""}: passed in ${((Date.now() - started) / 1000).toFixed(1)} s; ` +
              `screenshots in ${ARTEFACTS}`);
}

main().catch((e) => {
  console.error(`FAILED: ${e.message || e}`);
  process.exit(1);
});
