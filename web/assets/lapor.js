// The filing page: checks the form, uploads each attachment to POST /api/v1/attachments (the node
// strips a photo's metadata and answers with an upload id and the file's hash), posts the
// complaint naming them by upload id to
// POST /api/v1/complaints and shows the receipt (tracking id and access code). The code is shown
// once and never put in a URL.
"use strict";
(function () {
  const L = window.Lapor;
  const form = document.getElementById("form-lapor");
  const province = document.getElementById("province");
  const regency = document.getElementById("regency");
  const $ = (id) => document.getElementById(id);

  // The API's field names: the page's field each names, and what to say about it.
  const FIELD_OF = {
    report_type: ["report_type", "Pilih jenis laporan"],
    category: ["category", "Pilih kategori dari daftar"],
    region_code: ["province", "Wilayah tidak dikenali; pilih dari daftar"],
    title: ["title", "Judul 1 sampai 200 karakter"],
    description: ["description", "Isi laporan 1 sampai 10.000 karakter"],
    "location.lat": ["lat", "Lintang berupa angka -90 sampai 90"],
    "location.lon": ["lon", "Bujur berupa angka -180 sampai 180"],
    "location.address": ["address", "Alamat paling banyak 500 karakter"],
    "reporter.name": ["name", "Nama paling banyak 100 karakter"],
    "reporter.nik": ["nik", "NIK terdiri dari 16 angka"],
    "reporter.phone": ["phone", "Nomor telepon 6 sampai 20 karakter: angka, +, spasi, atau -"],
    "reporter.email": ["email", "Tulis alamat surel seperti nama@contoh.id"],
    attachments: ["lampiran", "Paling banyak 5 lampiran"],
    "attachments.sha256": ["lampiran", "Lampiran tidak terunggah utuh; pilih berkasnya lagi"],
    "attachments.size": ["lampiran", "Lampiran tidak terunggah utuh; pilih berkasnya lagi"],
    "attachments.media_type": ["lampiran", "Lampiran tidak terunggah utuh; pilih berkasnya lagi"],
    "attachments.upload": ["lampiran", "Lampiran sudah kedaluwarsa di server; kirim laporan sekali lagi"],
  };
  const MAX_FILES = 5;
  const MAX_FILE_BYTES = 5 * 1024 * 1024;
  const FILE_TYPES = ["image/jpeg", "image/png", "application/pdf"];

  // One file to the node: its metadata-free copy's {sha256, media_type, size}, or an error text.
  async function upload(file) {
    let res;
    try {
      res = await fetch("/api/v1/attachments", {
        method: "POST", body: file, credentials: "omit", cache: "no-store", referrerPolicy: "no-referrer",
        headers: { "Content-Type": file.type, Accept: "application/json" },
      });
    } catch (e) {
      return { error: "Lampiran " + file.name + " gagal terkirim; periksa sambungan lalu coba lagi" };
    }
    let body = null;
    try { body = await res.json(); } catch (e) { body = null; }
    if (res.status === 201 && body) {
      return { file: { upload: body.upload, sha256: body.sha256, media_type: body.media_type, size: body.size } };
    }
    if (res.status === 413) return { error: "Lampiran " + file.name + " lebih besar dari 5 MB" };
    if (res.status === 415) return { error: "Lampiran " + file.name + " bukan foto JPEG/PNG atau PDF" };
    if (res.status === 400) return { error: "Lampiran " + file.name + " bukan foto JPEG/PNG atau PDF yang utuh" };
    return { error: L.errorMessage({ status: res.status, body }) };
  }

  let regionData = null;
  L.regions().then((data) => {
    regionData = data;
    province.textContent = "";
    province.appendChild(new Option("Pilih provinsi", ""));
    data.provinces.forEach((p) => province.appendChild(new Option(p.name, p.code)));
  }).catch(() => {
    province.textContent = "";
    province.appendChild(new Option("Daftar provinsi gagal dimuat; muat ulang halaman", ""));
  });
  province.addEventListener("change", () => {
    regency.textContent = "";
    if (!province.value || !regionData) {
      regency.appendChild(new Option("Pilih provinsi dahulu", ""));
      regency.disabled = true;
      return;
    }
    regency.appendChild(new Option("Seluruh provinsi (tidak memilih kabupaten/kota)", ""));
    regionData.regencies.filter((r) => r.province === province.value)
      .forEach((r) => regency.appendChild(new Option(r.name, r.code)));
    regency.disabled = false;
  });

  $("pakai-lokasi").addEventListener("click", () => {
    const status = $("lokasi-status");
    if (!navigator.geolocation) {
      status.textContent = "Perangkat Anda tidak dapat memberi lokasi; isi koordinat sendiri atau kosongkan.";
      return;
    }
    status.textContent = "Mencari lokasi…";
    navigator.geolocation.getCurrentPosition((pos) => {
      $("lat").value = pos.coords.latitude.toFixed(6);
      $("lon").value = pos.coords.longitude.toFixed(6);
      status.textContent = "Lokasi terisi.";
    }, () => {
      status.textContent = "Lokasi tidak didapat; isi koordinat sendiri atau kosongkan.";
    }, { timeout: 15000 });
  });

  function checkedType() {
    const r = form.querySelector('input[name="report_type"]:checked');
    return r ? r.value : "";
  }

  // The request body and the errors the page can see before asking the node.
  function read() {
    const errors = [];
    const v = (id) => $(id).value.trim();
    const body = {
      title: v("title"), description: $("description").value.trim(), category: v("category"),
      report_type: checkedType(), region_code: v("regency") || v("province"), channel: "web",
      anonymous: $("anonymous").checked, confidential: $("confidential").checked,
    };
    if (!body.report_type) errors.push({ id: "report_type", text: "Pilih jenis laporan" });
    if (!body.category) errors.push({ id: "category", text: "Pilih kategori" });
    if (!v("province")) errors.push({ id: "province", text: "Pilih provinsi tempat masalah terjadi" });
    if (!body.title) errors.push({ id: "title", text: "Tulis judul laporan" });
    else if ([...body.title].length > 200) errors.push({ id: "title", text: "Judul paling banyak 200 karakter" });
    if (!body.description) errors.push({ id: "description", text: "Tulis isi laporan" });
    const lat = v("lat"), lon = v("lon"), address = v("address");
    if (lat || lon || address) {
      const la = Number(lat.replace(",", ".")), lo = Number(lon.replace(",", "."));
      if (!lat || isNaN(la) || la < -90 || la > 90) {
        errors.push({ id: "lat", text: "Isi lintang berupa angka -90 sampai 90, atau kosongkan titik lokasi" });
      }
      if (!lon || isNaN(lo) || lo < -180 || lo > 180) {
        errors.push({ id: "lon", text: "Isi bujur berupa angka -180 sampai 180, atau kosongkan titik lokasi" });
      }
      body.location = { lat: la, lon: lo };
      if (address) body.location.address = address;
    }
    const reporter = {};
    ["name", "nik", "phone", "email"].forEach((k) => { if (v(k)) reporter[k] = v(k); });
    if (reporter.nik && !/^[0-9]{16}$/.test(reporter.nik)) {
      errors.push({ id: "nik", text: "NIK terdiri dari 16 angka" });
    }
    if (reporter.phone && !/^[0-9+ -]{6,20}$/.test(reporter.phone)) {
      errors.push({ id: "phone", text: FIELD_OF["reporter.phone"][1] });
    }
    if (reporter.email && !/^[^\s@]+@[^\s@]+$/.test(reporter.email)) {
      errors.push({ id: "email", text: "Tulis alamat surel seperti nama@contoh.id" });
    }
    if (Object.keys(reporter).length) body.reporter = reporter;
    const files = Array.from($("lampiran").files || []);
    if (files.length > MAX_FILES) errors.push({ id: "lampiran", text: "Paling banyak 5 lampiran" });
    files.forEach((f) => {
      if (!FILE_TYPES.includes(f.type)) errors.push({ id: "lampiran", text: f.name + ": hanya foto JPEG/PNG atau dokumen PDF" });
      else if (f.size > MAX_FILE_BYTES) errors.push({ id: "lampiran", text: f.name + ": lebih besar dari 5 MB" });
    });
    return { body, errors, files };
  }

  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    L.clearErrors(form);
    const { body, errors, files } = read();
    if (errors.length) return L.showErrors(form, errors);
    const button = $("kirim");
    button.disabled = true;
    const attachments = [];
    for (let i = 0; i < files.length; i++) {
      $("kirim-status").textContent = "Mengunggah lampiran " + (i + 1) + " dari " + files.length + "…";
      const up = await upload(files[i]);
      if (up.error) {
        button.disabled = false;
        $("kirim-status").textContent = "";
        return L.showErrors(form, [{ id: "lampiran", text: up.error }]);
      }
      attachments.push(up.file);
    }
    if (attachments.length) body.attachments = attachments;
    $("kirim-status").textContent = "Mengirim laporan…";
    const reply = await L.api("POST", "/api/v1/complaints", body);
    button.disabled = false;
    $("kirim-status").textContent = "";
    if (reply.status !== 201 || !reply.body) {
      const e = reply.body && reply.body.error;
      const known = reply.status === 400 && e && FIELD_OF[e.field];
      if (known) return L.showErrors(form, [{ id: known[0], text: known[1] }]);
      return L.showErrors(form, [{ text: L.errorMessage(reply) }]);
    }
    showReceipt(reply.body, attachments.length);
    if (attachments.length) checkKept(reply.body, attachments.length);
  });

  // The node keeps an upload for a while before its complaint is filed: say whether every file
  // made it (it reads the case with the access code, in a header).
  async function checkKept(r, sent) {
    L.setText("terima-lampiran", sent + " berkas, memeriksa…");
    const c = await L.api("GET", "/api/v1/complaints/" + encodeURIComponent(r.tracking_id), undefined, r.access_code);
    const held = c.status === 200 && c.body ? (c.body.attachments || []).filter((a) => a.held).length : -1;
    L.setText("terima-lampiran", held === sent ? sent + " berkas tersimpan"
      : held < 0 ? sent + " berkas dikirim (periksa di halaman lacak)"
        : held + " dari " + sent + " berkas tersimpan; yang lain tidak sampai. Laporan tetap tercatat.");
  }

  function showReceipt(r, files) {
    form.reset();
    form.hidden = true;
    L.setText("nomor-pelacakan", r.tracking_id);
    L.setText("kode-akses", r.access_code);
    L.setText("terima-status", L.STATUS[r.status] || r.status);
    L.setText("terima-batas", r.due_at ? L.formatDate(r.due_at) : "—");
    L.setText("terima-lampiran", files ? files + " berkas" : "Tidak ada");
    $("ke-lacak").href = "/lacak#" + encodeURIComponent(r.tracking_id);
    $("tanda-terima").hidden = false;
    $("tanda-terima-judul").focus();
    $("salin").onclick = async () => {
      const text = "Nomor pelacakan: " + r.tracking_id + "\nKode akses: " + r.access_code;
      try {
        await navigator.clipboard.writeText(text);
        L.setText("salin-status", "Tersalin.");
      } catch (e) {
        L.setText("salin-status", "Tidak dapat menyalin otomatis; catat nomor dan kode di atas.");
      }
    };
  }
})();
