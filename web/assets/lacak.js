// The tracking page: reads a case with GET /api/v1/complaints/{id} (the access code in the
// X-Access-Code header), shows its status, deadlines and history, and offers the reporter's
// actions the lifecycle allows: reply while the agency works on it (diproses), reopen once it is
// done (selesai; the node refuses after 10 working days), and rate the handling once it is done
// (once per case).
"use strict";
(function () {
  const L = window.Lapor;
  const $ = (id) => document.getElementById(id);
  const form = $("form-lacak");
  let current = null;  // {id, code} of the case shown; the code stays in this page's memory
  // Cases rated from this page whose owner node has not recorded the rating yet (a case another
  // node owns takes a moment): the form is not offered again meanwhile.
  const ratedHere = new Set();

  // The receipt links here as /lacak#ID: fill the id in, also when the page is already open.
  function fromHash() {
    if (location.hash.length <= 1) return;
    try { $("tracking_id").value = decodeURIComponent(location.hash.slice(1)); } catch (e) { /* as typed */ }
  }
  fromHash();
  window.addEventListener("hashchange", fromHash);

  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    L.clearErrors(form);
    const id = $("tracking_id").value.trim().toUpperCase();
    // Codes are base32 (A-Z, 2-7): typed in lower case or with spaces they are the same code.
    const code = $("access_code").value.replace(/\s+/g, "").toUpperCase();
    const errors = [];
    if (!id) errors.push({ id: "tracking_id", text: "Tulis nomor pelacakan" });
    else if (!/^[0-9]{2,4}-[A-Z2-7]{10}$/.test(id)) {
      errors.push({ id: "tracking_id", text: "Nomor pelacakan seperti 32-ABCDEFGHJK: kode wilayah, tanda hubung, 10 huruf atau angka" });
    }
    if (errors.length) return L.showErrors(form, errors);
    $("lacak-status").textContent = "Memuat laporan…";
    const ok = await load(id, code, form);
    $("lacak-status").textContent = ok ? "Laporan dimuat." : "";
    if (ok) $("laporan-judul").focus();
  });

  // Fetches and shows the case; errors go to `errorForm`'s summary. Returns whether it shows.
  async function load(id, code, errorForm) {
    const reply = await L.api("GET", "/api/v1/complaints/" + encodeURIComponent(id), undefined, code);
    if (reply.status === 200 && reply.body) {
      current = { id, code };
      render(reply.body);
      return true;
    }
    let err;
    if (reply.status === 404) err = { id: "tracking_id", text: "Tidak ada laporan dengan nomor pelacakan ini" };
    else if (reply.status === 401) err = { id: "access_code", text: "Kode akses tidak cocok dengan laporan ini" };
    else if (reply.status === 400 && reply.body && reply.body.error && reply.body.error.field === "case_id") {
      err = { id: "tracking_id", text: "Nomor pelacakan tidak dikenali" };
    } else err = { text: L.errorMessage(reply) };
    $("laporan").hidden = true;
    L.showErrors(errorForm, [err]);
    return false;
  }

  const text = L.textElement;

  function actorName(actor) {
    if (!actor) return "";
    if (actor.kind === "reporter") return "Pelapor";
    if (actor.kind === "operator") return L.ROLE[actor.role] || "Petugas";
    return "Sistem";
  }

  function render(c) {
    const hidden = "tidak ditampilkan";
    L.setText("laporan-judul", c.title != null ? c.title
      : (c.confidential ? "Laporan rahasia" : "Laporan " + c.tracking_id));
    L.setText("r-nomor", c.tracking_id);
    L.setText("r-status", L.STATUS[c.status] || c.status);
    L.setText("r-jenis", c.report_type ? (L.REPORT_TYPE[c.report_type] || c.report_type) : hidden);
    L.setText("r-kategori", c.category ? c.category[0].toUpperCase() + c.category.slice(1) : hidden);
    L.setText("r-wilayah", c.region_code || hidden);
    if (c.region_code) {
      L.regions().then((r) => {
        const name = r.byCode.get(c.region_code);
        if (name) L.setText("r-wilayah", name + " (" + c.region_code + ")");
      }).catch(() => {});
    }
    L.setText("r-instansi", c.agency || (c.report_type ? "belum ditentukan" : hidden));
    L.setText("r-dibuat", L.formatDate(c.created_at));
    const batas = $("r-batas");
    batas.textContent = "";
    if (c.due_at) {
      batas.appendChild(document.createTextNode(L.formatDate(c.due_at) + " — " +
        (L.DUE_KIND[c.due_kind] || c.due_kind || "")));
      if (c.overdue) batas.appendChild(text("strong", " (sudah melewati batas waktu)", "lewat"));
      if (c.escalated) batas.appendChild(text("span", " Dinaikkan ke tingkat lebih tinggi."));
    } else if (c.auto_complete_at) {
      batas.textContent = "Dinyatakan selesai otomatis pada " + L.formatDate(c.auto_complete_at) +
        " bila Anda tidak membalas.";
    } else {
      batas.textContent = "Tidak ada";
    }
    const prot = [];
    if (c.anonymous) prot.push("Anonim");
    if (c.confidential) prot.push("Rahasia");
    L.setText("r-perlindungan", prot.length ? prot.join(", ") : "Tidak ada");
    const rating = (r) => r + " dari 5 (" + (L.RATING[r] || "") + ")";
    L.setText("r-penilaian", c.rating ? rating(c.rating) + ", " + L.formatDate(c.rated_at)
      : c.rated_at ? "Sudah dinilai " + L.formatDate(c.rated_at)
      : ratedHere.has(c.tracking_id) ? "Penilaian terkirim, menunggu dicatat" : "Belum dinilai");
    L.setText("r-isi", c.description != null ? c.description
      : "Isi laporan hanya dapat dibaca dengan kode akses.");
    L.renderAttachments($("r-lampiran"), c, current && current.code, null);

    const list = $("r-riwayat");
    list.textContent = "";
    (c.history || []).forEach((h) => {
      const li = document.createElement("li");
      li.appendChild(text("strong", L.EVENT[h.type] || h.type));
      li.appendChild(text("span", L.formatDate(h.at) + " · " + actorName(h.actor), "waktu"));
      if (h.agency) li.appendChild(text("span", "Instansi: " + h.agency, "waktu"));
      if (h.reason) {
        li.appendChild(text("span", "Alasan: " + (L.ARCHIVE_REASON[h.reason] || h.reason), "waktu"));
      }
      if (h.rating) li.appendChild(text("span", "Nilai: " + rating(h.rating), "waktu"));
      if (h.note) li.appendChild(text("p", h.note, "catatan"));
      list.appendChild(li);
    });
    if (c.archive_reason) {
      L.setText("r-status", (L.STATUS[c.status] || c.status) + " — " +
        (L.ARCHIVE_REASON[c.archive_reason] || c.archive_reason));
    }

    const reporter = c.access === "reporter";
    showProof(reporter ? current : null);
    $("balas").hidden = !(reporter && c.status === "diproses");
    $("buka-kembali").hidden = !(reporter && c.status === "selesai");
    $("nilai").hidden = !(reporter && c.status === "selesai" && !c.rated_at &&
      !ratedHere.has(c.tracking_id));
    $("laporan").hidden = false;
  }

  // The filing receipt (GET .../receipt, the reporter's code in the header): the signed submission,
  // the node's log checkpoint that covers it and the inclusion proof, as a file to keep, and the
  // same in plain words. The log integrates new events within a second: until then, say so.
  // `shown` counts the cases shown: a reply for a case no longer shown is dropped.
  let receipt = null;
  let shown = 0;
  async function showProof(which) {
    const mine = ++shown;
    receipt = null;
    $("bukti").hidden = !which;
    $("unduh-bukti").hidden = true;
    if (!which) return;
    const { id, code } = which;
    $("bukti-teks").textContent = "Memeriksa log publik…";
    const path = "/api/v1/complaints/" + encodeURIComponent(id) + "/receipt";
    let reply = await L.api("GET", path, undefined, code);
    for (let tries = 0; reply.status === 503 && tries < 5 && mine === shown; ++tries) {
      await new Promise((r) => setTimeout(r, 500));
      reply = await L.api("GET", path, undefined, code);
    }
    if (mine !== shown) return;
    if (reply.status !== 200 || !reply.body) {
      $("bukti-teks").textContent = reply.status === 503
        ? "Laporan sedang dicatat di log publik. Muat ulang halaman ini sebentar lagi."
        : "Bukti pencatatan tidak dapat dimuat: " + L.errorMessage(reply);
      return;
    }
    receipt = reply.body;
    // The checkpoint is a signed note: the node's signature line, then one per witness.
    const sigs = String(receipt.checkpoint || "").split("\n").filter((l) => l.startsWith("\u2014 ")).length;
    $("bukti-teks").textContent = "Laporan Anda tercatat di log publik simpul " + receipt.node_id +
      " pada " + L.formatDate(receipt.filed_at) + " sebagai entri nomor " + receipt.leaf_index +
      (sigs > 1 ? ". Log tersebut ditandatangani simpul dan disaksikan simpul nasional."
        : ". Log tersebut ditandatangani simpul.");
    $("unduh-bukti").hidden = false;
  }
  $("unduh-bukti").addEventListener("click", () => {
    if (!receipt) return;
    const blob = new Blob([JSON.stringify(receipt, null, 2) + "\n"], { type: "application/json" });
    const a = document.createElement("a");
    a.href = URL.createObjectURL(blob);
    a.download = "tanda-terima-" + receipt.tracking_id + ".json";
    document.body.appendChild(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(a.href), 1000);
  });

  async function act(formEl, body, doneText) {
    L.clearErrors(formEl);
    $("aksi-status").textContent = "Mengirim…";
    const reply = await L.api("POST", "/api/v1/complaints/" + encodeURIComponent(current.id) +
      "/actions", body, current.code);
    $("aksi-status").textContent = "";
    if (reply.status !== 200) {
      const field = { reply: "note", reopen: "reopen_note", rate: "rating_note" }[body.action];
      const e = reply.body && reply.body.error;
      let msg = L.errorMessage(reply);
      if (reply.status === 409) msg = "Laporan tidak dapat diubah pada status ini: " + (e ? e.message : "");
      else if (e && (e.field === "note" || e.field === "rating")) msg = "Periksa isian ini: " + e.message;
      const id = e && e.field === "note" ? field : e && e.field === "rating" ? "rating" : undefined;
      return L.showErrors(formEl, [{ id, text: msg }]);
    }
    formEl.reset();
    if (body.action === "rate") ratedHere.add(current.id);
    await load(current.id, current.code, formEl);
    $("aksi-status").textContent = doneText;
  }

  $("form-balas").addEventListener("submit", (ev) => {
    ev.preventDefault();
    const note = $("note").value.trim();
    if (!note) {
      L.clearErrors($("form-balas"));
      return L.showErrors($("form-balas"), [{ id: "note", text: "Tulis balasan Anda" }]);
    }
    act($("form-balas"), { action: "reply", note }, "Balasan terkirim. Status laporan diperbarui di atas.");
  });
  $("form-buka").addEventListener("submit", (ev) => {
    ev.preventDefault();
    const note = $("reopen_note").value.trim();
    const body = { action: "reopen" };
    if (note) body.note = note;
    act($("form-buka"), body, "Laporan dibuka kembali.");
  });
  $("form-nilai").addEventListener("submit", (ev) => {
    ev.preventDefault();
    const chosen = $("form-nilai").querySelector('input[name="rating"]:checked');
    if (!chosen) {
      L.clearErrors($("form-nilai"));
      return L.showErrors($("form-nilai"), [{ id: "rating", text: "Pilih nilai 1 sampai 5" }]);
    }
    const body = { action: "rate", rating: Number(chosen.value) };
    const note = $("rating_note").value.trim();
    if (note) body.note = note;
    act($("form-nilai"), body, "Terima kasih, penilaian Anda tercatat.");
  });
})();
