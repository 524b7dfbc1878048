// Shared by the LAPOR! pages: calls to the node's REST API, region names, labels in Bahasa
// Indonesia, dates, and the error summary. Every value from a complaint is set with textContent
// (never innerHTML), so a title holding markup shows as text.
"use strict";
(function () {
  const STATUS = {
    belum_terverifikasi: "Belum terverifikasi (menunggu pemeriksaan admin)",
    terdisposisi: "Terdisposisi (diteruskan ke instansi)",
    diproses: "Diproses oleh instansi",
    selesai: "Selesai",
    tertunda: "Tertunda",
    arsip: "Diarsipkan",
  };
  const REPORT_TYPE = {
    aspirasi: "Aspirasi",
    pengaduan: "Pengaduan",
    permintaan_informasi: "Permintaan informasi",
    whistleblowing: "Pelaporan pelanggaran (whistle-blowing)",
  };
  const EVENT = {
    submitted: "Laporan diterima",
    verified: "Diverifikasi dan diteruskan ke instansi",
    held: "Ditunda",
    archived: "Diarsipkan",
    disposed: "Dialihkan ke instansi lain",
    processing: "Mulai diproses instansi",
    responded: "Instansi memberi tanggapan",
    completed: "Dinyatakan selesai",
    replied: "Pelapor membalas",
    reopened: "Dibuka kembali",
    escalated: "Dinaikkan ke tingkat lebih tinggi karena melewati batas waktu",
    auto_completed: "Selesai otomatis (tidak ada balasan dalam 10 hari kerja)",
    forwarded: "Diteruskan ke simpul daerah lain",
    accepted: "Diterima oleh simpul daerah lain",
    declined: "Ditolak oleh simpul daerah tujuan",
    citizen_message: "Pesan pelapor diteruskan",
    erased: "Data pribadi dihapus",
    rated: "Pelapor memberi penilaian",
  };
  const RATING = { 1: "Sangat buruk", 2: "Buruk", 3: "Cukup", 4: "Baik", 5: "Sangat baik" };
  const DUE_KIND = {
    verification: "verifikasi oleh admin (3 hari kerja)",
    response: "tanggapan instansi (5 hari kerja)",
  };
  const ARCHIVE_REASON = {
    not_actionable: "tidak dapat ditindaklanjuti",
    duplicate: "laporan ganda",
    not_our_authority: "bukan kewenangan instansi ini",
  };
  const ROLE = { admin: "Admin pengelola", liaison: "Petugas instansi", auditor: "Auditor" };

  // Dates in Western Indonesia Time, which the node's working days count in by default.
  function formatDate(iso) {
    if (!iso) return "";
    const d = new Date(iso);
    if (isNaN(d.getTime())) return iso;
    return d.toLocaleString("id-ID", {
      dateStyle: "long", timeStyle: "short", timeZone: "Asia/Jakarta",
    }) + " WIB";
  }

  // The node's REST API. The access code travels only in the X-Access-Code header, never in a
  // URL (which can reach logs and Referer headers). Citizens' pages send no cookie; the
  // workbench passes `session` ({csrf_token}) to send its session cookie and, on a change, the
  // session's CSRF token. Resolves to {status, body}.
  async function api(method, path, body, accessCode, session) {
    const headers = { Accept: "application/json" };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    if (accessCode) headers["X-Access-Code"] = accessCode;
    if (session && session.csrf_token && method !== "GET") headers["X-CSRF-Token"] = session.csrf_token;
    let res;
    try {
      res = await fetch(path, {
        method, headers, body: body === undefined ? undefined : JSON.stringify(body),
        credentials: session ? "same-origin" : "omit", cache: "no-store",
        referrerPolicy: "no-referrer",
      });
    } catch (e) {
      return { status: 0, body: null };
    }
    let json = null;
    try { json = await res.json(); } catch (e) { json = null; }
    return { status: res.status, body: json };
  }

  const FILE_KIND = { "image/jpeg": "Foto JPEG", "image/png": "Foto PNG", "application/pdf": "Dokumen PDF" };
  const FILE_EXT = { "image/jpeg": ".jpg", "image/png": ".png", "application/pdf": ".pdf" };

  // The attachments of case `c` into the list `list`: each file the node holds gets a button that
  // fetches it with the caller's credentials (the access code in a header, or the session's
  // cookie; never in the URL) and saves it; a file the node does not hold is named as such.
  function renderAttachments(list, c, accessCode, session) {
    list.textContent = "";
    const atts = c.attachments || [];
    if (!atts.length) {
      list.appendChild(textElement("li", c.description == null ? "Lampiran hanya dapat dilihat dengan hak baca isi laporan." : "Tidak ada lampiran."));
      return;
    }
    atts.forEach((a, i) => {
      const li = document.createElement("li");
      const label = (FILE_KIND[a.media_type] || a.media_type) + ", " + Math.max(1, Math.round(a.size / 1024)) + " KB";
      if (!a.held) {
        li.textContent = "Lampiran " + (i + 1) + " (" + label + "): berkasnya tidak tersedia di sini (tidak tersimpan di simpul ini, sudah dihapus, atau pada laporan anonim hanya untuk pelapor dan petugas).";
        list.appendChild(li);
        return;
      }
      const b = document.createElement("button");
      b.type = "button";
      b.className = "tombol sekunder";
      b.textContent = "Unduh lampiran " + (i + 1) + " (" + label + ")";
      const status = textElement("span", "", "petunjuk");
      status.setAttribute("role", "status");
      b.addEventListener("click", async () => {
        const headers = {};
        if (accessCode) headers["X-Access-Code"] = accessCode;
        let res;
        try {
          res = await fetch("/api/v1/complaints/" + encodeURIComponent(c.tracking_id) + "/attachments/" + a.sha256, {
            headers, credentials: session ? "same-origin" : "omit", cache: "no-store", referrerPolicy: "no-referrer",
          });
        } catch (e) {
          status.textContent = " Gagal mengunduh; periksa sambungan.";
          return;
        }
        if (res.status !== 200) {
          let body = null;
          try { body = await res.json(); } catch (e) { body = null; }
          status.textContent = " " + errorMessage({ status: res.status, body });
          return;
        }
        let blob;
        try {
          blob = await res.blob();
        } catch (e) {
          status.textContent = " Gagal mengunduh; periksa sambungan.";
          return;
        }
        const link = document.createElement("a");
        link.href = URL.createObjectURL(blob);
        link.download = "lampiran-" + c.tracking_id + "-" + (i + 1) + (FILE_EXT[a.media_type] || "");
        document.body.appendChild(link);
        link.click();
        link.remove();
        setTimeout(() => URL.revokeObjectURL(link.href), 1000);
        status.textContent = " Terunduh.";
      });
      li.appendChild(b);
      li.appendChild(status);
      list.appendChild(li);
    });
  }

  // An element holding `value` as text (never as markup), with an optional class.
  function textElement(tag, value, cls) {
    const e = document.createElement(tag);
    e.textContent = value == null ? "" : String(value);
    if (cls) e.className = cls;
    return e;
  }

  // A sentence for an API error the page does not map to a field of its own.
  function errorMessage(reply) {
    if (reply.status === 0) return "Tidak dapat menghubungi server. Periksa koneksi Anda lalu coba lagi.";
    if (reply.status === 429) return "Terlalu banyak permintaan dari perangkat Anda. Tunggu satu menit lalu coba lagi.";
    if (reply.status === 503) return "Layanan sedang tidak dapat menerima perubahan. Coba lagi beberapa saat lagi.";
    const e = reply.body && reply.body.error;
    return "Permintaan ditolak (" + reply.status + ")" + (e && e.message ? ": " + e.message : ".");
  }

  // Region names from the shipped list (data/regions, ODbL), as the node embeds it.
  let regionsPromise = null;
  function parseCsv(text) {
    const lines = text.split("\n").map((l) => l.trim()).filter((l) => l.length);
    const head = lines.shift().split(",");
    return lines.map((l) => {
      const cells = l.split(",");
      const row = {};
      head.forEach((h, i) => { row[h] = cells[i]; });
      return row;
    });
  }
  function titleCase(s) {
    return s.toLowerCase().replace(/(^|[\s(\-\/])([a-z])/g, (m, p, c) => p + c.toUpperCase());
  }
  function regions() {
    if (!regionsPromise) {
      regionsPromise = Promise.all([
        fetch("/assets/provinces.csv").then((r) => r.text()),
        fetch("/assets/regencies.csv").then((r) => r.text()),
      ]).then(([p, r]) => {
        const provinces = parseCsv(p).map((x) => ({ code: x.code, name: titleCase(x.name) }));
        const regencies = parseCsv(r).map((x) => ({
          code: x.code, province: x.province_code, name: titleCase(x.name),
        }));
        const byCode = new Map();
        provinces.forEach((x) => byCode.set(x.code, x.name));
        regencies.forEach((x) => byCode.set(x.code, x.name + ", " + (byCode.get(x.province) || x.province)));
        return { provinces, regencies, byCode };
      });
    }
    return regionsPromise;
  }

  // The error summary and each field's own message. `errors` is a list of {id, text}: `id` names
  // the field (or fieldset) whose "<id>-galat" paragraph shows the message.
  function clearErrors(form) {
    const summary = document.getElementById("ringkasan-galat");
    summary.hidden = true;
    document.getElementById("ringkasan-daftar").textContent = "";
    form.querySelectorAll(".galat-teks").forEach((p) => { p.hidden = true; p.textContent = ""; });
    form.querySelectorAll("[aria-invalid]").forEach((f) => f.removeAttribute("aria-invalid"));
    form.querySelectorAll(".bermasalah").forEach((f) => f.classList.remove("bermasalah"));
    if (document.title.startsWith("Galat: ")) document.title = document.title.slice(7);
  }
  function showErrors(form, errors) {
    const summary = document.getElementById("ringkasan-galat");
    const list = document.getElementById("ringkasan-daftar");
    list.textContent = "";
    errors.forEach((err) => {
      const li = document.createElement("li");
      const target = err.id && document.getElementById(err.id);
      if (target) {
        const a = document.createElement("a");
        a.href = "#" + err.id;
        a.textContent = err.text;
        a.addEventListener("click", (ev) => {
          ev.preventDefault();
          const focusable = target.matches("fieldset") ? target.querySelector("input") : target;
          (focusable || target).focus();
        });
        li.appendChild(a);
        const own = document.getElementById(err.id + "-galat");
        if (own) { own.textContent = err.text; own.hidden = false; }
        if (!target.matches("fieldset")) target.setAttribute("aria-invalid", "true");
        const group = target.closest(".kelompok");
        if (group) group.classList.add("bermasalah");
      } else {
        li.textContent = err.text;
      }
      list.appendChild(li);
    });
    if (!document.title.startsWith("Galat: ")) document.title = "Galat: " + document.title;
    summary.hidden = false;
    summary.focus();
  }

  // The operator pages' sign-in form (#form-masuk, #token): POST /api/v1/session with the token
  // (never kept: the field is emptied), then `onSession(reply)`; refusals on the field.
  function bindSignIn(call, onSession) {
    const form = document.getElementById("form-masuk");
    const field = document.getElementById("token");
    form.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      clearErrors(form);
      const token = field.value.trim();
      if (!token) return showErrors(form, [{ id: "token", text: "Tulis token petugas Anda" }]);
      const r = await call("POST", "/api/v1/session", { token });
      field.value = "";
      if (r.status !== 200 || !r.body) {
        return showErrors(form, [{ id: "token",
          text: r.status === 401 ? "Token tidak dikenal, dicabut, atau sudah kedaluwarsa" : errorMessage(r) }]);
      }
      await onSession(r.body);
    });
  }

  function setText(id, text) {
    document.getElementById(id).textContent = text == null ? "" : String(text);
  }

  window.Lapor = {
    STATUS, REPORT_TYPE, EVENT, DUE_KIND, ARCHIVE_REASON, ROLE, RATING,
    api, errorMessage, formatDate, regions, clearErrors, showErrors, setText, textElement,
    renderAttachments, bindSignIn,
  };
})();
