-- Pure parts of drawbridge-retry: which answers are retried, how long to
-- wait before a retry, and how long an attempt may take under a request
-- deadline. No ngx or kong calls here, so the unit tests run them directly.

local floor = math.floor
local min = math.min
local max = math.max

local _M = {}

-- A retry never waits longer than this many base intervals (before
-- jitter): exponential growth stops at the tenth power of two's worth.
_M.BACKOFF_CAP_FACTOR = 10

-- Methods that nginx (and so Kong) does not send twice once a request has
-- reached a backend whose connection then failed (ngx_http_upstream.c,
-- ngx_http_upstream_next: POST, LOCK and PATCH). A connection-level failure
-- of one of the plugin's attempts does not tell whether the request was
-- sent, so these methods are not retried after one.
local NOT_IDEMPOTENT = { POST = true, LOCK = true, PATCH = true }

-- code_set turns the configured list into a lookup table.
function _M.code_set(codes)
  local set = {}
  for _, c in ipairs(codes or {}) do
    set[c] = true
  end
  return set
end

function _M.idempotent(method)
  return not NOT_IDEMPOTENT[method]
end

-- retriable says whether an attempt's outcome calls for another attempt:
-- a status the rule lists, or a failure to get a complete answer from the
-- backend (connection refused or reset, timeout: `failed`) for a method
-- that may be sent twice.
function _M.retriable(status, failed, method, set)
  if set[status] then
    return true
  end
  return failed and _M.idempotent(method) or false
end

-- backoff_ms is the wait before retry n (1 for the first retry): the base
-- interval doubled per retry up to BACKOFF_CAP_FACTOR times the base, plus
-- up to half of that again as jitter (rand in [0, 1)). It is never below
-- the base interval, which is what Gateway API asks of `backoff`.
function _M.backoff_ms(base, n, rand)
  if base <= 0 then
    return 0
  end
  local d = base * 2 ^ min(n - 1, 30)
  d = min(d, base * _M.BACKOFF_CAP_FACTOR)
  return floor(d + d * 0.5 * rand)
end

-- attempt_timeout is the timeout (ms) of one attempt: the service's
-- timeout, cut to what is left before the deadline (left_ms; nil without a
-- deadline). nginx needs at least 1 ms.
function _M.attempt_timeout(service_ms, left_ms)
  if left_ms == nil then
    return service_ms
  end
  return max(1, min(service_ms, floor(left_ms)))
end

-- may_wait says whether a retry that must first wait delay_ms can still
-- start before the deadline (left_ms; nil without a deadline).
function _M.may_wait(delay_ms, left_ms)
  return left_ms == nil or delay_ms < left_ms
end

return _M
