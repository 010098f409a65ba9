-- wrk script: a streamed chat completion of 24 chunks (role, 22 pieces of the echoed prompt, finish)
-- with the response cache bypassed and a different prompt of the same length each time.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer bench"
wrk.headers["Cache-Control"] = "no-cache, no-store"
local counter = 0
request = function()
  counter = counter + 1
  local prompt = string.format("Tell me a story numbered %08d, keep it short and calm; one line is fine here.", counter)
  local body = '{"model": "gpt-4o-mini", "stream": true, "messages": [{"role": "user", "content": "'
    .. prompt .. '"}]}'
  return wrk.format(nil, nil, nil, body)
end
