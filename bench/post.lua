-- post.lua: POST pre-signed bodies (one JSON per line of a file), each
-- body sent once per run: with T threads, thread k sends lines k, k+T, ...
--   wrk -s post.lua URL -- BODIES THREADS [DELAY_MS]
-- DELAY_MS > 0 makes every connection wait that long after each answer
-- (used to hold a rate below the peak). done() prints one RESULT line.
local counter = 0
local threads = {}

function setup(thread)
	thread:set("tid", counter)
	counter = counter + 1
	table.insert(threads, thread)
end

function init(args)
	local file, nthreads = args[1], tonumber(args[2])
	local wait = tonumber(args[3] or "0")
	local path = wrk.path
	local hdr = { ["Content-Type"] = "application/json" }
	local i = 0
	reqs = {}
	for line in io.lines(file) do
		if i % nthreads == tid then
			reqs[#reqs + 1] = wrk.format("POST", path, hdr, line)
		end
		i = i + 1
	end
	idx = 0
	wrapped = 0
	if wait > 0 then
		delay = function() return wait end
	end
end

function request()
	idx = idx + 1
	if idx > #reqs then
		idx = 1
		wrapped = wrapped + 1
	end
	return reqs[idx]
end

function done(summary, latency, requests)
	local e = summary.errors
	local wraps = 0
	for _, t in ipairs(threads) do
		wraps = wraps + (t:get("wrapped") or 0)
	end
	io.write(string.format("RESULT requests=%d duration_us=%d " ..
	    "rps=%.1f p50_us=%d p90_us=%d p99_us=%d max_us=%d " ..
	    "connect=%d read=%d write=%d status=%d timeout=%d wrapped=%d\n",
	    summary.requests, summary.duration,
	    summary.requests / (summary.duration / 1e6),
	    latency:percentile(50), latency:percentile(90),
	    latency:percentile(99), latency.max, e.connect, e.read, e.write,
	    e.status, e.timeout, wraps))
end
