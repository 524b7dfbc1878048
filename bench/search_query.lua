-- wrk script for the search benchmark (bench/search.sh): GET /api/v1/search with an operator's
-- token (TOKEN), one query after another from QUERIES (';'-separated, each a query string such
-- as "q=lubang" or "q=lubang%20jalan&status=belum_terverifikasi"). Counts 200s.
--
--   TOKEN=lpt_... QUERIES='q=lubang;q=sampah' wrk -t1 -c1 -d10s --latency -s bench/search_query.lua URL
--
-- done() prints: SEARCH requests=N rps=R p50_ms=A p95_ms=B p99_ms=C max_ms=D ok_200=K other=M

local token = os.getenv("TOKEN") or ""
local queries = {}
for q in string.gmatch(os.getenv("QUERIES") or "q=lubang", "[^;]+") do table.insert(queries, q) end

local i = 0
function request()
  i = i + 1
  return wrk.format("GET", "/api/v1/search?" .. queries[(i % #queries) + 1],
                    {["Authorization"] = "Bearer " .. token, ["Connection"] = "keep-alive"})
end

local threads = {}
function setup(thread) table.insert(threads, thread) end
function init(args) ok, other = 0, 0 end
function response(status, headers, body)
  if status == 200 then ok = ok + 1 else other = other + 1 end
end

function done(summary, latency, requests)
  local k, m = 0, 0
  for _, t in ipairs(threads) do
    k = k + t:get("ok")
    m = m + t:get("other")
  end
  io.write(string.format(
      "SEARCH requests=%d rps=%.1f p50_ms=%.2f p95_ms=%.2f p99_ms=%.2f max_ms=%.2f ok_200=%d other=%d\n",
      summary.requests, summary.requests / (summary.duration / 1e6),
      latency:percentile(50) / 1000, latency:percentile(95) / 1000,
      latency:percentile(99) / 1000, latency.max / 1000, k, m))
end
