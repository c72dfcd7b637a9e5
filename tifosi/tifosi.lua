-- tifosi.lua: one tifosi scenario, for wrk 4.1.0 (see tifosi/tifosi, which
-- sets the environment below and starts one wrk per scenario as
--
--   wrk -t N -c N -d D --timeout 10s -s tifosi.lua URL/v1/order
--
-- with N the scenario's peak of clients: one connection per thread, so
-- one wrk thread is one client, and each thread's Lua state is that
-- client's state).
--
-- The ramp. setup(thread) numbers the threads 0..N-1 (thread:set). The
-- scenario's level L(t) is piecewise linear (its plan); client i is active
-- while L(t) > i, so ceil(L(t)) clients are active at t. wrk calls delay()
-- before every request, the first one included; delay() returns the ms
-- until this client's next active moment: now if it is active (plus the
-- think time after an answer, the original's sleep(1)), later if it is
-- idle, and "never" (an hour) once its last active moment is past. An
-- idle client holds its connection and sends nothing. The clock is the
-- wall clock (LuaJIT ffi clock_gettime(CLOCK_REALTIME)) against a start
-- time that tifosi/tifosi gives to every wrk it starts, so "both"
-- scenarios share their origin.
--
-- The end. When a client's last active moment has passed (its last request
-- answered), it appends one byte to TIFOSI_DONE_FILE; the client that makes
-- it N bytes long sends SIGINT to wrk, which stops at once, its in-flight
-- requests all answered, instead of sleeping out -d (which is only the
-- safety net).
--
-- The figures. wrk 4.1.0 stamps a request's start when it starts writing
-- it, after the delay (socket_writeable sets c->start after the delay
-- timer has fired), so its latencies do not include the schedule's waits.
-- But at the end it "corrects" its histogram for coordinated omission,
-- assuming each connection meant to send at the mean interval of the run
-- (stats_correct: synthetic samples for latencies over twice that
-- interval), which is wrong for clients that idle by design. So each
-- client times its own requests: request() is called right before wrk
-- stamps the start and response() right after it stamps the end; with
-- CLOCK_MONOTONIC, every latency is kept (microseconds, in a C array) and
-- done() sorts them all: exact percentiles. The result file carries wrk's
-- own percentiles too, for comparison (tests/e2e/tifosi.sh checks that
-- they agree within 1 ms).
--
-- Environment (all set by tifosi/tifosi):
--   TIFOSI_SCENARIO   name (losing, winning)
--   TIFOSI_PLAN       "START SECONDS:TARGET ...", e.g. "0 10:10 10:0"
--   TIFOSI_SCALE_PCT  time scale, percent (100): every duration and the
--                     think time are multiplied by PCT/100
--   TIFOSI_THINK_MS   pause after each answer, at 100 % (1000)
--   TIFOSI_T0_MS      the scenario's time 0, ms since the epoch
--   TIFOSI_BODY       seed (the original's body) or varied (valid orders)
--   TIFOSI_RESULT     path prefix of the result files: .result (key
--                     value), .hist (us count), .timeline (second clients
--                     requests); without it done() prints the result
--   TIFOSI_DONE_FILE  the clients-done counter file (see above)

local ffi = require("ffi")
ffi.cdef [[
typedef struct { long tv_sec; long tv_nsec; } tifosi_timespec;
int clock_gettime(int clk, tifosi_timespec *ts);
int getpid(void);
int kill(int pid, int sig);
]]
local CLOCK_REALTIME, CLOCK_MONOTONIC, SIGINT = 0, 1, 2
local ts = ffi.new("tifosi_timespec")

local function clock_us(clk)
	ffi.C.clock_gettime(clk, ts)
	return tonumber(ts.tv_sec) * 1000000 + math.floor(tonumber(ts.tv_nsec) / 1000)
end

local function env(name, default)
	local v = os.getenv(name)
	if v == nil or v == "" then return default end
	return v
end

local scenario = env("TIFOSI_SCENARIO", "losing")
local scale = tonumber(env("TIFOSI_SCALE_PCT", "100")) / 100
local think_ms = tonumber(env("TIFOSI_THINK_MS", "1000")) * scale
local t0_us = tonumber(env("TIFOSI_T0_MS", "0")) * 1000
local body_mode = env("TIFOSI_BODY", "seed")
local result = env("TIFOSI_RESULT", nil)
local done_file = env("TIFOSI_DONE_FILE", nil)
local NEVER_MS = 3600 * 1000

-- The plan: segments {s, e, a, b} (ms from time 0, level from a to b).
local segs, level, at, peak = {}, nil, 0, 0
for word in env("TIFOSI_PLAN", "0 10:10 10:0"):gmatch("%S+") do
	if level == nil then
		level = tonumber(word)
		peak = level
	else
		local d, target = word:match("^([%d.]+):(%d+)$")
		local e = at + tonumber(d) * 1000 * scale
		segs[#segs + 1] = { s = at, e = e, a = level, b = tonumber(target) }
		at, level = e, tonumber(target)
		if level > peak then peak = level end
	end
end
local total_ms = at
if t0_us == 0 then t0_us = clock_us(CLOCK_REALTIME) + 500000 end
-- The timeline counts per scenario second (scaled like the rest).
local bucket_ms = 1000 * scale
local buckets = math.max(1, math.ceil(total_ms / bucket_ms - 1e-9))

-- The earliest moment >= t (ms from time 0) at which client i is active,
-- or nil if there is none before the end of the plan.
local function next_active(i, t)
	for _, g in ipairs(segs) do
		if g.e > t and g.e > g.s then
			local lo, hi
			if g.a > i and g.b > i then
				lo, hi = g.s, g.e
			elseif g.b > i then -- rising through i
				lo, hi = g.s + (i - g.a) / (g.b - g.a) * (g.e - g.s), g.e
			elseif g.a > i then -- falling through i
				lo, hi = g.s, g.s + (g.a - i) / (g.a - g.b) * (g.e - g.s)
			end
			if lo then
				local c = math.max(lo, t)
				if c < hi then return c end
			end
		end
	end
	return nil
end

-- ---- request bodies ------------------------------------------------------

local SEED = '{"size":"large","username":"tubias","destination":"manoel moreira"}'
-- Valid for src/order.c with the default order.sizes: size one of small,
-- medium, large; toppings optional, at most 20 non-empty strings of at most
-- 64 bytes; destination 1-128 bytes; username 1-64 bytes. No string here
-- needs escaping; some are UTF-8.
local sizes = { "small", "medium", "large" }
local toppings = { "pepperoni", "mozzarella di bufala", "funghi porcini",
	"basilico", "prosciutto crudo", "olive taggiasche", "peperoncino",
	"rucola", "carciofi", "salame piccante", "acciughe", "'nduja",
	"pomodorini", "gorgonzola", "friarielli", "tartufo nero" }
local places = { "manoel moreira", "Ferrari Garage #16", "Ferrari Garage #55",
	"Maranello, Via Abetone Inferiore 4", "Monza, curva parabolica",
	"Imola, Tamburello", "Mugello, Arrabbiata 1", "pit wall", "motorhome",
	"tribuna Centrale \226\128\148 fila 12" }
local users = { "tubias", "charles_leclerc", "carlos_sainz", "lewis_hamilton",
	"fred_vasseur", "mattia_binotto", "kimi_r\195\164ikk\195\182nen",
	"tifoso_rosso", "la_curva", "nonna_pina" }

local client = -1 -- this thread's index, set by setup() through thread:set
local rng = 0

-- A small LCG per client, seeded with its index: every run posts the same
-- orders, and the clients do not all post the same ones.
local function rand(k)
	rng = (rng * 1103515245 + 12345) % 2147483648
	return math.floor(rng / 65536) % k + 1 -- the high bits: the low ones cycle
end

local function varied_body()
	local parts = { '"size":"' .. sizes[rand(#sizes)] .. '"' }
	local n = rand(5) - 1 -- 0..4 toppings; with 0, sometimes no key at all
	if n > 0 or rand(2) == 1 then
		local t = {}
		for j = 1, n do t[j] = '"' .. toppings[rand(#toppings)] .. '"' end
		parts[#parts + 1] = '"toppings":[' .. table.concat(t, ",") .. "]"
	end
	parts[#parts + 1] = '"destination":"' .. places[rand(#places)] .. '"'
	local u = users[rand(#users)]
	if rand(3) == 1 then u = u .. "_" .. client end
	parts[#parts + 1] = '"username":"' .. u .. '"'
	return "{" .. table.concat(parts, ",") .. "}"
end

-- ---- the client (one per thread) ---------------------------------------

wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"

-- What a client counts lives in C arrays (LuaJIT ffi), and done() reads
-- them through their addresses: wrk 4.1.0's thread:get copies numbers and
-- strings well, but its table copy pops the source stack once too often
-- (nested tables crash it). So a thread publishes numbers only: its
-- counters, and the addresses of its arrays, which stay valid because wrk
-- never closes a thread's Lua state.
local function addr(p) return tonumber(ffi.cast("uintptr_t", p)) end
local lat_cap = 1024
local lat = ffi.new("double[?]", lat_cap)          -- latency of each answer, us
local status = ffi.new("uint32_t[600]")            -- answers per status (0: other)
local timeline = ffi.new("uint32_t[?]", buckets)   -- requests sent per second
tifosi_keep = { lat, status, timeline }
tifosi_lat, tifosi_status, tifosi_timeline = addr(lat), addr(status), addr(timeline)
tifosi_sent, tifosi_answered, tifosi_timed = 0, 0, 0
tifosi_rearmed, tifosi_extra, tifosi_unmatched = 0, 0, 0

local seed_request
local started = false -- delay() has been called: wrk is running
local waiting = false -- a delay() is pending: its request has not gone
local finished = false
local starts, first, last = {}, 1, 0 -- send times of unanswered requests

local function client_done()
	if finished then return end
	finished = true
	if not done_file then return end
	local f = io.open(done_file, "a")
	if not f then return end
	f:write("x")
	f:flush()
	local n = f:seek("end")
	f:close()
	if n and n >= peak then ffi.C.kill(ffi.C.getpid(), SIGINT) end
end

function delay()
	if client < 0 then client = tifosi_client or 0 end
	-- wrk 4.1.0 asks again when a connection is re-established during a
	-- wait (the server closed an idle one): the first timer still fires,
	-- so that one wait sends twice. Counted; see "rearmed" in the summary.
	if waiting then tifosi_rearmed = tifosi_rearmed + 1 end
	started, waiting = true, true
	local now = (clock_us(CLOCK_REALTIME) - t0_us) / 1000
	local want = now
	if tifosi_sent > 0 then want = now + think_ms end
	local t = next_active(client, want)
	if t == nil then
		client_done()
		return NEVER_MS
	end
	return math.max(0, math.ceil(t - now))
end

function request()
	if client < 0 then client = tifosi_client or 0 end
	-- Every request wrk sends follows a delay(). The one that does not is
	-- wrk's own check of the script (script_verify_request, thread 0, at
	-- start-up): it is never sent, so it is not counted.
	if not started then return wrk.format(nil, nil, nil, SEED) end
	-- A request with no delay() of its own: the second timer of a
	-- re-armed wait, which fired apart from the first.
	if not waiting then tifosi_extra = tifosi_extra + 1 end
	waiting = false
	local now_ms = (clock_us(CLOCK_REALTIME) - t0_us) / 1000
	local b = math.min(buckets - 1, math.max(0, math.floor(now_ms / bucket_ms)))
	timeline[b] = timeline[b] + 1
	tifosi_sent = tifosi_sent + 1
	local req
	if body_mode == "varied" then
		if rng == 0 then rng = 16 + client * 7919 end
		req = wrk.format(nil, nil, nil, varied_body())
	else
		seed_request = seed_request or wrk.format(nil, nil, nil, SEED)
		req = seed_request
	end
	last = last + 1
	starts[last] = clock_us(CLOCK_MONOTONIC)
	return req
end

function response(code, headers, body)
	local now = clock_us(CLOCK_MONOTONIC)
	local k = (code >= 100 and code < 600) and code or 0
	status[k] = status[k] + 1
	tifosi_answered = tifosi_answered + 1
	if first > last then
		tifosi_unmatched = tifosi_unmatched + 1
		return
	end
	if tifosi_timed == lat_cap then
		local bigger = ffi.new("double[?]", lat_cap * 2)
		ffi.copy(bigger, lat, lat_cap * ffi.sizeof("double"))
		lat, lat_cap = bigger, lat_cap * 2
		tifosi_keep[1], tifosi_lat = lat, addr(lat)
	end
	lat[tifosi_timed] = now - starts[first]
	tifosi_timed = tifosi_timed + 1
	starts[first] = nil
	first = first + 1
end

-- ---- setup and done: wrk's main Lua state --------------------------------

local threads = {}

function setup(thread)
	thread:set("tifosi_client", #threads)
	threads[#threads + 1] = thread
end

-- wrk's way of picking a percentile from n sorted values: the first whose
-- rank reaches round(p/100 * n + 0.5); the maximum for p = 100.
local function percentile(sorted, p)
	local n = #sorted
	if n == 0 then return 0 end
	local rank = math.floor(p / 100 * n + 1)
	return sorted[math.max(1, math.min(n, rank))]
end

function done(summary, latency, requests)
	local sent, answered, rearmed, extra, unmatched = 0, 0, 0, 0, 0
	local lats, statuses, clients, reqs = {}, {}, {}, {}
	for b = 0, buckets - 1 do clients[b], reqs[b] = 0, 0 end
	for _, thread in ipairs(threads) do
		sent = sent + thread:get("tifosi_sent")
		answered = answered + thread:get("tifosi_answered")
		rearmed = rearmed + thread:get("tifosi_rearmed")
		extra = extra + thread:get("tifosi_extra")
		unmatched = unmatched + thread:get("tifosi_unmatched")
		local l = ffi.cast("double *", thread:get("tifosi_lat"))
		for i = 0, thread:get("tifosi_timed") - 1 do lats[#lats + 1] = l[i] end
		local st = ffi.cast("uint32_t *", thread:get("tifosi_status"))
		for k = 0, 599 do
			if st[k] > 0 then statuses[k] = (statuses[k] or 0) + st[k] end
		end
		local tl = ffi.cast("uint32_t *", thread:get("tifosi_timeline"))
		for b = 0, buckets - 1 do
			if tl[b] > 0 then
				clients[b] = clients[b] + 1
				reqs[b] = reqs[b] + tl[b]
			end
		end
	end
	table.sort(lats)

	local e = summary.errors
	local lines = {
		"scenario " .. scenario,
		"scale_pct " .. scale * 100,
		"think_ms " .. think_ms,
		"body " .. body_mode,
		"clients " .. peak,
		"duration_ms " .. total_ms,
		"run_us " .. summary.duration,
		"sent " .. sent,
		"answered " .. answered,
		"p50_us " .. percentile(lats, 50), "p90_us " .. percentile(lats, 90),
		"p99_us " .. percentile(lats, 99), "max_us " .. percentile(lats, 100),
		"wrk_requests " .. summary.requests,
		"wrk_p50_us " .. latency:percentile(50),
		"wrk_p90_us " .. latency:percentile(90),
		"wrk_p99_us " .. latency:percentile(99),
		"wrk_max_us " .. latency.max,
		"errors_connect " .. e.connect, "errors_read " .. e.read,
		"errors_write " .. e.write, "errors_timeout " .. e.timeout,
		"rearmed " .. rearmed, "extra " .. extra, "unmatched " .. unmatched,
	}
	for k = 0, 599 do
		if statuses[k] then lines[#lines + 1] = "status_" .. (k > 0 and k or "other") .. " " .. statuses[k] end
	end

	local hist, timeline, prev = {}, {}, 0
	for i, us in ipairs(lats) do
		if us ~= lats[i + 1] then
			hist[#hist + 1] = string.format("%d %d", us, i - prev)
			prev = i
		end
	end
	for b = 0, buckets - 1 do timeline[#timeline + 1] = b .. " " .. clients[b] .. " " .. reqs[b] end

	if not result then
		io.write(table.concat(lines, "\n"), "\n")
		io.write("timeline (second clients requests)\n", table.concat(timeline, "\n"), "\n")
		return
	end
	local function put(path, t)
		local f = assert(io.open(path, "w"))
		if #t > 0 then f:write(table.concat(t, "\n"), "\n") end
		f:close()
	end
	put(result .. ".result", lines)
	put(result .. ".hist", hist)
	put(result .. ".timeline", timeline)
end
