-- The pure part of drawbridge-backend-select: choosing a backend by weight.
--
-- Smooth weighted round robin (the scheme nginx's upstream module uses):
-- every pick adds each backend's weight to its running score, takes the
-- highest score and takes the total weight off the winner. Over any run of
-- sum(weights) picks each backend is chosen exactly weight times, spread
-- out rather than in bursts, and no randomness is needed.

local _M = {}

-- new returns the picking state for a list of backends ({weight = n}, n > 0).
function _M.new(backends)
  local s = { backends = backends, score = {}, total = 0 }
  for i, b in ipairs(backends) do
    s.score[i] = 0
    s.total = s.total + b.weight
  end
  return s
end

-- pick returns the next backend and its index, or nil when there is none.
function _M.pick(s)
  local best, best_score
  local score, backends = s.score, s.backends
  for i = 1, #backends do
    local v = score[i] + backends[i].weight
    score[i] = v
    if not best_score or v > best_score then
      best, best_score = i, v
    end
  end
  if not best then
    return nil
  end
  score[best] = score[best] - s.total
  return backends[best], best
end

return _M
