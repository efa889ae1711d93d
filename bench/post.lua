-- post.lua: POST pre-signed bodies (one JSON per line of a file), each
-- body sent once per run: with T threads, thread k sends lines k, k+T, ...
-- Lines are read as they are needed, so a big file costs nothing at start.
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
	local wait = tonumber(args[3] or "0")
	file = io.open(args[1], "r")
	nthreads = tonumber(args[2])
	path = wrk.path
	hdr = { ["Content-Type"] = "application/json" }
	wrapped = 0
	for i = 1, tid do
		file:read("*l")
	end
	if wait > 0 then
		delay = function() return wait end
	end
end

-- The next line of this thread's share (starting over at the end).
local function nextline()
	local line = file:read("*l")
	if line == nil then
		wrapped = wrapped + 1
		file:seek("set", 0)
		for i = 1, tid do
			file:read("*l")
		end
		line = file:read("*l")
	end
	for i = 2, nthreads do
		file:read("*l")
	end
	return line
end

function request()
	return wrk.format("POST", path, hdr, nextline())
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
