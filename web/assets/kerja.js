// The operators' workbench: sign in with the operator token (POST /api/v1/session: the node sets
// an HttpOnly, SameSite=Strict session cookie and returns a CSRF token, which stays in this page's
// memory and goes with every change in X-CSRF-Token), then the queue (GET /api/v1/complaints with
// the list's filters, or GET /api/v1/search when words are given, in the node's deadline order,
// overdue cases marked in words), a case with its history,
// and the actions the operator's role and the case's status allow. The node decides every
// request as it does for a bearer token: the page offers, the API authorizes.
"use strict";
(function () {
  const L = window.Lapor;
  const $ = (id) => document.getElementById(id);
  let session = null;  // {operator, csrf_token}
  let cursor = null;   // next page of the queue
  let shown = null;    // the case shown
  let queueRequest = 0;  // the latest queue request: an older one's answer is dropped
  let caseRequest = 0;   // the same for the case shown
  let sessionEpoch = 0;  // +1 at every sign-in and sign-out: an answer from before is dropped
  // The query of the queue shown, {params, words}: "Halaman berikutnya" continues it, whatever
  // the filter form holds now.
  let shownQuery = null;

  // Every request goes with the session cookie (and, for a change, the CSRF token once signed in).
  const call = (method, path, body) =>
    L.api(method, path, body, undefined, session || { csrf_token: "" });
  const text = L.textElement;

  function signedIn(s) {
    session = s;
    sessionEpoch++;
    const op = s.operator;
    L.setText("petugas", "Masuk sebagai " + op.name + " — " + (L.ROLE[op.role] || op.role) +
      (op.agency ? " (" + op.agency + ")" : "") + ". Sesi berakhir " + L.formatDate(s.expires_at) + ".");
    $("masuk").hidden = true;
    $("meja").hidden = false;
    // A liaison's inbox starts with the cases dispositioned to its agency.
    $("saring-status").value = op.role === "liaison" ? "terdisposisi" : "belum_terverifikasi";
    loadQueue(true);
  }

  // Signed out (or the session ended): nothing of the queue or the case (which may show the
  // reporter's details) stays in the page.
  function signedOut(message) {
    session = null;
    sessionEpoch++;
    shown = null;
    cursor = null;
    caseRequest++;
    queueRequest++;
    ["antrean-isi", "kasus-rincian", "kasus-isi", "kasus-lampiran", "kasus-riwayat", "kasus-judul", "petugas",
      "antrean-status", "tindakan-status", "keluar-status"].forEach((id) => { $(id).textContent = ""; });
    $("form-tindakan").reset();
    $("saring-kata").value = "";
    $("unduh").hidden = true;
    $("unduh-csv").href = "#";
    shownQuery = null;
    L.clearErrors($("form-saring"));
    $("keluar-status").hidden = true;
    $("meja").hidden = true;
    $("kasus").hidden = true;
    $("masuk").hidden = false;
    if (message) L.showErrors($("form-masuk"), [{ id: "token", text: message }]);
  }

  // The page may open with a live session (the cookie): ask the node.
  call("GET", "/api/v1/session").then((r) => { if (r.status === 200 && r.body) signedIn(r.body); });

  L.bindSignIn(call, (s) => {
    signedIn(s);
    $("meja-judul").focus();
  });

  // Signing out ends the session at the node first: the page forgets it only once the node has
  // (204), or says it had already ended (401). Otherwise the session would live on behind a page
  // that looks signed out, and come back at the next reload.
  $("form-keluar").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    let r = await call("DELETE", "/api/v1/session");
    if (r.status === 403) {
      // The CSRF token the page holds is not the session's: ask the node for it, then try again.
      const current = await call("GET", "/api/v1/session");
      if (current.status === 200 && current.body) {
        session = current.body;
        r = await call("DELETE", "/api/v1/session");
      } else if (current.status === 401) {
        r = current;  // the session had ended already
      }
    }
    if (r.status === 204 || r.status === 401) {
      signedOut();
      $("token").focus();
      return;
    }
    L.setText("keluar-status", "Belum keluar: " + L.errorMessage(r) + " Coba lagi.");
    $("keluar-status").hidden = false;
  });

  $("form-saring").addEventListener("submit", (ev) => {
    ev.preventDefault();
    L.clearErrors($("form-saring"));
    loadQueue(true);
  });
  $("berikutnya").addEventListener("click", () => loadQueue(false));

  async function loadQueue(fresh) {
    if (fresh || !shownQuery) {
      cursor = null;
      const params = new URLSearchParams();
      const status = $("saring-status").value;
      if (status) params.set("status", status);
      if ($("saring-lewat").checked) params.set("overdue", "true");
      if (session.operator.role === "liaison" && session.operator.agency) params.set("agency", session.operator.agency);
      // Words: the same filters and order through the search (the node decides what each
      // operator may find); spaces between words, as typed.
      const typed = $("saring-kata").value.trim().replace(/\s+/g, " ");
      if (typed) params.set("q", typed);
      params.set("sort", "deadline");
      params.set("limit", "50");
      shownQuery = { params, words: typed };
      fresh = true;
    }
    const words = shownQuery.words;
    const q = new URLSearchParams(shownQuery.params);
    if (cursor) q.set("cursor", cursor);
    $("antrean-status").textContent = "Memuat…";
    const mine = ++queueRequest;
    const path = (words ? "/api/v1/search?" : "/api/v1/complaints?") + q.toString();
    const r = await call("GET", path);
    if (mine !== queueRequest || !session) return;  // a newer filter, or signed out meanwhile
    if (r.status === 401) return signedOut("Sesi berakhir. Masuk lagi dengan token Anda.");
    if (r.status !== 200 || !r.body) {
      if (fresh) { $("antrean-isi").textContent = ""; $("berikutnya").hidden = true; $("unduh").hidden = true; }
      const field = r.body && r.body.error && r.body.error.field;
      if (r.status === 400 && field === "q") {
        $("antrean-status").textContent = "Periksa kata kunci.";
        return L.showErrors($("form-saring"), [{ id: "saring-kata",
          text: "Kata kunci: 1 sampai 10 kata, setiap kata paling sedikit 3 huruf, paling banyak 200 karakter" }]);
      }
      const catchingUp = r.status === 503 && words && r.body && r.body.error && r.body.error.code === "unavailable";
      $("antrean-status").textContent = catchingUp
        ? "Indeks pencarian sedang diperbarui. Coba lagi sebentar lagi." : L.errorMessage(r);
      return;
    }
    // The first 500 results as CSV, with the same session (the link is a GET).
    $("unduh").hidden = !words;
    if (words && fresh) {
      const csv = new URLSearchParams(q);
      csv.delete("cursor");
      csv.set("limit", "500");
      csv.set("format", "csv");
      $("unduh-csv").href = "/api/v1/search?" + csv.toString();
    }
    const items = r.body.items || [];
    const body = $("antrean-isi");
    if (fresh) body.textContent = "";
    const firstNew = body.children.length;
    items.forEach((c) => {
      const tr = document.createElement("tr");
      const idCell = document.createElement("td");
      const open = document.createElement("button");
      open.type = "button";
      open.className = "tautan";
      open.textContent = c.tracking_id;
      open.addEventListener("click", () => openCase(c.tracking_id));
      idCell.appendChild(open);
      tr.appendChild(idCell);
      tr.appendChild(text("td", c.title != null ? c.title : (c.confidential ? "(rahasia)" : "")));
      tr.appendChild(text("td", L.STATUS[c.status] || c.status));
      const due = document.createElement("td");
      due.textContent = c.due_at ? L.formatDate(c.due_at) : "—";
      if (c.overdue) due.appendChild(text("strong", " (lewat batas)", "lewat"));
      tr.appendChild(due);
      body.appendChild(tr);
    });
    cursor = r.body.next_cursor || null;
    const hadFocus = document.activeElement === $("berikutnya");
    $("berikutnya").hidden = !cursor;
    $("antrean-status").textContent = body.children.length
      ? body.children.length + " laporan ditampilkan." + (words ? " Hasil pencarian \u201c" + words + "\u201d." : "")
      : (words ? "Tidak ada laporan yang memuat \u201c" + words + "\u201d dengan saringan ini." : "Tidak ada laporan dengan saringan ini.");
    // "Halaman berikutnya" had the focus and the page's rows came in (the button may now be
    // gone): continue from the first new row.
    if (!fresh && hadFocus && body.children[firstNew]) body.children[firstNew].querySelector("button").focus();
  }

  // The actions an operator may offer for a case, by role and status (the node checks again).
  function actionsFor(role, c) {
    const a = [];
    // A forwarded case is accepted or declined by an admin of the node it was forwarded to; the
    // node that forwarded it waits. Another node's case is only a copy here.
    if (c.pending_owner) {
      return role === "admin" && c.pending_owner === session.node_id
        ? [["accept", "Terima laporan yang diteruskan"], ["decline", "Tolak laporan yang diteruskan"]] : [];
    }
    if (c.owner_node && c.owner_node !== session.node_id) return [];
    if (role === "admin") {
      if (c.status === "belum_terverifikasi" || c.status === "tertunda") a.push(["verify", "Verifikasi dan disposisikan"]);
      if (c.status === "terdisposisi") a.push(["dispose", "Alihkan ke instansi lain"]);
      if (c.status === "belum_terverifikasi" || c.status === "terdisposisi") a.push(["hold", "Tunda"]);
      if (c.status === "belum_terverifikasi" || c.status === "tertunda") a.push(["archive", "Arsipkan"]);
      if (["belum_terverifikasi", "tertunda", "terdisposisi"].includes(c.status)) a.push(["forward", "Teruskan ke simpul lain (bukan wewenang)"]);
      if (c.status === "selesai") a.push(["reopen", "Buka kembali"]);
    } else if (role === "liaison") {
      if (c.status === "terdisposisi") a.push(["process", "Mulai proses"]);
      if (c.status === "terdisposisi" || c.status === "diproses") a.push(["respond", "Beri tanggapan"]);
      if (c.status === "diproses" && c.responded) a.push(["complete", "Nyatakan selesai"]);
    }
    return a;
  }
  const FIELDS = {
    verify: ["agency"], dispose: ["agency"], hold: ["note"], archive: ["archive"],
    forward: ["to", "note"], decline: ["reason"], respond: ["note"], reopen: ["note"],
  };

  function showFields() {
    const want = FIELDS[$("aksi").value] || [];
    $("k-agency").hidden = !want.includes("agency");
    $("k-reason").hidden = !want.includes("reason");
    $("k-archive").hidden = !want.includes("archive");
    $("k-to").hidden = !want.includes("to");
    $("k-note").hidden = !want.includes("note");
  }
  $("aksi").addEventListener("change", showFields);

  async function openCase(id) {
    const mine = ++caseRequest;
    const r = await call("GET", "/api/v1/complaints/" + encodeURIComponent(id));
    // Signed out meanwhile (nothing of a case may come back), or another case asked for since.
    if (!session || mine !== caseRequest) return;
    if (r.status === 401) return signedOut("Sesi berakhir. Masuk lagi dengan token Anda.");
    if (r.status !== 200 || !r.body) {
      $("antrean-status").textContent = L.errorMessage(r);
      return;
    }
    shown = r.body;
    renderCase(shown);
    $("kasus").hidden = false;
    $("kasus-judul").focus();
  }

  function renderCase(c) {
    L.setText("kasus-judul", (c.title != null ? c.title : "Laporan " + c.tracking_id));
    const dl = $("kasus-rincian");
    dl.textContent = "";
    const row = (k, v) => { dl.appendChild(text("dt", k)); dl.appendChild(text("dd", v == null || v === "" ? "—" : v)); };
    row("Nomor pelacakan", c.tracking_id);
    row("Status", L.STATUS[c.status] || c.status);
    row("Jenis laporan", c.report_type ? (L.REPORT_TYPE[c.report_type] || c.report_type) : null);
    row("Kategori", c.category);
    row("Wilayah", c.region_code);
    row("Instansi", c.agency);
    row("Batas waktu", c.due_at ? L.formatDate(c.due_at) + (c.overdue ? " (lewat batas)" : "") : null);
    row("Perlindungan", [c.anonymous ? "Anonim" : "", c.confidential ? "Rahasia" : ""].filter(Boolean).join(", ") || "Tidak ada");
    if (c.reporter) row("Pelapor", [c.reporter.name, c.reporter.phone, c.reporter.email].filter(Boolean).join(" · "));
    if (c.pending_owner) row("Diteruskan ke simpul", c.pending_owner);
    L.setText("kasus-isi", c.description != null ? c.description : "Isi laporan tidak dapat Anda baca.");
    L.renderAttachments($("kasus-lampiran"), c, null, session);
    const list = $("kasus-riwayat");
    list.textContent = "";
    (c.history || []).forEach((h) => {
      const li = document.createElement("li");
      li.appendChild(text("strong", L.EVENT[h.type] || h.type));
      const who = h.actor ? (h.actor.kind === "operator" ? (L.ROLE[h.actor.role] || "Petugas") +
        (h.actor.operator_id != null ? " #" + h.actor.operator_id : "") : h.actor.kind === "reporter" ? "Pelapor" : "Sistem") : "";
      li.appendChild(text("span", L.formatDate(h.at) + " · " + who, "waktu"));
      if (h.agency) li.appendChild(text("span", "Instansi: " + h.agency, "waktu"));
      if (h.reason) li.appendChild(text("span", "Alasan: " + h.reason, "waktu"));
      if (h.note) li.appendChild(text("p", h.note, "catatan"));
      list.appendChild(li);
    });
    const acts = actionsFor(session.operator.role, c);
    const select = $("aksi");
    select.textContent = "";
    acts.forEach(([value, label]) => {
      const o = document.createElement("option");
      o.value = value;
      o.textContent = label;
      select.appendChild(o);
    });
    $("form-tindakan").hidden = acts.length === 0;
    $("tanpa-tindakan").hidden = acts.length !== 0;
    $("tanpa-tindakan").textContent = session.operator.role === "auditor"
      ? "Auditor membaca laporan dan riwayatnya; tindakan dilakukan oleh admin dan penghubung instansi."
      : c.pending_owner && c.pending_owner !== session.node_id
        ? "Laporan ini menunggu diterima oleh simpul " + c.pending_owner + "."
        : c.owner_node && c.owner_node !== session.node_id
          ? "Laporan ini ditangani simpul " + c.owner_node + "; di sini hanya salinannya."
          : "Tidak ada tindakan yang dapat Anda lakukan pada laporan dengan status ini.";
    showFields();
  }

  $("form-tindakan").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const form = $("form-tindakan");
    L.clearErrors(form);
    const action = $("aksi").value;
    const body = { action };
    const want = FIELDS[action] || [];
    const field = { agency: "agency", reason: "reason", to: "to", note: "catatan" };
    for (const k of want) {
      if (k === "archive") { body.reason = $("archive-reason").value; continue; }
      const v = $(field[k]).value.trim();
      if (v) body[k] = v;
    }
    const errors = [];
    if (want.includes("agency") && !body.agency) errors.push({ id: "agency", text: "Tulis kode instansi tujuan" });
    if (action === "respond" && !body.note) errors.push({ id: "catatan", text: "Tulis tanggapan instansi" });
    if (action === "forward" && !body.to) errors.push({ id: "to", text: "Tulis kode simpul tujuan" });
    if (action === "decline" && !body.reason) errors.push({ id: "reason", text: "Tulis alasannya" });
    if (errors.length) return L.showErrors(form, errors);
    $("tindakan-status").textContent = "Mengirim…";
    const acted = shown.tracking_id;
    const epoch = sessionEpoch;
    const r = await call("POST", "/api/v1/complaints/" + encodeURIComponent(acted) + "/actions", body);
    $("tindakan-status").textContent = "";
    if (!session || epoch !== sessionEpoch) return;  // signed out (or in again) meanwhile
    if (r.status === 401) return signedOut("Sesi berakhir. Masuk lagi dengan token Anda.");
    if (r.status !== 200) {
      const e = r.body && r.body.error;
      const id = e && field[e.field] ? field[e.field] : undefined;
      return L.showErrors(form, [{ id, text: r.status === 409 ? "Tidak dapat dilakukan pada status ini: " + (e ? e.message : "")
        : L.errorMessage(r) }]);
    }
    form.reset();
    // The case acted on is shown again with its new state, unless another was opened meanwhile.
    if (shown && shown.tracking_id === acted) await openCase(acted);
    if (!session || epoch !== sessionEpoch) return;
    $("tindakan-status").textContent = "Tindakan tercatat.";
    loadQueue(true);
  });
})();
