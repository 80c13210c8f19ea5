-- wrk script for the benchmark: optional request header, counts answers per status (and bodies containing a
-- marker), and prints one JSON line in done() so bench/wrk.ts does not have to parse wrk's text output.
-- Arguments after `--`: [header "name: value" or "-"] [body marker or "-"].
local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  statuses = {}
  marked = 0
  mark = nil
  local header = args[1]
  if header ~= nil and header ~= "-" then
    local name, value = header:match("^([^:]+):%s*(.*)$")
    wrk.headers[name] = value
  end
  if args[2] ~= nil and args[2] ~= "-" then mark = args[2] end
end

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
  if mark ~= nil and body ~= nil and string.find(body, mark, 1, true) then marked = marked + 1 end
end

function done(summary, latency, requests)
  local counts = {}
  local total_marked = 0
  for _, t in ipairs(threads) do
    local s = t:get("statuses")
    for code, n in pairs(s) do counts[code] = (counts[code] or 0) + n end
    total_marked = total_marked + (t:get("marked") or 0)
  end
  local parts = {}
  for code, n in pairs(counts) do table.insert(parts, string.format('"%d":%d', code, n)) end
  local e = summary.errors
  io.write(string.format(
    'BENCH_JSON {"duration_us":%d,"requests":%d,"bytes":%d,' ..
    '"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},' ..
    '"latency_us":{"min":%d,"mean":%.1f,"max":%d,"p50":%d,"p75":%d,"p90":%d,"p99":%d,"p999":%d},' ..
    '"statuses":{%s},"marked":%d}\n',
    summary.duration, summary.requests, summary.bytes,
    e.connect, e.read, e.write, e.status, e.timeout,
    latency.min, latency.mean, latency.max,
    latency:percentile(50), latency:percentile(75), latency:percentile(90), latency:percentile(99), latency:percentile(99.9),
    table.concat(parts, ","), total_marked))
end
