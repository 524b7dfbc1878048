// The dashboard: sign in as on the workbench (POST /api/v1/session: an HttpOnly, SameSite=Strict
// session cookie), then the figures. At the national hub they come from GET /national/v1/stats
// (every member's signed report: totals, by province with drill-down to regencies, the SLA
// league, weekly trends) and GET /national/v1/alerts (silent members, overdue cross-jurisdiction
// cases, equivocations, each member's health); at a regional node (where /national/ answers 404)
// from GET /api/v1/stats, the node's own cases, without trends or alerts. Every number shown is
// the API's, formatted for Indonesian readers; the chart is plain SVG with a data table beside
// it. The node decides who may read (admins and auditors).
"use strict";
(function () {
  const L = window.Lapor;
  const $ = (id) => document.getElementById(id);
  const number = new Intl.NumberFormat("id-ID");
  let session = null;
  let mode = null;      // "nasional" (the hub) or "simpul" (a regional node)
  let request = 0;      // the latest load: an older answer is dropped
  let names = new Map();

  const call = (method, path, body) => L.api(method, path, body, undefined, session || { csrf_token: "" });

  // How the page writes a figure (tests/browser/dashboard.test.js formats the API's the same way).
  function fmt(v) { return v === null || v === undefined ? "belum ada" : number.format(v); }
  function pct(v) {
    return v === null || v === undefined ? "belum ada" : number.format(Math.round(v * 1000) / 10) + "%";
  }
  function hours(v) { return v === null || v === undefined ? "belum ada" : number.format(v) + " jam"; }
  function regionName(code, fallback) {
    return names.get(code) || fallback || code;
  }
  function cell(tag, text, attrs) {
    const e = L.textElement(tag, text);
    Object.entries(attrs || {}).forEach(([k, v]) => e.setAttribute(k, v));
    return e;
  }

  // The filters as query parameters. Dates are days in Western Indonesian Time (the node reads
  // YYYY-MM-DD as 00:00 WIB): "until" includes its whole day, so it asks for the next day's start
  // (or nothing, meaning now, while that is still ahead).
  function query() {
    const q = new URLSearchParams();
    const from = $("dari").value, to = $("sampai").value;
    if (mode === "nasional") {
      if (from) q.set("from", from);
      if (to) {
        const next = new Date(to + "T00:00:00Z");
        next.setUTCDate(next.getUTCDate() + 1);
        if (next.getTime() - 7 * 3600 * 1000 < Date.now()) q.set("to", next.toISOString().slice(0, 10));
      }
    }
    [["provinsi", "province"], ["jenis", "report_type"], ["kategori", "category"],
      ["instansi", "agency"]].forEach(([id, name]) => {
      const v = $(id).value.trim();
      if (v) q.set(name, v);
    });
    return q;
  }

  const FIELD = { from: "dari", to: "sampai", province: "provinsi", category: "kategori", agency: "instansi" };
  const FIELD_MESSAGE = {
    from: "Tanggal awal harus sebelum tanggal akhir, dan tidak sebelum tahun 2000",
    to: "Tanggal akhir tidak boleh sesudah hari ini, dan tidak sebelum tahun 2000",
    province: "Pilih provinsi dari daftar",
    category: "Tulis kode kategori: huruf kecil, angka dan tanda hubung, misalnya infrastruktur",
    agency: "Tulis kode instansi: huruf kecil, angka dan tanda hubung, misalnya dinas-pu",
  };

  function renderTotals(t, since) {
    const dl = $("ringkasan");
    dl.textContent = "";
    const rows = [
      ["cases", "Laporan yang ditangani", fmt(t.cases)],
      ["filed", since ? "Masuk dalam periode" : "Masuk seluruhnya", fmt(t.filed)],
      ["backlog", "Belum selesai", fmt(t.backlog)],
      ["overdue", "Melewati batas waktu", fmt(t.overdue)],
      ["escalated", "Dieskalasi", fmt(t.escalated)],
      ["verified_on_time_share", "Diverifikasi dalam 3 hari kerja",
        pct(t.verified_on_time_share) + " (" + fmt(t.verified_on_time) + " dari " + fmt(t.verified) + ")"],
      ["responded_on_time_share", "Ditanggapi dalam 5 hari kerja",
        pct(t.responded_on_time_share) + " (" + fmt(t.responded_on_time) + " dari " + fmt(t.responded) + ")"],
      ["median_hours_to_verification", "Median waktu sampai verifikasi", hours(t.median_hours_to_verification)],
      ["median_hours_to_response", "Median waktu sampai tanggapan", hours(t.median_hours_to_response)],
      ["reopened", "Dibuka kembali", fmt(t.reopened)],
      ["auto_completed", "Selesai otomatis (tanpa balasan pelapor)", fmt(t.auto_completed)],
    ];
    rows.forEach(([key, label, value]) => {
      dl.appendChild(L.textElement("dt", label));
      dl.appendChild(cell("dd", value, { "data-angka": key }));
    });
  }

  function renderRegions(data) {
    const drill = Array.isArray(data.regencies);
    const rows = drill ? data.regencies : data.provinces;
    const province = $("provinsi").value;
    L.setText("wilayah-judul", drill ? "Per kabupaten/kota di " + regionName(province) : "Per provinsi");
    L.setText("wilayah-caption", drill ? "Angka per kabupaten/kota" : "Angka per provinsi");
    $("wilayah-kembali").hidden = !drill;
    const body = $("wilayah-isi");
    body.textContent = "";
    rows.forEach((r) => {
      const tr = document.createElement("tr");
      tr.setAttribute("data-kode", r.code);
      const th = document.createElement("th");
      th.scope = "row";
      if (!drill && mode === "nasional") {
        const b = L.textElement("button", regionName(r.code, r.name), "tautan");
        b.type = "button";
        b.setAttribute("aria-label", "Rincian " + regionName(r.code, r.name) + " per kabupaten/kota");
        // The table is drawn again without this button: the focus goes to its heading, from
        // which Tab reaches "Kembali" first.
        b.addEventListener("click", () => {
          $("provinsi").value = r.code;
          load().then((ok) => { if (ok) $("wilayah-judul").focus(); });
        });
        th.appendChild(b);
      } else {
        th.textContent = regionName(r.code, r.name);
      }
      tr.appendChild(th);
      tr.appendChild(cell("td", fmt(r.cases), { "data-angka": "cases" }));
      tr.appendChild(cell("td", fmt(r.backlog), { "data-angka": "backlog" }));
      tr.appendChild(cell("td", fmt(r.overdue), { "data-angka": "overdue" }));
      tr.appendChild(cell("td", pct(r.verified_on_time_share), { "data-angka": "verified_on_time_share" }));
      tr.appendChild(cell("td", pct(r.responded_on_time_share), { "data-angka": "responded_on_time_share" }));
      body.appendChild(tr);
    });
    if (!rows.length) {
      const tr = document.createElement("tr");
      tr.appendChild(cell("td", "Belum ada angka untuk pilihan ini.", { colspan: "6" }));
      body.appendChild(tr);
    }
    const csv = new URLSearchParams(query());
    csv.set("format", "csv");
    $("unduh-csv").href = (mode === "nasional" ? "/national/v1/stats?" : "/api/v1/stats?") + csv.toString();
    $("unduh-csv").parentElement.hidden = mode !== "nasional";
  }

  // A table with nothing to list says so.
  function emptyRow(body, columns, text) {
    const tr = document.createElement("tr");
    tr.appendChild(cell("td", text, { colspan: String(columns) }));
    body.appendChild(tr);
  }

  function renderLeague(league) {
    const body = $("liga-isi");
    body.textContent = "";
    if (!league.length) emptyRow(body, 4, "Belum ada provinsi dengan angka.");
    league.forEach((r) => {
      const tr = document.createElement("tr");
      tr.setAttribute("data-kode", r.code);
      tr.appendChild(L.textElement("td", fmt(r.rank)));
      const th = L.textElement("th", regionName(r.code, r.name));
      th.scope = "row";
      tr.appendChild(th);
      tr.appendChild(L.textElement("td", pct(r.verified_on_time_share)));
      tr.appendChild(L.textElement("td", pct(r.responded_on_time_share)));
      body.appendChild(tr);
    });
  }

  // Bars of the cases filed each week, drawn with SVG attributes only (the page's Content
  // Security Policy allows no inline style).
  function renderTrend(weekly) {
    const svg = $("grafik-tren");
    const ns = "http://www.w3.org/2000/svg";
    Array.from(svg.querySelectorAll("g, line")).forEach((n) => n.remove());
    const max = Math.max(1, ...weekly.map((w) => Math.max(0, w.filed)));
    const width = 600, height = 220, left = 40, bottom = 30, top = 10;
    const band = (width - left) / Math.max(1, weekly.length);
    const g = document.createElementNS(ns, "g");
    const axis = document.createElementNS(ns, "line");
    [["x1", left], ["y1", height - bottom], ["x2", width], ["y2", height - bottom],
      ["stroke", "#0b0c0c"]].forEach(([k, v]) => axis.setAttribute(k, v));
    svg.appendChild(axis);
    weekly.forEach((w, i) => {
      const h = (Math.max(0, w.filed) / max) * (height - bottom - top);
      const bar = document.createElementNS(ns, "rect");
      [["x", left + i * band + band * 0.15], ["y", height - bottom - h], ["width", band * 0.7],
        ["height", h], ["fill", "#1d4f91"]].forEach(([k, v]) => bar.setAttribute(k, v));
      g.appendChild(bar);
      const label = document.createElementNS(ns, "text");
      [["x", left + i * band + band / 2], ["y", height - bottom - h - 3], ["text-anchor", "middle"],
        ["font-size", "11"], ["fill", "#0b0c0c"]].forEach(([k, v]) => label.setAttribute(k, v));
      label.textContent = fmt(w.filed);
      g.appendChild(label);
      if (i % 2 === 0 || weekly.length <= 8) {
        const day = document.createElementNS(ns, "text");
        [["x", left + i * band + band / 2], ["y", height - 10], ["text-anchor", "middle"],
          ["font-size", "10"], ["fill", "#505a5f"]].forEach(([k, v]) => day.setAttribute(k, v));
        day.textContent = new Date(w.week_start).toLocaleDateString("id-ID",
          { day: "numeric", month: "short", timeZone: "Asia/Jakarta" });
        g.appendChild(day);
      }
    });
    svg.appendChild(g);
    const body = $("tren-isi");
    body.textContent = "";
    weekly.forEach((w) => {
      const tr = document.createElement("tr");
      const th = L.textElement("th", L.formatDate(w.week_start));
      th.scope = "row";
      tr.appendChild(th);
      tr.appendChild(cell("td", fmt(w.filed), { "data-angka": "filed" }));
      tr.appendChild(L.textElement("td", fmt(w.verified)));
      tr.appendChild(L.textElement("td", pct(w.verified_on_time_share)));
      tr.appendChild(L.textElement("td", fmt(w.backlog)));
      body.appendChild(tr);
    });
  }

  function age(h) { return h === null || h === undefined ? "belum pernah" : number.format(h) + " jam lalu"; }

  function renderAlerts(a) {
    const list = $("peringatan-isi");
    list.textContent = "";
    const REASON = { no_report: "tidak mengirim laporan angka", no_checkpoint_witnessed: "checkpoint tidak disaksikan" };
    a.silent_members.forEach((m) => {
      list.appendChild(L.textElement("li", "Simpul " + regionName(m.node_id) + " (" + m.node_id + ") diam lebih dari " +
        fmt(a.silent_hours) + " jam: " + m.reasons.map((r) => REASON[r] || r).join(", ") + "."));
    });
    if (a.federation_alerts.count > 0) {
      list.appendChild(L.textElement("li", fmt(a.federation_alerts.count) +
        " peringatan federasi (misalnya dua checkpoint log bertanda tangan yang bertentangan) untuk diperiksa pengelola simpul nasional."));
    }
    list.appendChild(L.textElement("li", fmt(a.overdue_cases.count) +
      " laporan lintas wilayah melewati batas waktu."));
    const body = $("lewat-isi");
    body.textContent = "";
    if (!a.overdue_cases.items.length) emptyRow(body, 5, "Tidak ada laporan lintas wilayah yang melewati batas waktu.");
    if (a.overdue_cases.count > 50) {
      L.setText("lewat-caption", "Laporan lintas wilayah yang melewati batas waktu (50 terlama dari " +
        fmt(a.overdue_cases.count) + ")");
    } else {
      L.setText("lewat-caption", "Laporan lintas wilayah yang melewati batas waktu");
    }
    a.overdue_cases.items.slice(0, 50).forEach((c) => {
      const tr = document.createElement("tr");
      const th = L.textElement("th", c.tracking_id);
      th.scope = "row";
      tr.appendChild(th);
      tr.appendChild(L.textElement("td", L.STATUS[c.status] || c.status));
      tr.appendChild(L.textElement("td", L.formatDate(c.due_at)));
      tr.appendChild(L.textElement("td", number.format(c.overdue_hours) + " jam"));
      tr.appendChild(L.textElement("td", c.owner_node ? regionName(c.owner_node) : "Rahasia"));
      body.appendChild(tr);
    });
    const health = $("kesehatan-isi");
    health.textContent = "";
    if (!a.members.length) emptyRow(health, 4, "Belum ada simpul anggota.");
    a.members.forEach((m) => {
      const tr = document.createElement("tr");
      tr.setAttribute("data-kode", m.node_id);
      const th = L.textElement("th", regionName(m.node_id) + " (" + m.node_id + ")");
      th.scope = "row";
      tr.appendChild(th);
      tr.appendChild(L.textElement("td", age(m.last_report_age_hours)));
      tr.appendChild(L.textElement("td", age(m.last_witnessed_age_hours)));
      tr.appendChild(L.textElement("td", fmt(m.delivery_backlog) + " peristiwa"));
      health.appendChild(tr);
    });
  }

  async function load() {
    const mine = ++request;
    await regionsReady.catch(() => {});
    L.clearErrors($("form-saring"));
    L.setText("status-muat", "Memuat angka…");
    const q = query();
    const path = mode === "nasional" ? "/national/v1/stats?" : "/api/v1/stats?";
    const r = await call("GET", path + q.toString());
    if (mine !== request) return false;
    if (r.status === 401) {
      signedOut("Sesi berakhir. Masuk lagi.");
      return false;
    }
    if (r.status !== 200 || !r.body) {
      // No figure of an earlier choice stays beside a form that says another.
      clearFigures();
      L.setText("status-muat", "Angka belum diperbarui.");
      const e = r.body && r.body.error;
      const id = e && FIELD[e.field];
      L.showErrors($("form-saring"), [{ id, text: id ? FIELD_MESSAGE[e.field] : L.errorMessage(r) }]);
      return false;
    }
    const data = r.body;
    renderTotals(data.totals, data.since);
    renderRegions(data);
    renderLeague(data.league);
    if (mode === "nasional") {
      renderTrend(data.weekly);
      const a = await call("GET", "/national/v1/alerts");
      if (mine !== request) return false;
      if (a.status === 200 && a.body) {
        renderAlerts(a.body);
      } else {
        ["peringatan-isi", "lewat-isi", "kesehatan-isi"].forEach((id) => { $(id).textContent = ""; });
        $("peringatan-isi").appendChild(L.textElement("li", "Peringatan tidak dapat dimuat: " + L.errorMessage(a)));
      }
    }
    L.setText("status-muat", "Angka per " + L.formatDate(data.as_of) + ", dari " + fmt(data.members_reporting) +
      (mode === "nasional" ? " simpul yang melapor." : " simpul (simpul ini)."));
    return true;
  }

  function clearFigures() {
    ["ringkasan", "wilayah-isi", "liga-isi", "tren-isi", "peringatan-isi", "lewat-isi",
      "kesehatan-isi"].forEach((id) => { $(id).textContent = ""; });
    Array.from($("grafik-tren").querySelectorAll("g, line")).forEach((n) => n.remove());
    $("unduh-csv").href = "#";
  }

  async function signedIn(s) {
    session = s;
    const probe = await call("GET", "/national/v1/stats?weeks=0");
    if (probe.status === 403 || (probe.status === 404 && !(await ownAllowed()))) {
      await call("DELETE", "/api/v1/session");
      return signedOut("Dasbor hanya untuk admin dan auditor simpul ini.");
    }
    if (probe.status !== 200 && probe.status !== 404) {
      await call("DELETE", "/api/v1/session");
      return signedOut(L.errorMessage(probe));
    }
    mode = probe.status === 200 ? "nasional" : "simpul";
    const op = s.operator;
    L.setText("cakupan", (mode === "nasional"
      ? "Simpul nasional: angka seluruh Indonesia dari laporan angka bertanda tangan setiap simpul."
      : "Simpul daerah: angka laporan yang ditangani simpul ini. Tren dan peringatan federasi ada di dasbor simpul nasional.") +
      " Masuk sebagai " + op.name + " (" + (L.ROLE[op.role] || op.role) + ").");
    $("bagian-tren").hidden = mode !== "nasional";
    $("bagian-peringatan").hidden = mode !== "nasional";
    $("bagian-kesehatan").hidden = mode !== "nasional";
    $("k-dari").hidden = mode !== "nasional";
    $("k-sampai").hidden = mode !== "nasional";
    $("periode-hint").hidden = mode !== "nasional";
    $("masuk").hidden = true;
    $("dasbor").hidden = false;
    await load();
  }
  async function ownAllowed() {
    const r = await call("GET", "/api/v1/stats");
    return r.status === 200;
  }

  function signedOut(message) {
    session = null;
    mode = null;
    request++;
    clearFigures();
    ["cakupan", "status-muat"].forEach((id) => { $(id).textContent = ""; });
    L.clearErrors($("form-saring"));
    L.clearErrors($("form-masuk"));
    $("form-saring").reset();
    $("dasbor").hidden = true;
    $("masuk").hidden = false;
    if (message) L.showErrors($("form-masuk"), [{ id: "token", text: message }]);
  }

  // Names of provinces and regencies (the shipped list), wanted before a table is drawn.
  const regionsReady = L.regions().then((r) => {
    names = r.byCode;
    const sel = $("provinsi");
    r.provinces.forEach((p) => {
      const o = document.createElement("option");
      o.value = p.code;
      o.textContent = p.name;
      sel.appendChild(o);
    });
  });

  call("GET", "/api/v1/session").then((r) => { if (r.status === 200 && r.body) signedIn(r.body); });

  L.bindSignIn(call, async (s) => {
    await signedIn(s);
    if (session) $("dasbor-judul").focus();
  });
  $("form-keluar").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    await call("DELETE", "/api/v1/session");
    signedOut();
    $("token").focus();
  });
  $("form-saring").addEventListener("submit", (ev) => { ev.preventDefault(); load(); });
  $("kembali").addEventListener("click", () => {
    $("provinsi").value = "";
    load().then((ok) => { if (ok) $("wilayah-judul").focus(); });
  });
})();
