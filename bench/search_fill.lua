-- wrk script for the search benchmark (bench/search.sh): POST /api/v1/complaints with a title and
-- description drawn from an Indonesian vocabulary (so the search index sees varied text), one
-- complaint in CONFIDENTIAL_EVERY confidential. Counts 2xx and other statuses.
--
--   wrk -t2 -c32 -d20s -s bench/search_fill.lua http://127.0.0.1:PORT
--
-- done() prints: FILL requests=N ok_2xx=K non_2xx=M

local CONFIDENTIAL_EVERY = tonumber(os.getenv("CONFIDENTIAL_EVERY") or "20")

local words = {
  "jalan", "berlubang", "rusak", "jembatan", "ambruk", "lampu", "padam", "sampah", "menumpuk",
  "banjir", "saluran", "tersumbat", "puskesmas", "tutup", "dokter", "sekolah", "atap", "bocor",
  "pungutan", "liar", "perizinan", "loket", "antrean", "panjang", "air", "bersih", "mati",
  "listrik", "trotoar", "parkir", "pasar", "bau", "busuk", "macet", "angkot", "terminal",
  "kelurahan", "kecamatan", "pelayanan", "lambat", "petugas", "kasar", "bantuan", "sosial",
  "tidak", "tepat", "sasaran", "pohon", "tumbang", "genangan", "longsor", "tebing", "irigasi",
  "sawah", "kering", "sinyal", "jaringan", "kartu", "keluarga", "akta", "kelahiran", "ktp",
  "elektronik", "rumah", "sakit", "rujukan", "obat", "kosong", "guru", "honorer", "gaji",
}

local categories = {"infrastruktur", "kebersihan", "kesehatan", "pendidikan", "pelayanan"}
local regions = {"32", "32.04", "32.73", "32.01", "32.75"}

local function phrase(n)
  local out = {}
  for i = 1, n do out[i] = words[math.random(#words)] end
  return table.concat(out, " ")
end

local counter = 0

function request()
  counter = counter + 1
  local confidential = (counter % CONFIDENTIAL_EVERY) == 0
  local body = '{"title":"' .. phrase(4) .. '","description":"' .. phrase(30) .. '.",' ..
               '"category":"' .. categories[math.random(#categories)] .. '",' ..
               '"report_type":"' .. (confidential and "whistleblowing" or "pengaduan") .. '",' ..
               '"region_code":"' .. regions[math.random(#regions)] .. '"' ..
               (confidential and ',"confidential":true' or '') ..
               ',"reporter":{"name":"Siti Rahmawati","phone":"+6281234567890"}}'
  return wrk.format("POST", "/api/v1/complaints",
                    {["Content-Type"] = "application/json", ["Connection"] = "keep-alive"}, body)
end

local threads = {}
function setup(thread)
  thread:set("id", #threads + 1)
  table.insert(threads, thread)
end

function init(args)
  math.randomseed(os.time() * 1000 + (id or 0))
  ok, bad = 0, 0
end

function response(status, headers, body)
  if status >= 200 and status < 300 then ok = ok + 1 else bad = bad + 1 end
end

function done(summary, latency, requests)
  local k, m = 0, 0
  for _, t in ipairs(threads) do
    k = k + t:get("ok")
    m = m + t:get("bad")
  end
  io.write(string.format("FILL requests=%d ok_2xx=%d non_2xx=%d\n", summary.requests, k, m))
end
