-- wrk script for the node ingest benchmark: POST /api/v1/complaints with a 600-byte JSON complaint
-- on keep-alive connections, counting response statuses.
--
--   wrk -t2 -c64 -d10s --latency -s bench/post_complaint.lua http://127.0.0.1:PORT
--
-- done() prints machine-readable lines (parsed by bench/run.sh):
--   BENCH requests=N duration_s=S rps=R p50_ms=A p90_ms=B p99_ms=C max_ms=D ok_2xx=K non_2xx=M
--         sock_connect=.. sock_read=.. sock_write=.. sock_timeout=..
--   BENCH_STATUS code count        (per non-2xx status)
--   BENCH_PCT p ms                 (latency percentiles 90.0, 90.1, ..., 100)
-- ok_2xx/non_2xx come from the response() hook, which makes wrk hand every response's headers and
-- body to Lua (it costs some client CPU, the same for the ceiling and the node). A benchmark that
-- does not check its 2xx proves nothing, so the hook stays.

local BODY_BYTES = tonumber(os.getenv("BODY_BYTES") or "600")

local function complaint()
  local head = '{"title":"Jalan berlubang di Jl. Soekarno-Hatta dekat halte",' ..
               '"description":"'
  local tail = '","category":"infrastruktur","report_type":"pengaduan","region_code":"32.04",' ..
               '"channel":"web","reporter":{"name":"Siti Rahmawati","phone":"+6281234567890"}}'
  local text = "Lubang besar di lajur kiri sudah tiga minggu tidak diperbaiki dan membahayakan " ..
               "pengendara motor, terutama saat hujan ketika lubang tertutup genangan air. "
  local pad = BODY_BYTES - #head - #tail
  if pad < 1 then pad = 1 end
  local desc = string.rep(text, math.ceil(pad / #text)):sub(1, pad)
  desc = desc:gsub(" $", ".")  -- the node refuses blank text only; keep the end tidy
  return head .. desc .. tail
end

wrk.method = "POST"
wrk.body = complaint()
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Connection"] = "keep-alive"

-- Each wrk thread has its own Lua state; setup() runs in the main state and keeps the thread
-- handles so done() can read each thread's counters.
local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

-- With ACKED_IDS=FILE in the environment, done() writes the tracking_id of every 2xx to FILE, one
-- per line (bench/run.sh then looks each one up in the node's database).
local acked_file = os.getenv("ACKED_IDS")
if acked_file == "" then acked_file = nil end

function init(args)
  ok_2xx = 0
  non_2xx = 0
  statuses = {}
  acked = {}
end

function response(status, headers, body)
  if status >= 200 and status < 300 then
    ok_2xx = ok_2xx + 1
    if acked_file then acked[ok_2xx] = body:match('"tracking_id":"([^"]*)"') or "(none)" end
  else
    non_2xx = non_2xx + 1
    statuses[status] = (statuses[status] or 0) + 1
  end
end

function done(summary, latency, requests)
  local ok, bad = 0, 0
  local by_status = {}
  for _, t in ipairs(threads) do
    ok = ok + t:get("ok_2xx")
    bad = bad + t:get("non_2xx")
    local s = t:get("statuses")
    if s then
      for code, n in pairs(s) do by_status[code] = (by_status[code] or 0) + n end
    end
  end
  if acked_file then
    local out = assert(io.open(acked_file, "w"))
    for _, t in ipairs(threads) do
      for _, id in ipairs(t:get("acked") or {}) do out:write(id, "\n") end
    end
    out:close()
  end
  local secs = summary.duration / 1e6
  local e = summary.errors
  io.write(string.format(
      "BENCH requests=%d duration_s=%.3f rps=%.1f p50_ms=%.3f p90_ms=%.3f p99_ms=%.3f " ..
      "max_ms=%.3f ok_2xx=%d non_2xx=%d body_bytes=%d sock_connect=%d sock_read=%d " ..
      "sock_write=%d sock_timeout=%d\n",
      summary.requests, secs, summary.requests / secs,
      latency:percentile(50) / 1000, latency:percentile(90) / 1000,
      latency:percentile(99) / 1000, latency.max / 1000, ok, bad, #wrk.body,
      e.connect, e.read, e.write, e.timeout))
  for code, n in pairs(by_status) do
    io.write(string.format("BENCH_STATUS %d %d\n", code, n))
  end
  -- The tail at 0.1-percentile steps, so bench/run.sh can merge the rounds' latency exactly
  -- enough to give the p99 of all their requests together.
  for k = 900, 999 do
    io.write(string.format("BENCH_PCT %.1f %.3f\n", k / 10, latency:percentile(k / 10) / 1000))
  end
  io.write(string.format("BENCH_PCT 100.0 %.3f\n", latency.max / 1000))  -- percentile(100) is 0
end
