-- Unit tests of drawbridge-backend-select's picker (run by TestLuaUnitTests).
local picker = require "kong.plugins.drawbridge-backend-select.picker"

local function counts(backends, n)
  local s = picker.new(backends)
  local got, order = {}, {}
  for i = 1, n do
    local b, idx = picker.pick(s)
    got[b.name] = (got[b.name] or 0) + 1
    order[i] = idx
  end
  return got, order
end

-- Exact shares over every whole cycle of sum(weights) picks.
do
  local got = counts({ { name = "a", weight = 10 }, { name = "b", weight = 10 } }, 100)
  assert(got.a == 50 and got.b == 50, ("10/10: a=%s b=%s"):format(got.a, got.b))
  got = counts({ { name = "a", weight = 1 }, { name = "b", weight = 3 }, { name = "c", weight = 6 } }, 1000)
  assert(got.a == 100 and got.b == 300 and got.c == 600, ("1/3/6: %s %s %s"):format(got.a, got.b, got.c))
end

-- Smooth: with 5:1:1 the heavy backend is never picked more than its
-- share in a row (nginx's sequence a a b a c a a).
do
  local _, order = counts({ { name = "a", weight = 5 }, { name = "b", weight = 1 }, { name = "c", weight = 1 } }, 7)
  assert(table.concat(order, " ") == "1 1 2 1 3 1 1", table.concat(order, " "))
end

-- One backend is always picked; none gives nil.
do
  local got = counts({ { name = "only", weight = 7 } }, 5)
  assert(got.only == 5)
  assert(picker.pick(picker.new({})) == nil)
end

print("drawbridge-backend-select picker: ok")
