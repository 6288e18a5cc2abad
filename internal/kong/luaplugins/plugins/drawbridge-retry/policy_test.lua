-- Unit tests of drawbridge-retry's pure parts (run by TestLuaUnitTests).
local policy = require "kong.plugins.drawbridge-retry.policy"

-- code matching: only listed statuses, exact integers
local set = policy.code_set({ 500, 503 })
assert(policy.retriable(500, false, "GET", set))
assert(policy.retriable(503, false, "POST", set), "listed codes are retried for every method")
assert(not policy.retriable(502, false, "GET", set))
assert(not policy.retriable(200, false, "GET", set))
assert(not policy.retriable(404, false, "GET", set))
assert(next(policy.code_set(nil)) == nil)
assert(next(policy.code_set({})) == nil)

-- connection-level failures: only for methods nginx would send twice
assert(policy.retriable(502, true, "GET", set))
assert(policy.retriable(504, true, "PUT", set))
assert(policy.retriable(504, true, "DELETE", set))
assert(not policy.retriable(502, true, "POST", set))
assert(not policy.retriable(502, true, "PATCH", set))
assert(not policy.retriable(504, true, "LOCK", set))
assert(policy.retriable(500, true, "POST", set), "a listed status wins over the method")
assert(policy.idempotent("GET") and policy.idempotent("HEAD") and policy.idempotent("OPTIONS"))
assert(not policy.idempotent("POST"))

-- backoff: base doubled per retry, capped at 10 x base, jitter up to +50%
assert(policy.backoff_ms(0, 1, 0.9) == 0)
assert(policy.backoff_ms(100, 1, 0) == 100)
assert(policy.backoff_ms(100, 2, 0) == 200)
assert(policy.backoff_ms(100, 3, 0) == 400)
assert(policy.backoff_ms(100, 4, 0) == 800)
assert(policy.backoff_ms(100, 5, 0) == 1000, "capped at 10 x base")
assert(policy.backoff_ms(100, 500, 0) == 1000, "large retry numbers stay capped")
assert(policy.backoff_ms(100, 1, 0.999) == 149)
assert(policy.backoff_ms(100, 5, 0.999) == 1499)
for n = 1, 40 do
  for _, r in ipairs({ 0, 0.25, 0.5, 0.999 }) do
    local d = policy.backoff_ms(25, n, r)
    assert(d >= 25, "never below the base interval")
    assert(d < 25 * policy.BACKOFF_CAP_FACTOR * 1.5, "never above the cap plus jitter")
  end
end

-- attempt timeouts under a deadline
assert(policy.attempt_timeout(60000, nil) == 60000, "no deadline: the service's timeout")
assert(policy.attempt_timeout(500, 10000) == 500, "the service's timeout when it ends first")
assert(policy.attempt_timeout(60000, 199.7) == 199, "cut to what is left")
assert(policy.attempt_timeout(60000, 0) == 1, "nginx needs at least 1 ms")
assert(policy.attempt_timeout(60000, -50) == 1)

-- waiting before a retry
assert(policy.may_wait(1000, nil))
assert(policy.may_wait(25, 26))
assert(not policy.may_wait(25, 25))
assert(not policy.may_wait(0, -1))

print("drawbridge-retry policy: ok")
