-- wrk script: a small chat completion with the response cache bypassed and a different prompt each
-- time, so no per-text memo (PII analysis, cache) makes the miss path look cheaper than it is. The
-- counter starts from the clock, so consecutive runs (warm-up, c=1, c=10) never repeat a prompt.
-- With BENCH_STREAM=1 in the environment: a streamed completion of 24 chunks (role, 22 pieces of the
-- echoed prompt, finish), a prompt of the same length each time.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer bench"
wrk.headers["Cache-Control"] = "no-cache, no-store"
local stream = os.getenv("BENCH_STREAM") == "1"
local counter = os.time() * 100000
request = function()
  counter = counter + 1
  local body
  if stream then
    local prompt = string.format("Tell me a story numbered %015d, keep it short and calm; one line here.", counter)
    body = '{"model": "gpt-4o-mini", "stream": true, "messages": [{"role": "user", "content": "' .. prompt .. '"}]}'
  else
    body = '{"model": "gpt-4o-mini", "messages": [{"role": "system", "content": "You are terse."}, '
      .. '{"role": "user", "content": "Give me one word for happy, variant ' .. string.format("%d", counter) .. '."}], "temperature": 0}'
  end
  return wrk.format(nil, nil, nil, body)
end
