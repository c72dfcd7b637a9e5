-- order-wrk.lua: the wrk script of order-bench.sh.
--
--   wrk ... -s order-wrk.lua URL            POST /v1/order, valid orders
--   wrk ... -s order-wrk.lua URL -- get     GET of URL's path (the ceiling)
--
-- Orders cycle through a table built once in init(), so the client spends
-- its CPU on sending, not on building bodies: the seed's body first, then
-- varied valid ones (every size, 0-3 toppings, escapes and non-ASCII
-- UTF-8). done() prints one machine-readable line for the script to read,
-- with latencies in microseconds; wrk counts a non-2xx/3xx status in
-- errors.status. With ORDER_WRK_HIST set, done() also writes every
-- latency there, as "MICROSECONDS COUNT" lines, so that the script can
-- take percentiles over several runs.

local seed = '{"size":"large","username":"tubias","destination":"manoel moreira"}'

local sizes = { "small", "medium", "large" }
local toppings = { "pepperoni", "mozzarella", "funghi", "basilico",
	"prosciutto crudo", "olive \\\"taggiasche\\\"", "peperoncino",
	"ananas \\u00e8 vietato", "carciofi", "\195\168 nduja" }
local users = { "tubias", "charles_leclerc", "carlos_sainz", "mattia",
	"fred", "lewis", "tifoso_\226\128\148_42", "x" }
local places = { "manoel moreira", "Ferrari Garage #16", "Maranello",
	"Monza, curva parabolica", "pit wall \\/ box 2", "Hospitality \226\152\133",
	"Imola", "Mugello" }

local bodies = {}
local mode = "post"
local n = 0

-- A deterministic generator, so that every run posts the same orders.
local state = 12345
local function rand(k)
	state = (state * 1103515245 + 12345) % 2147483648
	return state % k + 1
end

local function order_body(i)
	local t, parts = {}, {}
	for j = 1, (i % 4) do
		t[j] = '"' .. toppings[rand(#toppings)] .. '"'
	end
	parts[#parts + 1] = '"size":"' .. sizes[rand(#sizes)] .. '"'
	if #t > 0 or i % 8 == 1 then
		parts[#parts + 1] = '"toppings":[' .. table.concat(t, ",") .. "]"
	end
	parts[#parts + 1] = '"destination":"' .. places[rand(#places)] .. '"'
	parts[#parts + 1] = '"username":"' .. users[rand(#users)] .. '"'
	return "{" .. table.concat(parts, ",") .. "}"
end

function init(args)
	local headers = { ["Content-Type"] = "application/json" }
	if args[1] == "get" then
		mode = "get"
		bodies[1] = wrk.format("GET", nil, nil, nil)
		return
	end
	-- Every other request is the seed's body, the rest vary.
	for i = 1, 256 do
		local body = (i % 2 == 1) and seed or order_body(i)
		bodies[i] = wrk.format("POST", "/v1/order", headers, body)
	end
end

function request()
	n = n % #bodies + 1
	return bodies[n]
end

function done(summary, latency, requests)
	local e = summary.errors
	io.write(string.format(
		"wrk-result mode=%s requests=%d duration_us=%d non2xx=%d " ..
		"connect=%d read=%d write=%d timeout=%d " ..
		"p50_us=%d p90_us=%d p99_us=%d max_us=%d\n",
		mode, summary.requests, summary.duration, e.status,
		e.connect, e.read, e.write, e.timeout,
		latency:percentile(50), latency:percentile(90),
		latency:percentile(99), latency.max))
	local path = os.getenv("ORDER_WRK_HIST")
	if path ~= nil then
		-- latency(i): the i-th distinct latency and how many had it.
		local f = assert(io.open(path, "w"))
		for i = 1, #latency do
			local v, c = latency(i)
			f:write(string.format("%d %d\n", v, c))
		end
		f:close()
	end
end
