-- wrk script: a small chat completion with the response cache bypassed and a different prompt each
-- time, so no per-text memo (PII analysis, cache) makes the miss path look cheaper than it is.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer bench"
wrk.headers["Cache-Control"] = "no-cache, no-store"
local counter = 0
request = function()
  counter = counter + 1
  local body = '{"model": "gpt-4o-mini", "messages": [{"role": "system", "content": "You are terse."}, '
    .. '{"role": "user", "content": "Give me one word for happy, variant ' .. counter .. '."}], "temperature": 0}'
  return wrk.format(nil, nil, nil, body)
end
